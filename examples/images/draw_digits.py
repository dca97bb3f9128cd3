"""
Drawing the example photos
==========================

The example digit photos in this folder are drawn by this script (needs
Pillow). Run ``python examples/images/draw_digits.py`` to regenerate ``zero.png``,
``one.jpg`` and ``seven.png``: dark-blue strokes on off-white paper, the
way a phone photo of a handwritten digit looks, at different sizes and
positions. They are drawn rather than copied from a data set, so they are
new to every model.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
PAPER = (238, 233, 221)
INK = (28, 32, 84)


def _photo(size, strokes, width, path, **save_options):
    image = Image.new("RGB", size, PAPER)
    draw = ImageDraw.Draw(image)
    for kind, points in strokes:
        if kind == "line":
            draw.line(points, fill=INK, width=width, joint="curve")
        else:
            draw.ellipse(points, outline=INK, width=width)
    image.filter(ImageFilter.GaussianBlur(1.2)).save(path, **save_options)


def main():
    _photo((200, 240), [("ellipse", [55, 40, 150, 200])], 16, HERE / "zero.png")
    _photo(
        (160, 260), [("line", [(70, 60), (92, 35), (95, 215)])], 15, HERE / "one.jpg", quality=85
    )
    _photo(
        (260, 220),
        [("line", [(60, 40), (180, 45), (110, 190)]), ("line", [(105, 115), (165, 112)])],
        14,
        HERE / "seven.png",
    )


if __name__ == "__main__":
    main()
