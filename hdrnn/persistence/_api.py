"""The functions of :mod:`hdrnn.persistence`: save, load, read a model file's description.

The package docstring says what the format holds and guarantees; this module
reads (:mod:`._archive`), checks (:mod:`._schema`) and migrates
(:mod:`._migrations`) through its helpers.
"""

import json
from pathlib import Path

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from hdrnn._training.state import TrainingConfig, TrainingState
from hdrnn._utils.files import atomic_write
from hdrnn._utils.warn import warn
from hdrnn._version import __version__
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.estimator._setup import check_params
from hdrnn.estimator._validation import fitted_arrays
from hdrnn.exceptions import IncompatibleModelError, ModelFormatWarning
from hdrnn.persistence._archive import ModelArchive, damaged, not_a_model
from hdrnn.persistence._document import checksum, model_document, params_from_document, state_arrays
from hdrnn.persistence._migrations import FORMAT_NAME, FORMAT_VERSION, MIGRATIONS
from hdrnn.persistence._schema import SchemaError, allowed_dtype, check_model


def save(model, path, *, info=None, optimizer_state=True):
    """Save a fitted :class:`~hdrnn.DigitMLPClassifier` in hdrnn's pickle-free format.

    The file is written next to ``path`` under a temporary name and renamed
    over ``path`` only when complete, so a failed or interrupted save leaves
    any previous file intact. A symlink is followed (the file it points to
    is replaced); a directory, FIFO, socket or device is never replaced.

    Parameters
    ----------
    model : DigitMLPClassifier
        A fitted estimator.
    path : str or path-like
        Destination, conventionally ending in ``.hdrnn``.
    info : dict, default=None
        Extra JSON-serialisable facts to keep with the model, e.g. the data
        set it was trained on; returned by :func:`read_metadata`.
    optimizer_state : bool, default=True
        Whether to keep the optimizer's state (Adam's moments, SGD's
        velocity), so that ``partial_fit`` on the loaded model continues
        exactly. Without it the file is about a third of the size (Adam keeps
        two numbers per weight), and training a loaded model starts a fresh
        optimizer; prediction is the same.

    Returns
    -------
    path : pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If ``path`` is a directory, FIFO, socket or device.
    FileNotFoundError, PermissionError
        If its folder does not exist or is not writable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.datasets import load_digits
    >>> from hdrnn import DigitMLPClassifier, save, load
    >>> X, y = load_digits(return_X_y=True)
    >>> model = DigitMLPClassifier((16,), max_iter=30, random_state=0).fit(X / 16, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "digits.hdrnn"
    >>> _ = save(model, path)
    >>> bool((load(path).predict(X / 16) == model.predict(X / 16)).all())
    True
    """
    check_is_fitted(model)
    path = Path(path)
    metadata, arrays = _savable_document(model, info, optimizer_state)
    document = json.dumps(metadata, sort_keys=True).encode("utf-8")
    arrays["metadata.json"] = np.frombuffer(document, dtype=np.uint8)
    with atomic_write(path) as file:
        np.savez(file, **arrays)
    return path


def _savable_document(model, info, optimizer_state):
    """The document of ``model``, checked as :func:`load` will check it (or a ValueError)."""
    try:
        coefs, _ = fitted_arrays(model.coefs_, model.intercepts_)
        check_params(model.get_params(), coefs[0].shape[0])
    except ValueError as error:
        raise ValueError(f"Cannot save this model: {error}") from None
    fitted_hidden = [W.shape[1] for W in coefs[:-1]]
    if list(np.ravel(model.hidden_layer_sizes)) != fitted_hidden:
        raise ValueError(
            f"Cannot save this model: its hidden_layer_sizes parameter "
            f"({model.hidden_layer_sizes!r}) no longer matches its fitted layers "
            f"({tuple(fitted_hidden)}); set_params changed the parameter, not the weights. "
            f"Set it back (set_params(hidden_layer_sizes={tuple(fitted_hidden)})) or fit again."
        )
    dtypes = {a.dtype for a in (*model.coefs_, *model.intercepts_) if hasattr(a, "dtype")}
    if len(dtypes) > 1 or not all(isinstance(a, np.ndarray) for a in model.coefs_):
        raise ValueError(
            f"Cannot save this model: its weights are not arrays of one dtype "
            f"({sorted(map(str, dtypes))}); cast them, e.g. "
            "model.coefs_ = [np.asarray(W, np.float32) for W in model.coefs_] (and intercepts_)."
        )
    metadata, arrays = model_document(model, info, optimizer=optimizer_state)
    try:
        check_model(metadata, arrays)
    except SchemaError as error:
        raise ValueError(f"Cannot save this model: {error}. {_remedy(str(error))}") from None
    return metadata, arrays


def _remedy(problem):
    if "NaN or infinite" in problem:
        return "A model with non-finite weights predicts nothing useful: fit it again."
    return "Its fitted attributes do not describe one consistent network: fit it again."


def load(path):
    """Load a model saved by :func:`save`; safe for files from anyone.

    Nothing in the file is executed, and nothing is believed before it is
    checked: the archive's members and each array's header are checked
    before any data are read (so memory stays within a small multiple of
    the file's size), then every value against the format and against the
    others. A file that passes describes one consistent model.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    model : DigitMLPClassifier
        The fitted estimator, ready to predict (and to continue training
        with ``partial_fit`` or ``warm_start``).

    Raises
    ------
    ModelFileError
        If the file is not an hdrnn model (random bytes, another archive, a
        ``.npy``), is truncated or corrupted (the checksum does not match),
        or its contents do not describe one consistent model.
    UnsafeModelError
        If it is a pickle or joblib file (a :class:`ModelFileError`).
    IncompatibleModelError
        If it was written in a newer format (a :class:`ModelFileError`).
    FileNotFoundError
        If there is no file at ``path``.

    Warns
    -----
    ModelFormatWarning
        If the file is in an older format, upgraded while loading.
    """
    metadata, arrays = _read(Path(path))
    return _build_model(Path(path), metadata, arrays)


