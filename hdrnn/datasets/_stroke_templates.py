"""Hand-authored pen strokes of the ten digits, in the ways people really write them.

Each style is a tuple of strokes (pen down to pen up); a stroke is the points
the pen passes through, in order, in a box 1 tall (y grows downwards, as in
images) and about 0.6 wide. A smooth curve (Catmull-Rom) goes through the
points; a point written twice is a corner, where the pen turns sharply.
"""

TEMPLATES = {
    0: {
        # Started at the top and drawn anticlockwise, closed where it began.
        "oval": (
            (
                (0.34, 0.0),
                (0.12, 0.1),
                (0.02, 0.45),
                (0.1, 0.86),
                (0.32, 1.0),
                (0.54, 0.88),
                (0.62, 0.5),
                (0.54, 0.12),
                (0.34, 0.0),
            ),
        ),
        # The pen goes on past the start, so the top overlaps itself.
        "overshoot": (
            (
                (0.44, 0.06),
                (0.26, 0.0),
                (0.08, 0.16),
                (0.02, 0.52),
                (0.14, 0.9),
                (0.36, 1.0),
                (0.56, 0.84),
                (0.6, 0.42),
                (0.46, 0.08),
                (0.24, 0.02),
                (0.14, 0.1),
            ),
        ),
    },
    1: {
        "plain": (((0.32, 0.0), (0.3, 0.5), (0.28, 1.0)),),
        # The short up-stroke at the top that most of Europe writes.
        "flag": (((0.1, 0.25), (0.22, 0.13), (0.34, 0.0), (0.34, 0.0), (0.32, 0.5), (0.3, 1.0)),),
        "flag_base": (
            ((0.1, 0.25), (0.22, 0.13), (0.34, 0.0), (0.34, 0.0), (0.32, 0.5), (0.3, 1.0)),
            ((0.06, 1.0), (0.56, 0.99)),
        ),
    },
    2: {
        "plain": (
            (
                (0.04, 0.24),
                (0.18, 0.05),
                (0.38, 0.0),
                (0.56, 0.12),
                (0.56, 0.36),
                (0.34, 0.64),
                (0.02, 1.0),
                (0.02, 1.0),
                (0.3, 0.98),
                (0.62, 0.99),
            ),
        ),
        # The down-stroke curls into a small loop before the base.
        "loop": (
            (
                (0.04, 0.24),
                (0.18, 0.05),
                (0.38, 0.0),
                (0.56, 0.12),
                (0.56, 0.36),
                (0.36, 0.62),
                (0.12, 0.88),
                (0.08, 1.0),
                (0.02, 0.92),
                (0.14, 0.84),
                (0.28, 0.94),
                (0.44, 1.0),
                (0.64, 0.96),
            ),
        ),
    },
    3: {
        "round": (
            (
                (0.04, 0.12),
                (0.24, 0.0),
                (0.48, 0.04),
                (0.56, 0.22),
                (0.44, 0.4),
                (0.22, 0.47),
                (0.22, 0.47),
                (0.46, 0.54),
                (0.6, 0.74),
                (0.5, 0.93),
                (0.26, 1.0),
                (0.02, 0.88),
            ),
        ),
        # A flat top bar and a straight diagonal into the lower bowl.
        "flat_top": (
            (
                (0.04, 0.02),
                (0.56, 0.0),
                (0.56, 0.0),
                (0.26, 0.4),
                (0.26, 0.4),
                (0.48, 0.46),
                (0.62, 0.7),
                (0.5, 0.93),
                (0.26, 1.0),
                (0.02, 0.88),
            ),
        ),
    },
    4: {
        # Two strokes; the top is open.
        "open": (
            ((0.1, 0.0), (0.02, 0.64), (0.02, 0.64), (0.64, 0.63)),
            ((0.46, 0.06), (0.46, 0.5), (0.45, 1.0)),
        ),
        # The diagonal meets the upright at its top: a closed triangle.
        "closed": (
            ((0.46, 0.0), (0.0, 0.64), (0.0, 0.64), (0.64, 0.63)),
            ((0.46, 0.0), (0.46, 0.5), (0.45, 1.0)),
        ),
    },
    5: {
        # Upright and bowl in one stroke, the top bar added afterwards.
        "plain": (
            (
                (0.1, 0.0),
                (0.07, 0.44),
                (0.07, 0.44),
                (0.3, 0.37),
                (0.52, 0.46),
                (0.6, 0.69),
                (0.5, 0.92),
                (0.26, 1.0),
                (0.02, 0.9),
            ),
            ((0.1, 0.0), (0.34, 0.0), (0.58, 0.0)),
        ),
        # All in one stroke, starting with the top bar drawn right to left.
        "one_stroke": (
            (
                (0.58, 0.0),
                (0.1, 0.01),
                (0.1, 0.01),
                (0.07, 0.44),
                (0.07, 0.44),
                (0.3, 0.37),
                (0.52, 0.46),
                (0.6, 0.69),
                (0.5, 0.92),
                (0.26, 1.0),
                (0.02, 0.9),
            ),
        ),
    },
    6: {
        "curved": (
            (
                (0.48, 0.0),
                (0.24, 0.16),
                (0.07, 0.5),
                (0.1, 0.84),
                (0.3, 1.0),
                (0.52, 0.9),
                (0.58, 0.7),
                (0.44, 0.53),
                (0.24, 0.53),
                (0.08, 0.68),
            ),
        ),
        # A nearly straight stem down into the loop.
        "straight": (
            (
                (0.5, 0.0),
                (0.3, 0.3),
                (0.13, 0.62),
                (0.12, 0.86),
                (0.3, 1.0),
                (0.5, 0.92),
                (0.56, 0.72),
                (0.42, 0.57),
                (0.22, 0.6),
                (0.12, 0.72),
            ),
        ),
    },
    7: {
        "plain": (((0.02, 0.03), (0.6, 0.0), (0.6, 0.0), (0.36, 0.5), (0.22, 1.0)),),
        # The continental 7, crossed through the middle.
        "crossed": (
            ((0.02, 0.03), (0.6, 0.0), (0.6, 0.0), (0.36, 0.5), (0.22, 1.0)),
            ((0.14, 0.52), (0.56, 0.48)),
        ),
        # A small down-tick at the start of the top bar.
        "tick": (
            (
                (0.03, 0.22),
                (0.03, 0.02),
                (0.03, 0.02),
                (0.6, 0.0),
                (0.6, 0.0),
                (0.36, 0.5),
                (0.22, 1.0),
            ),
        ),
    },
    8: {
        # One continuous stroke: an S down, then back up through the waist.
        "one_stroke": (
            (
                (0.52, 0.1),
                (0.3, 0.0),
                (0.08, 0.12),
                (0.12, 0.34),
                (0.32, 0.48),
                (0.54, 0.64),
                (0.56, 0.88),
                (0.32, 1.0),
                (0.06, 0.88),
                (0.1, 0.64),
                (0.32, 0.48),
                (0.5, 0.33),
                (0.52, 0.1),
            ),
        ),
        # Two circles, one on top of the other.
        "two_loops": (
            (
                (0.3, 0.0),
                (0.1, 0.1),
                (0.1, 0.34),
                (0.3, 0.46),
                (0.5, 0.34),
                (0.5, 0.1),
                (0.3, 0.0),
            ),
            (
                (0.3, 0.46),
                (0.05, 0.58),
                (0.04, 0.88),
                (0.3, 1.0),
                (0.58, 0.88),
                (0.56, 0.58),
                (0.3, 0.46),
            ),
        ),
    },
    9: {
        # The loop, then a straight stem down from its right side.
        "straight": (
            (
                (0.56, 0.14),
                (0.36, 0.0),
                (0.1, 0.06),
                (0.04, 0.27),
                (0.2, 0.44),
                (0.46, 0.38),
                (0.56, 0.14),
                (0.56, 0.14),
                (0.55, 0.55),
                (0.53, 1.0),
            ),
        ),
        # The stem curls back to the left at the bottom.
        "curved": (
            (
                (0.56, 0.14),
                (0.36, 0.0),
                (0.1, 0.06),
                (0.04, 0.27),
                (0.2, 0.44),
                (0.46, 0.38),
                (0.56, 0.14),
                (0.56, 0.14),
                (0.56, 0.56),
                (0.46, 0.88),
                (0.26, 1.0),
                (0.08, 0.92),
            ),
        ),
    },
}

STYLES = {digit: tuple(styles) for digit, styles in TEMPLATES.items()}
