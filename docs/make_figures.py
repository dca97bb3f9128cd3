"""Regenerate the committed figures of the README and the docs landing page.

Run ``python docs/make_figures.py`` from the repository root: it runs the
gallery example that reads the photographed digits and saves its figure to
``docs/_static/own_digit.png``.
"""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]


def main():
    plt.show = lambda *args, **kwargs: None  # the example ends with plt.show()
    runpy.run_path(str(ROOT / "examples" / "plot_own_digit.py"), run_name="__main__")
    figure = plt.gcf()
    target = ROOT / "docs" / "_static" / "own_digit.png"
    figure.savefig(target, dpi=90, bbox_inches="tight")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
