"""Exceptions and warnings raised by hdrnn."""


class TrainingDivergedError(ValueError):
    """Training stopped because it diverged.

    Raised when a batch's loss is not finite, when an update leaves
    non-finite weights, or when an epoch's mean loss is over 100 times the
    loss of guessing (a loss that is finite but means confident wrong
    answers). The message says which of these happened, where, and what to
    change. The estimator keeps the weights of the last completed epoch, so
    it stays usable.

    Parameters
    ----------
    message : str
        What happened and how to fix it.
    epoch : int
        One-based number of the epoch (or L-BFGS iteration) that diverged.
    batch : int or None
        One-based number of the mini-batch where it was detected, within
        the epoch; None when it was detected at the end of the epoch.
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
    """A cached or downloaded dataset failed its checksum or shape checks.

    The message names the file and gives the expected and the actual
    checksums.
    """


class IDXFormatError(ValueError):
    """An IDX file is malformed: wrong magic number, truncated, padded or inconsistent."""


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (Ctrl-C) and ``on_interrupt="stop"`` returned normally.

    With ``on_interrupt="stop"``, ``fit`` and ``partial_fit`` catch the
    ``KeyboardInterrupt``, roll the weights and optimizer back to the end of
    the last completed epoch, warn with this and return, as
    ``MLPClassifier`` does. With the default ``on_interrupt="raise"`` the
    estimator is rolled back the same way but the ``KeyboardInterrupt``
    propagates, so a script, a grid search or a pipeline stops.
    """


class ModelFileError(ValueError):
    """A model file cannot be loaded: not an hdrnn model, damaged, inconsistent or too new.

    Raised by :func:`hdrnn.load` for every file it refuses: truncated,
    corrupted (checksum mismatch), random, foreign or crafted files and files
    whose contents do not describe one consistent model. The message names
    the file, what is wrong and what to do. Subclasses say more:
    :class:`UnsafeModelError` (a pickle) and :class:`IncompatibleModelError`
    (a newer format).
    """


class UnsafeModelError(ModelFileError):
    """The file is a pickle (or joblib) file: loading it could run any code.

    :func:`hdrnn.load` never unpickles. Load such a file with
    ``joblib.load`` (or ``hdrnn ... --trust-pickle``) only if you made it
    yourself or trust whoever did.
    """


class IncompatibleModelError(ModelFileError):
    """The model file was written in a format this hdrnn cannot read.

    Attributes
    ----------
    file_format : int
        The format version of the file.
    supported_format : int
        The newest format this hdrnn reads.
    """

    def __init__(self, message, file_format=None, supported_format=None):
        super().__init__(message)
        self.file_format = file_format
        self.supported_format = supported_format


class ModelVersionWarning(UserWarning):
    """A model was made by another version of hdrnn (or of its dependencies).

    Emitted when an hdrnn file of an older format is upgraded while loading,
    and when a pickled (joblib) model was written with other versions of
    hdrnn, NumPy or scikit-learn than the ones running.

    Attributes
    ----------
    original_version : str or None
        The hdrnn version that wrote the model.
    """

    def __init__(self, message, original_version=None):
        super().__init__(message)
        self.original_version = original_version


class ModelFormatWarning(ModelVersionWarning):
    """A model file was written in an older format version and was upgraded on load."""
