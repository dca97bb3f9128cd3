"""What the command line prints: reports, progress lines, aligned tables."""

import sys
import time

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


def format_duration(seconds):
    """``75.4`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class EpochProgress:
    """A scikit-learn callback printing one line per training epoch.

    Each line has the epoch, the training loss, the validation score when
    there is one, the elapsed time and an estimate of the time left (for
    ``max_iter`` epochs; early stopping may end sooner). On an interactive
    terminal the line starts with a progress bar.

    Parameters
    ----------
    max_epochs : int
        Epochs planned.
    out : file, default=sys.stdout
        Where to print.
    """

    max_propagation_depth = None

    def __init__(self, max_epochs, out=None):
        self.max_epochs = max_epochs
        self.out = out or sys.stdout
        self.started = None

    def setup(self, estimator, context):
        self.started = time.perf_counter()

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name not in ("epoch", "iteration") or not estimator.history_:
            return False
        record = estimator.history_[-1]
        epoch = record["epoch"]
        elapsed = time.perf_counter() - self.started
        remaining = elapsed / epoch * max(self.max_epochs - epoch, 0)
        parts = [f"epoch {epoch:>{len(str(self.max_epochs))}}/{self.max_epochs}"]
        parts.append(f"loss {record['loss']:.4f}")
        if record["val_score"] is not None:
            parts.append(f"validation {record['val_score']:.4f}")
        parts.append(f"elapsed {format_duration(elapsed)}")
        parts.append(f"left ~{format_duration(remaining)}")
        line = "  ".join(parts)
        if self.out.isatty():
            done = round(20 * epoch / self.max_epochs)
            line = f"[{'#' * done}{'.' * (20 - done)}] {line}"
        print(line, file=self.out, flush=True)
        return False
