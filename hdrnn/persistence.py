"""Safe model files: ``hdrnn.save(model, path)`` and ``hdrnn.load(path)``.

Unpickling runs code, so a pickled model from an untrusted source is a
security risk. hdrnn's own format holds only data: one ``.npz`` archive
with the weights, the classes, the optimizer state, and a JSON document
describing the model (format version, library versions, estimator
parameters, fitted attributes, input image shape) plus a SHA-256 checksum
of everything. Writes are atomic, so an interrupted save never damages an
existing file.

Loading follows a written threat model (``docs/reliability.rst``): the
archive is read with bounded work (:mod:`hdrnn._model_archive`) and every
value is checked against the format and against the others
(:mod:`hdrnn._model_schema`) before a model is built.

``joblib.dump`` / ``pickle`` keep working for scikit-learn workflows; use
this format to share models or to load ones you did not make.
"""

import datetime
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from hdrnn._files import atomic_write
from hdrnn._model_archive import ModelArchive, damaged
from hdrnn._model_schema import SchemaError, allowed_dtype, check_model
from hdrnn._version import __version__
from hdrnn.augmentation import Augmentation, default_image_shape
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.exceptions import IncompatibleModelError, ModelFormatWarning
from hdrnn.nn import SGD, Adam, PlateauTracker

# The document type written into every file.
FORMAT_NAME = "hdrnn-model"

# Bump on any change to the layout; register a migration for the old one.
# Format 2 stores Adam's moments as decayed sums (see hdrnn.nn.Adam).
FORMAT_VERSION = 2


def _adam_moments_to_decayed_sums(metadata, arrays):
    """Format 1 -> 2: Adam's ``m`` and ``v`` become ``grad_sum`` and ``sq_grad_sum``.

    Anything that is not a well-formed format-1 Adam state is left as it is,
    for the checks that follow to refuse.
    """
    optimizer = metadata.get("optimizer")
    metadata = {**metadata, "format_version": 2, "arrays": dict(metadata["arrays"])}
    if not _is_format_1_adam(optimizer, arrays):
        return metadata, arrays
    arrays = dict(arrays)
    for old, new, beta in (
        ("m", "grad_sum", optimizer["beta_1"]),
        ("v", "sq_grad_sum", optimizer["beta_2"]),
    ):
        moment = arrays.pop(f"optimizer_{old}")
        arrays[f"optimizer_{new}"] = (moment / (1.0 - beta)).astype(moment.dtype)
        metadata["arrays"][f"optimizer_{new}"] = metadata["arrays"].pop(f"optimizer_{old}")
    return metadata, arrays


def _is_format_1_adam(optimizer, arrays):
    return (
        isinstance(optimizer, dict)
        and optimizer.get("kind") == "Adam"
        and all(
            isinstance(optimizer.get(beta), float) and 0 <= optimizer[beta] < 1
            for beta in ("beta_1", "beta_2")
        )
        and {"optimizer_m", "optimizer_v"} <= set(arrays)
    )


# Migrations from older format versions: {version: function(metadata, arrays)
# -> (metadata, arrays)} upgrading a file of that version by one step.
MIGRATIONS = {1: _adam_moments_to_decayed_sums}

# Fitted attributes stored in the JSON document (the arrays are stored apart),
# with the value a file from before an attribute existed gets.
_FITTED_SCALARS = {
    "n_features_in_": None,
    "n_layers_": None,
    "n_outputs_": None,
    "out_activation_": None,
    "n_iter_": None,
    "t_": None,
    "loss_": None,
    "best_loss_": None,
    "loss_curve_": None,
    "validation_scores_": None,
    "validation_loss_curve_": None,
    "best_validation_score_": None,
    "history_": None,
    "image_shape_": None,
    "dead_units_fraction_": None,
    "interrupted_": False,
}


