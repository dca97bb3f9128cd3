"""The figures the docs quote are the figures the benchmarks wrote.

Speed and accuracy are measured in ``benchmarks/`` (never here); the scripts
write their outputs next to themselves (``results.md`` and ``results.json``,
``presets.md``, ``race.md``, ``scaling.md``, ``serve-latency.md``) and
``benchmarks/README.md`` records the measurements behind them. A figure on a
docs page must be one of those, or computed from them by a rule written
here, or listed in ``UNRECORDED`` with where it comes from: rerunning a
benchmark and forgetting a page then fails a test instead of leaving a stale
claim. The command list of the API page must be the one ``hdrnn --help``
prints.
"""

import contextlib
import io
import itertools
import json
import re
import statistics
from pathlib import Path

import numpy as np
import pytest

from hdrnn import DigitMLPClassifier, TrainingDivergedError
from hdrnn.cli import build_parser
from hdrnn.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
OUTPUTS = ("results.md", "presets.md", "race.md", "scaling.md", "serve-latency.md", "README.md")

# A number with a unit, or a range of them ("97.64-97.80%", "0.16-0.18 s").
UNITS = r"%|x\b|s\b|ms\b|µs\b|MB\b|MiB\b|min\b"
FIGURE = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)(?:[-\u2013](\d+(?:\.\d+)?))? ?({UNITS})")

# Pages whose every figure is checked, and the figures on them that no
# benchmark output holds, each with where it comes from.
PAGES = (
    "docs/results.rst",
    "docs/scaling.rst",
    "docs/quickstart.rst",
    "docs/user_guide/hyperparameters.rst",
)
UNRECORDED = {
    "docs/scaling.rst": {
        "2.1x": "the out-of-core rerun of issue 26, quoted beside scaling.md's 1.40x",
    },
    "docs/quickstart.rst": {
        "15 MB": "the size of MNIST's OpenML download, not a benchmark",
    },
    "docs/user_guide/hyperparameters.rst": {
        "97.9%": "dropout=0.2, 20 epochs, median of 3 seeds, by hand in November 2026",
        "98.2%": "augment='shift', 20 epochs, median of 3 seeds, by hand in November 2026",
        "98.5%": "augment='affine', 20 epochs, median of 3 seeds, by hand in November 2026",
        "99.2%": "800-unit layers with dropout and augmentation, by hand in November 2026",
        "25%": "shifts' extra training time, the rerun of issue 26 (25-40%)",
        "40%": "shifts' extra training time, the rerun of issue 26 (25-40%)",
        "9%": "batch 256 against 128, the rerun of issue 26 (9-20%)",
        "20%": "batch 256 against 128, the rerun of issue 26 (9-20%)",
    },
}


def _figures(text):
    """Every figure in ``text``, a range giving both ends: ``{"97.64%", "97.80%", ...}``."""
    found = set()
    for low, high, unit in FIGURE.findall(text):
        space = "" if unit in ("%", "x") else " "
        found.update(f"{number}{space}{unit}" for number in (low, high) if number)
    return found


def _prose(page):
    """The page without its code blocks and included files (their figures are not typed)."""
    text = (ROOT / page).read_text()
    return re.sub(r"\n\.\. (?:code-block|literalinclude)::.*?(?=\n\S)", "\n", text, flags=re.S)


def _results():
    return json.loads((BENCHMARKS / "results.json").read_text())


def _parameters(units):
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(units))


def _derived():
    """Figures computed from the benchmark outputs, as the pages round them."""
    epochs = _results()["results"]
    small, small64 = epochs["784-128-64-10, float32"], epochs["784-128-64-10, float64"]
    wide = epochs["784-800-800-10, float32"]
    fast_share = [1 - run["hdrnn"] / run["hdrnn NumPy only"] for run in (small, small64, wide)]
    step = _step_shares()
    float32_bytes = 4 * _parameters((784, 128, 64, 10))
    stored = 5 * 60_000 * 784  # bytes of scaling.py's 5 distorted copies of MNIST
    return {
        f"{round(100 * wide['floor'] / wide['PyTorch'])}%",  # floor / PyTorch, wide network
        f"{step['forward'] + step['backward']}%",  # forward and backward passes together
        *(f"{share:.0%}" for share in fast_share),  # epochs shortened by the kernels
        *(f"{run[key]:.2f} s" for run in (small,) for key in ("hdrnn", "hdrnn NumPy only")),
        *(f"{wide[key]:.1f} s" for key in ("hdrnn", "hdrnn NumPy only")),
        f"{2 * float32_bytes / 1e6:.3f} MB",  # Adam's two moments
        f"{4 * float32_bytes / 1e6:.2f} MB",  # with the weights and their gradient
        f"{stored / 1e6:.0f} MB",
        f"{4 * stored / 1e6:.0f} MB",
    }


