"""Safe model files: ``hdrnn.save(model, path)`` and ``hdrnn.load(path)``.

Unpickling runs code, so a pickled model from an untrusted source is a
security risk. hdrnn's own format holds only data: one ``.npz`` archive
(read with ``allow_pickle=False``) with the weights, the classes, the
optimizer state, and a JSON document describing the model (format version,
library versions, estimator parameters, fitted attributes, input image
shape) plus a SHA-256 checksum of everything. Writes are atomic, so an
interrupted save never damages an existing file.

``joblib.dump`` / ``pickle`` keep working for scikit-learn workflows; use
this format to share models or to load ones you did not make.
"""

import datetime
import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from hdrnn.exceptions import ModelFileError, ModelFormatWarning

# The document type written into every file.
FORMAT_NAME = "hdrnn-model"

# Bump on any change to the layout; register a migration for the old one.
# Format 2 stores Adam's moments as decayed sums (see hdrnn.nn.Adam).
FORMAT_VERSION = 2


def _adam_moments_to_decayed_sums(metadata, arrays):
    """Format 1 -> 2: Adam's ``m`` and ``v`` become ``grad_sum`` and ``sq_grad_sum``."""
    optimizer = metadata.get("optimizer")
    metadata = {**metadata, "format_version": 2, "arrays": dict(metadata["arrays"])}
    if optimizer is not None and optimizer.get("kind") == "Adam":
        arrays = dict(arrays)
        for old, new, beta in (
            ("m", "grad_sum", optimizer["beta_1"]),
            ("v", "sq_grad_sum", optimizer["beta_2"]),
        ):
            moment = arrays.pop(f"optimizer_{old}")
            arrays[f"optimizer_{new}"] = (moment / (1.0 - beta)).astype(moment.dtype)
            metadata["arrays"][f"optimizer_{new}"] = metadata["arrays"].pop(f"optimizer_{old}")
    return metadata, arrays


# Migrations from older format versions: {version: function(metadata, arrays)
# -> (metadata, arrays)} upgrading a file of that version by one step.
MIGRATIONS = {1: _adam_moments_to_decayed_sums}

# Fitted attributes stored in the JSON document (the arrays are stored apart).
_FITTED_SCALARS = (
    "n_features_in_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "n_iter_",
    "t_",
    "loss_",
    "best_loss_",
    "loss_curve_",
    "validation_scores_",
    "validation_loss_curve_",
    "best_validation_score_",
    "history_",
    "image_shape_",
)