def save(model, path, *, info=None):
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
    optimizer = getattr(model, "_optimizer", None)
    optimizer_state = None if optimizer is None else optimizer.state_dict()
    arrays = _model_arrays(model, optimizer_state)
    metadata = _model_metadata(model, arrays, optimizer_state, info)
    metadata["checksum"] = _checksum(metadata, arrays)
    document = json.dumps(metadata, sort_keys=True).encode("utf-8")
    arrays["metadata.json"] = np.frombuffer(document, dtype=np.uint8)
    with atomic_write(path) as file:
        np.savez(file, **arrays)
    return path


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
        The format and library versions, ``params``, ``fitted`` attributes,
        ``info`` and the rest of the description, plus ``"classes"``: the
        class labels as a list.

    Raises
    ------
    ModelFileError
        As :func:`load`.
    """
    metadata, arrays = _read(Path(path))
    return {**metadata, "classes": arrays["classes"].tolist()}


# ------------------------------------------------------------------ writing


def _model_arrays(model, optimizer_state):
    arrays = {}
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        arrays[f"coefs_{i}"] = np.ascontiguousarray(W)
        arrays[f"intercepts_{i}"] = np.ascontiguousarray(b)
    arrays["classes"] = _portable_classes(model.classes_)
    if getattr(model, "feature_names_in_", None) is not None:
        arrays["feature_names_in"] = np.asarray(model.feature_names_in_, dtype=str)
    for name, value in (optimizer_state or {}).items():
        if isinstance(value, np.ndarray):
            arrays[f"optimizer_{name}"] = value
    return arrays


def _portable_classes(classes):
    classes = np.asarray(classes)
    if classes.dtype.kind in "biuf":
        return classes
    if all(isinstance(label, str) for label in classes):
        return classes.astype(str)
    raise ValueError(
        "hdrnn.save stores numeric or string class labels only; this model's classes "
        f"have dtype {classes.dtype} ({classes[:3].tolist()}...). Encode the labels as "
        "integers or strings, or use joblib for this model."
    )


def _model_metadata(model, arrays, optimizer_state, info):
    optimizer_scalars = {
        name: value
        for name, value in (optimizer_state or {}).items()
        if not isinstance(value, np.ndarray)
    }
    fitted = {name: getattr(model, name, default) for name, default in _FITTED_SCALARS.items()}
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {
            "hdrnn": __version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "estimator": type(model).__name__,
        "params": _portable_params(model),
        "fitted": _jsonable(fitted),
        "label_type": model._label_binarizer.y_type_,
        "input_dtype": str(getattr(model, "_input_dtype", model.coefs_[0].dtype)),
        "image_shape": _image_shape(model),
        "optimizer": None
        if optimizer_state is None
        else {"kind": type(model._optimizer).__name__, **optimizer_scalars},
        "arrays": {
            name: {"dtype": value.dtype.str, "shape": list(value.shape)}
            for name, value in arrays.items()
        },
        "info": _jsonable(info or {}),
    }


def _image_shape(model):
    shape = getattr(model, "image_shape_", None) or model.image_shape
    if shape is None:
        shape = default_image_shape(model.n_features_in_)
    return None if shape is None else [int(side) for side in shape]


def _portable_params(model):
    params = {}
    for name, value in model.get_params(deep=False).items():
        if isinstance(value, Augmentation):
            value = {"augmentation": _jsonable(vars(value))}
        elif name == "class_weight" and isinstance(value, dict):
            value = {"class_weight_pairs": [[_jsonable(k), float(v)] for k, v in value.items()]}
        elif name == "random_state" and not (value is None or isinstance(value, int)):
            value = None  # a RandomState's state is not worth keeping
        elif callable(value):
            warnings.warn(
                f"The parameter {name}={value!r} is a Python function and is not saved; "
                "the loaded model has the default.",
                UserWarning,
                stacklevel=4,
            )
            continue
        params[name] = _jsonable(value)
    return params


def _jsonable(value):
    """Convert NumPy scalars and arrays, tuples and dicts into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _checksum(metadata, arrays):
    digest = hashlib.sha256()
    document = {k: v for k, v in metadata.items() if k != "checksum"}
    digest.update(json.dumps(document, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        if name == "metadata.json":
            continue
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.reshape(-1).view(np.uint8).data)  # the bytes, without a copy
    return digest.hexdigest()


# ------------------------------------------------------------------ reading


def _read(path):
    """Return ``(metadata, arrays)`` of a checked, migrated model file."""
    if not path.exists():
        raise FileNotFoundError(f"No model file at {path}.")
    if not path.is_file():
        raise damaged(path, "it is a directory or a device, not a file")
    with ModelArchive(path) as archive:
        metadata = archive.read_metadata()
        version = _check_format(path, metadata)
        arrays = archive.read_arrays(metadata.get("arrays"), allowed_dtype)
    if metadata.get("checksum") != _checksum(metadata, arrays):
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
        raise damaged(path, "its metadata does not describe an hdrnn model")
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
    warnings.warn(
        ModelFormatWarning(
            f"{path} uses the older model format {version} (written by hdrnn "
            f"{written_by}) and was upgraded while loading; save the model again to "
            f"store it in format {FORMAT_VERSION}.",
            original_version=written_by,
        ),
        stacklevel=4,
    )
    return metadata, arrays


def _build_model(path, metadata, arrays):
    """A DigitMLPClassifier from a checked file."""
    try:
        model = DigitMLPClassifier(**_params_from_file(metadata["params"]))
        model._validate_params()
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise damaged(path, f"its parameters are invalid ({str(error)[:200]})") from None
    fitted = metadata["fitted"]
    n_layers = fitted["n_layers_"] - 1
    model.coefs_ = [arrays[f"coefs_{i}"] for i in range(n_layers)]
    model.intercepts_ = [arrays[f"intercepts_{i}"] for i in range(n_layers)]
    for name, default in _FITTED_SCALARS.items():
        setattr(model, name, fitted.get(name, default))
    if model.image_shape_ is not None:
        model.image_shape_ = tuple(model.image_shape_)
    model.classes_ = arrays["classes"]
    if "feature_names_in" in arrays:
        model.feature_names_in_ = arrays["feature_names_in"].astype(object)
    binarizer = LabelBinarizer()
    binarizer.classes_ = model.classes_
    binarizer.y_type_ = metadata["label_type"]
    binarizer.sparse_input_ = False
    model._label_binarizer = binarizer
    model._input_dtype = np.dtype(metadata["input_dtype"])
    model._plateau = PlateauTracker(model.tol)
    model._schedule = None
    model._optimizer = _build_optimizer(metadata["optimizer"], arrays)
    return model


def _params_from_file(params):
    """Turn the JSON form of the parameters back into Python objects (or raise)."""
    params = dict(params)
    params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    augment = params.get("augment")
    if isinstance(augment, dict):
        config = dict(augment["augmentation"])
        config["scale_range"] = tuple(config["scale_range"])
        params["augment"] = Augmentation(**config)
    class_weight = params.get("class_weight")
    if isinstance(class_weight, dict):
        pairs = class_weight["class_weight_pairs"]
        params["class_weight"] = {label: float(weight) for label, weight in pairs}
    if params.get("image_shape") is not None:
        params["image_shape"] = tuple(params["image_shape"])
    return params


def _build_optimizer(description, arrays):
    """Recreate the saved optimizer, so that training can continue where it stopped."""
    if description is None:
        return None
    state = {k: v for k, v in description.items() if k != "kind"}
    state.update(
        {
            name[len("optimizer_") :]: v
            for name, v in arrays.items()
            if name.startswith("optimizer_")
        }
    )
    if description["kind"] == "Adam":
        optimizer = Adam(
            state["grad_sum"].size,
            state["grad_sum"].dtype,
            state["learning_rate"],
            state["beta_1"],
            state["beta_2"],
            state["epsilon"],
        )
    else:
        optimizer = SGD(
            state["velocity"].size,
            state["velocity"].dtype,
            state["learning_rate"],
            state["momentum"],
            state["nesterov"],
        )
    optimizer.load_state(state)
    return optimizer
