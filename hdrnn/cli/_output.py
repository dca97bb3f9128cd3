"""What the command line prints: the test report and the confusion matrix as text.

Everything that comes from a file or a model (class labels, model info) goes
through :func:`printable` first: a model file can hold any string, and
terminal escape sequences in it must not reach the user's screen.
"""

import sys

from sklearn.metrics import accuracy_score, classification_report, confusion_matrix


def printable(value, limit=200):
    r"""``str(value)`` with every non-printable character escaped, cut to ``limit`` characters.

    Examples
    --------
    >>> printable("7\x1b[2J")
    '7\\x1b[2J'
    """
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def percent(probability, places=1):
    """A probability as a percentage that never shows 100% for one below 1.

    A digit read at 99.97% is not certain, so it shows as ``">99.9%"``, as
    the page's percentages do; rounding to 100.0% would say it is.

    Examples
    --------
    >>> percent(0.9965), percent(0.99996), percent(1.0), percent(0.995, places=0)
    ('99.7%', '>99.9%', '100.0%', '>99%')
    """
    shown = f"{probability:.{places}%}"
    if probability < 1 and float(shown[:-1]) >= 100:
        return f">{100 - 10**-places:.{places}f}%"
    return shown


def share(probability, places=2):
    """A probability with ``places`` decimals that never shows 1 for one below 1.

    Examples
    --------
    >>> share(0.97), share(0.996), share(1.0)
    ('0.97', '>0.99', '1.00')
    """
    shown = f"{probability:.{places}f}"
    if probability < 1 and float(shown) >= 1:
        return f">{1 - 10**-places:.{places}f}"
    return shown


def format_confusion_matrix(matrix, labels):
    """Return the confusion matrix as aligned text, true labels down, predicted across."""
    labels = [printable(label, 40) for label in labels]
    width = max(len(str(matrix.max())), max(len(str(label)) for label in labels), 3)
    header = " " * (width + 8) + " ".join(f"{label!s:>{width}}" for label in labels)
    lines = ["true \\ predicted", header]
    for label, row in zip(labels, matrix):
        lines.append(f"{label!s:>{width + 7}} " + " ".join(f"{n:>{width}}" for n in row))
    return "\n".join(lines)


def print_report(y_true, y_pred, labels, out=None):
    """Print accuracy, the per-class precision/recall table and the confusion matrix."""
    out = out or sys.stdout
    print(f"\nTest accuracy: {accuracy_score(y_true, y_pred):.4f}\n", file=out)
    names = [printable(label, 40) for label in labels]
    report = classification_report(
        y_true, y_pred, labels=labels, target_names=names, digits=3, zero_division=0
    )
    print(report, file=out)
    print(
        format_confusion_matrix(confusion_matrix(y_true, y_pred, labels=labels), labels), file=out
    )