def save(model, path, *, info=None):
    """Save a fitted :class:`~hdrnn.DigitMLPClassifier` in hdrnn's pickle-free format.

    The file is written next to ``path`` under a temporary name and renamed
    over ``path`` only when complete, so a failed or interrupted save leaves
    any previous file intact.

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
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    path = Path(path)
    optimizer = getattr(model, "_optimizer", None)
    optimizer_state = None if optimizer is None else optimizer.state_dict()
    arrays = _model_arrays(model, optimizer_state)
    metadata = _model_metadata(model, arrays, optimizer_state, info)
    metadata["checksum"] = _checksum(metadata, arrays)
    document = json.dumps(metadata, sort_keys=True).encode("utf-8")
    arrays["metadata.json"] = np.frombuffer(document, dtype=np.uint8)
    _write_atomically(path, arrays)
    return path


def load(path):
    """Load a model saved by :func:`save`.

    Nothing in the file is executed: arrays are read with
    ``allow_pickle=False`` and the description is JSON.

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
        If the file is not an hdrnn model, is truncated or corrupted (the
        checksum does not match), or was written by a newer hdrnn.
    FileNotFoundError
        If there is no file at ``path``.
    """
    metadata, arrays = _read(Path(path))
    return _build_model(metadata, arrays)


def read_metadata(path):
    """Return the JSON description of a saved model (verified, without building it)."""
    metadata, _ = _read(Path(path))
    return metadata


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
    import sklearn

    from hdrnn import __version__

    optimizer_scalars = {
        name: value
        for name, value in (optimizer_state or {}).items()
        if not isinstance(value, np.ndarray)
    }
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
        "fitted": {name: _jsonable(getattr(model, name, None)) for name in _FITTED_SCALARS},
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
    from hdrnn.augmentation import default_image_shape

    shape = getattr(model, "image_shape_", None) or model.image_shape
    if shape is None:
        shape = default_image_shape(model.n_features_in_)
    return None if shape is None else [int(side) for side in shape]


def _portable_params(model):
    from hdrnn.augmentation import Augmentation

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
        digest.update(array.tobytes())
    return digest.hexdigest()


def _write_atomically(path, arrays):
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ reading


def _read(path):
    if not path.exists():
        raise FileNotFoundError(f"No model file at {path}.")

    def damaged(reason):
        return ModelFileError(
            f"{path} is not a usable hdrnn model file: {reason}. If you saved it "
            "with hdrnn.save, the copy is damaged (truncated or modified): save it "
            "again from the trained model."
        )

    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        raise damaged(f"it is not a readable .npz archive ({error})") from error
    document = arrays.pop("metadata.json", None)
    if document is None or document.dtype != np.uint8:
        raise damaged("it has no hdrnn metadata")
    try:
        metadata = json.loads(document.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise damaged(f"its metadata is not valid JSON ({error})") from error
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise damaged("its metadata does not describe an hdrnn model")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise damaged(f"its format version {version!r} is not valid")
    if version > FORMAT_VERSION:
        written_by = metadata.get("versions", {}).get("hdrnn", "a newer hdrnn")
        raise ModelFileError(
            f"{path} was written by hdrnn {written_by} in model format {version}; this "
            f"hdrnn reads formats up to {FORMAT_VERSION}. Upgrade hdrnn "
            "(pip install --upgrade hdrnn) to load it."
        )
    if metadata.get("checksum") != _checksum(metadata, arrays):
        raise damaged("its checksum does not match its contents")
    if version < FORMAT_VERSION:
        metadata, arrays = _migrate(path, metadata, arrays, version)
    return metadata, arrays


def _migrate(path, metadata, arrays, version):
    for old in range(version, FORMAT_VERSION):
        if old not in MIGRATIONS:
            raise ModelFileError(
                f"{path} uses model format {old}, which this hdrnn can no longer read. "
                "Load it with the hdrnn version that wrote it and save it again."
            )
        metadata, arrays = MIGRATIONS[old](metadata, arrays)
    warnings.warn(
        f"{path} uses the older model format {version} and was upgraded while loading; "
        f"save the model again to store it in format {FORMAT_VERSION}.",
        ModelFormatWarning,
        stacklevel=4,
    )
    return metadata, arrays


def _build_model(metadata, arrays):
    from sklearn.preprocessing import LabelBinarizer

    from hdrnn.augmentation import Augmentation
    from hdrnn.estimator import DigitMLPClassifier
    from hdrnn.nn import PlateauTracker

    params = dict(metadata["params"])
    params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if isinstance(params.get("augment"), dict):
        config = params["augment"]["augmentation"]
        config["scale_range"] = tuple(config["scale_range"])
        params["augment"] = Augmentation(**config)
    if isinstance(params.get("class_weight"), dict):
        params["class_weight"] = {k: v for k, v in params["class_weight"]["class_weight_pairs"]}
    if params.get("image_shape") is not None:
        params["image_shape"] = tuple(params["image_shape"])
    model = DigitMLPClassifier(**params)

    n_layers = metadata["fitted"]["n_layers_"] - 1
    model.coefs_ = [arrays[f"coefs_{i}"] for i in range(n_layers)]
    model.intercepts_ = [arrays[f"intercepts_{i}"] for i in range(n_layers)]
    for name, value in metadata["fitted"].items():
        setattr(model, name, value)
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
    model._optimizer = _build_optimizer(metadata.get("optimizer"), arrays)
    return model


def _build_optimizer(description, arrays):
    """Recreate the saved optimizer, so that training can continue where it stopped."""
    from hdrnn.nn import SGD, Adam

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