def _step_shares():
    """The kernels' row of benchmarks/README.md's 'Where the time goes' table, in percent."""
    row = re.search(
        r"\| 784-128-64-10, with the kernels \| [\d.]+ s \| (.*) \|", _text("README.md")
    )
    gather, forward, loss, backward, adam = (int(cell.rstrip("%")) for cell in row[1].split(" | "))
    return dict(gather=gather, forward=forward, loss=loss, backward=backward, adam=adam)


def _text(name):
    return (BENCHMARKS / name).read_text()


def _presets_table():
    """``{name: (median, [each seed], time)}`` from benchmarks/presets.md."""
    rows = re.findall(
        r"^\| `(\w+)` \(.*\) \| (\S+%) \| (.*?) \| (.*?) \|$", _text("presets.md"), re.M
    )
    return {name: (median, each.split(", "), time) for name, median, each, time in rows}


def _low_high(each):
    values = sorted(each, key=lambda text: float(text.rstrip("%")))
    return values[0].rstrip("%"), values[-1]


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_on_the_page_is_one_the_benchmarks_wrote(page):
    recorded = set().union(*(_figures(_text(name)) for name in OUTPUTS))
    allowed = recorded | _derived() | set(UNRECORDED.get(page, {}))
    stale = sorted(_figures(_prose(page)) - allowed)
    assert not stale, (
        f"{page} quotes {stale}, which no benchmark output holds ({', '.join(OUTPUTS)} in "
        "benchmarks/) and no rule of tests/test_claims.py derives: quote the figures the "
        "benchmark wrote, or list the figure in UNRECORDED with where it comes from."
    )


def test_the_figure_reader_finds_numbers_units_and_ranges():
    text = "97.64-97.80% in 1.8 s, 1.40x, 235 µs, 91 MiB; not 784-128 or v2.3"
    assert _figures(text) == {"97.64%", "97.80%", "1.8 s", "1.40x", "235 µs", "91 MiB"}


def test_a_stale_figure_is_caught():
    recorded = set().union(*(_figures(_text(name)) for name in OUTPUTS))
    assert "86%" not in recorded | _derived()  # issue 26: the old floor / PyTorch share
    assert "83%" in _derived()


def test_each_preset_quotes_what_presets_md_recorded():
    # hdrnn train --help prints these; tests/test_presets.py checks the user guide quotes them
    table = _presets_table()
    assert set(table) == set(PRESETS), "benchmarks/presets.md lacks a preset, or has another"
    for name, (median, each, time) in table.items():
        low, high = _low_high(each)
        expected = f"median {median} of seeds 0-2, range {low}-{high}, in {time}"
        assert PRESETS[name].measured == expected, f"hdrnn/presets.py, preset {name!r}"


def test_the_default_accuracy_of_the_results_page_is_run_pys():
    # results.rst explains why run.py's partial_fit loop and presets.py's fit differ
    runs = _results()["accuracy"]["hdrnn"]
    median = statistics.median(run["accuracy"] for run in runs)
    page = _prose("docs/results.rst")
    assert f"{median:.2%}" in page
    assert f"{_presets_table()['default'][0]}" in page


@pytest.mark.parametrize("page", ["README.md", "docs/quickstart.rst"])
def test_preset_accuracies_are_quoted_as_medians(page):
    # issue 26 item 5: "reaches 98.2%" hid that one seed in three stays under 98%
    text = " ".join((ROOT / page).read_text().split())
    quoted = 0
    for sentence in re.split(r"(?<=[.;])\s|```", text):
        for name in re.findall(r"--preset (\w+)", sentence):
            percentages = re.findall(r"\d+\.\d+%", sentence)
            if not percentages:
                continue
            quoted += 1
            median = _presets_table()[name][0]
            assert "median" in sentence, f"{page}: {sentence!r} should say it is a median"
            assert median in percentages or f"{float(median[:-1]):.1f}%" in percentages, (
                f"{page}: {sentence!r} should quote preset {name}'s median, {median}"
            )
    assert quoted, f"{page} quotes no preset's accuracy: update this test"


