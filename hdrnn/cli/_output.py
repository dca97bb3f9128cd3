"""What the command line prints: the test report and the confusion matrix as text."""

import sys

from sklearn.metrics import accuracy_score, classification_report, confusion_matrix


def format_confusion_matrix(matrix, labels):
    """Return the confusion matrix as aligned text, true labels down, predicted across."""
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
    print(classification_report(y_true, y_pred, labels=labels, digits=3, zero_division=0), file=out)
    print(
        format_confusion_matrix(confusion_matrix(y_true, y_pred, labels=labels), labels), file=out
    )
