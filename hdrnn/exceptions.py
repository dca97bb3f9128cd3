"""Exceptions and warnings raised by hdrnn."""


class TrainingDivergedError(ValueError):
    """Training stopped because the loss stopped being a finite number.

    The estimator keeps the weights of the last epoch that completed with a
    finite loss, so it stays usable.

    Parameters
    ----------
    message : str
        What happened and how to fix it.
    epoch : int
        One-based number of the epoch (or L-BFGS iteration) that diverged.
    batch : int or None
        One-based number of the mini-batch where the loss became non-finite.
    learning_rate : float or None
        The step size in use at that point.

    Examples
    --------
    >>> from hdrnn.exceptions import TrainingDivergedError
    >>> issubclass(TrainingDivergedError, ValueError)
    True
    """

    def __init__(self, message, epoch, batch=None, learning_rate=None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.learning_rate = learning_rate


class DataScaleWarning(UserWarning):
    """The input values are far larger than a neural network trains well on.

    Raw pixel values (0-255) are the usual cause: divide by 255 or use a
    scaler such as ``sklearn.preprocessing.MinMaxScaler``.
    """


class DatasetUnavailableError(OSError):
    """MNIST could not be found locally nor downloaded.

    The message lists the places searched and the two fixes: point
    ``HDRNN_MNIST_DIR`` at a folder of MNIST IDX files, or use
    ``sklearn.datasets.load_digits`` for an offline demo.
    """


class DatasetIntegrityError(ValueError):
    """A cached or downloaded dataset failed its checksum or shape checks."""


class IDXFormatError(ValueError):
    """An IDX file is malformed: wrong magic number, truncated, padded or inconsistent."""


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (Ctrl-C); the model keeps its last completed epoch.

    ``fit`` and ``partial_fit`` catch the ``KeyboardInterrupt``, roll the
    weights and optimizer back to the end of the last completed epoch and
    return normally, as ``MLPClassifier`` does. Turn this warning into an
    error (``warnings.simplefilter("error", TrainingInterruptedWarning)``)
    to stop a script instead.
    """


class ModelFileError(ValueError):
    """A model file cannot be loaded: not an hdrnn model, damaged, or too new.

    Raised by :func:`hdrnn.load` for truncated, corrupted (checksum
    mismatch), random or future-format files; the message names the file,
    what is wrong and what to do.
    """


class ModelFormatWarning(UserWarning):
    """A model file was written in an older format version and was upgraded on load."""