def load_with_metadata(path):
    """Load a model and its description with one read of the file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    model : DigitMLPClassifier
        As :func:`load` returns it.
    metadata : dict
        As :func:`read_metadata` returns it.

    Raises
    ------
    ModelFileError
        As :func:`load`.
    """
    metadata, arrays = _read(Path(path))
    model = _build_model(Path(path), metadata, arrays)
    return model, {**metadata, "classes": arrays["classes"].tolist()}


def read_metadata(path):
    """Return the JSON description of a saved model, checked like :func:`load` checks it.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    metadata : dict
        The format and library versions, ``params``, the fitted ``structure``
        (input size, layers, output), the training ``state`` (curves,
        history, optimizer settings), ``info`` and the rest of the
        description, plus ``"classes"``: the class labels as a list.

    Raises
    ------
    ModelFileError
        As :func:`load`.
    """
    metadata, arrays = _read(Path(path))
    return {**metadata, "classes": arrays["classes"].tolist()}


# ------------------------------------------------------------------ reading


def _read(path):
    """Return ``(metadata, arrays)`` of a checked, migrated model file."""
    if not path.exists():
        raise FileNotFoundError(f"No model file at {path}.")
    if not path.is_file():
        raise not_a_model(path, "it is a directory or a device, not a file")
    with ModelArchive(path) as archive:
        metadata = archive.read_metadata()
        version = _check_format(path, metadata)
        arrays = archive.read_arrays(metadata.get("arrays"), allowed_dtype)
    if metadata.get("checksum") != checksum(metadata, arrays):
        raise damaged(path, "its checksum does not match its contents")
    arrays = {
        name: array.astype(array.dtype.newbyteorder("="), copy=False)
        for name, array in arrays.items()
    }
    if version < FORMAT_VERSION:
        metadata, arrays = _migrate(path, metadata, arrays, version)
    try:
        check_model(metadata, arrays)
    except SchemaError as error:
        raise damaged(path, f"its contents are inconsistent: {error}") from None
    return metadata, arrays


def _check_format(path, metadata):
    """Return the file's format version, if this hdrnn reads it."""
    if metadata.get("format") != FORMAT_NAME or metadata.get("estimator") != "DigitMLPClassifier":
        raise not_a_model(path, "its metadata does not describe an hdrnn model")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise damaged(path, f"its format version {str(version)[:20]!r} is not valid")
    if version > FORMAT_VERSION:
        versions = metadata.get("versions")
        written_by = versions.get("hdrnn") if isinstance(versions, dict) else None
        raise IncompatibleModelError(
            f"{path} was written by hdrnn {str(written_by or 'newer than this one')[:40]} in "
            f"model format {version}; this hdrnn ({__version__}) reads formats up to "
            f"{FORMAT_VERSION}. Upgrade hdrnn (pip install --upgrade hdrnn) to load it.",
            file_format=version,
            supported_format=FORMAT_VERSION,
        )
    return version


def _migrate(path, metadata, arrays, version):
    for old in range(version, FORMAT_VERSION):
        if old not in MIGRATIONS:
            raise IncompatibleModelError(
                f"{path} uses model format {old}, which this hdrnn can no longer read. "
                "Load it with the hdrnn version that wrote it and save it again.",
                file_format=old,
                supported_format=FORMAT_VERSION,
            )
        metadata, arrays = MIGRATIONS[old](metadata, arrays)
    versions = metadata.get("versions")
    written_by = versions.get("hdrnn") if isinstance(versions, dict) else None
    warn(
        ModelFormatWarning(
            f"{path} uses the older model format {version} (written by hdrnn "
            f"{written_by}) and was upgraded while loading; save the model again to "
            f"store it in format {FORMAT_VERSION}.",
            original_version=written_by,
        )
    )
    return metadata, arrays


def _build_model(path, metadata, arrays):
    """A DigitMLPClassifier from a checked file."""
    try:
        model = DigitMLPClassifier(**params_from_document(metadata["params"]))
        model._validate_params()
        check_params(model.get_params(), metadata["structure"]["n_features_in_"])
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise damaged(path, f"its parameters are invalid ({str(error)[:200]})") from None
    structure = dict(metadata["structure"])
    if structure["image_shape_"] is not None:
        structure["image_shape_"] = tuple(structure["image_shape_"])
    n_layers = structure["n_layers_"] - 1
    binarizer = LabelBinarizer()
    binarizer.classes_ = arrays["classes"]
    binarizer.y_type_ = metadata["label_type"]
    binarizer.sparse_input_ = False
    config = TrainingConfig.from_params(model.get_params())
    state = TrainingState.from_state_dict(
        {"scalars": metadata["state"], "arrays": state_arrays(arrays)}, config
    )
    feature_names = arrays.get("feature_names_in")
    return model._restore(
        coefs=[arrays[f"coefs_{i}"] for i in range(n_layers)],
        intercepts=[arrays[f"intercepts_{i}"] for i in range(n_layers)],
        binarizer=binarizer,
        structure=structure,
        state=state,
        feature_names=None if feature_names is None else feature_names.astype(object),
    )