def _api_commands():
    """``[(command, its help)]`` as listed on the API page."""
    page = (ROOT / "docs" / "api.rst").read_text().split("The command line\n", 1)[1]
    return re.findall(r"^- ``hdrnn (\w+)``: (.*)$", page, re.M)


def _help_commands(monkeypatch):
    """``[(command, its help)]`` as ``hdrnn --help`` prints them."""
    monkeypatch.setenv("COLUMNS", "300")  # one line per command
    out = build_parser().format_help()
    listing = out.split("\n  COMMAND\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^ {4}(\w+) +(.*)$", listing, re.M)


def test_the_api_page_lists_the_commands_hdrnn_help_lists(monkeypatch):
    # issue 26 item 12: the page listed train, evaluate, predict and info only
    registered = _help_commands(monkeypatch)
    assert len(registered) >= 7, registered  # the parsing of --help found the commands
    assert _api_commands() == registered


def test_no_gallery_example_types_a_percentage_in_its_text():
    # issue 26 items 3 and 17: an example's figures are printed from what it computed
    for path in sorted((ROOT / "examples").glob("plot_*.py")):
        source = path.read_text()
        docstring = source.split('"""', 2)[1]
        comments = "\n".join(re.findall(r"^\s*#.*$", source, re.M))
        typed = re.findall(r"\d%", docstring + comments)
        assert not typed, f"{path.name} types figures in its text: print them instead"


def test_the_dropout_example_prints_its_conclusions(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(DigitMLPClassifier, "fit", _fit_briefly)
    pytest.importorskip("matplotlib").use("Agg")
    path = ROOT / "examples" / "plot_dropout_augmentation.py"
    with contextlib.redirect_stdout(out):
        exec(compile(path.read_text(), str(path), "exec"), {"__name__": "__main__"})
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"Dropout (adds|costs) \d+\.\d points on the shifted .*", lines[-3])
    assert lines[-2].startswith("Training on shifted digits ")
    assert lines[-1].startswith("Dropout on top of the shifts ")


_real_fit = DigitMLPClassifier.fit


def _fit_briefly(self, X, y):
    """The example's fits, 3 epochs instead of 80 (its text must not depend on the figures)."""
    self.set_params(max_iter=3)
    return _real_fit(self, X, y)


def test_battery_row_23_adam_at_the_same_rate_diverges(digits):
    # battery row 23: with solver="sgd" most ReLU units die (a ConvergenceWarning,
    # test_estimator.py); with the default Adam the same rate diverges.
    X, y = digits
    model = DigitMLPClassifier(learning_rate_init=0.5, max_iter=30, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"learning_rate=0\.5.*Lower learning_rate"):
        model.fit(X, y)
    assert all(np.isfinite(coef).all() for coef in model.coefs_)


def _reading_row(spacing):
    """``(hdrnn, RapidOCR)``: exact photographed numbers of all writers at ``spacing``
    ("all" for every spacing), in percent, from benchmarks/reading.md."""
    row = rf"^\| \*\*all\*\* \| \*\*{spacing}\*\* \| \*\*photo\*\* \| \d+ \| "
    cells = re.search(row + r"([\d.]+)% \| ([\d.]+)% \|", _text("reading.md"), re.M)
    return float(cells[1]), float(cells[2])


def test_the_readmes_reading_figures_are_the_reading_benchmarks():
    # README.md is not a docs page (its other figures are the project's pitch), but the
    # sentence about reading numbers quotes benchmarks/reading.md, rounded to whole percents.
    sentence = re.search(
        r"`benchmarks/reading\.py` measures it: (.*?)\)", (ROOT / "README.md").read_text(), re.S
    )
    quoted = [int(figure) for figure in re.findall(r"(\d+)%", sentence[1])]
    ours, rapid = zip(*(_reading_row(spacing) for spacing in ("all", "apart", "touching")))
    expected = [round(value) for value in (*ours, *rapid)]
    assert quoted == expected, (
        f"README.md quotes {quoted} for reading numbers; benchmarks/reading.md holds "
        f"{expected} (hdrnn all, apart, touching; then RapidOCR's)."
    )
