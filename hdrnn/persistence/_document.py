"""A model as a document: the JSON description and the arrays a model file holds.

:func:`model_document` turns a fitted estimator into ``(metadata, arrays)``
in the current format; :func:`params_from_document` turns the parameters
back into Python objects; :func:`checksum` is the SHA-256 over both.
"""

import datetime
import hashlib
import json

import numpy as np
import sklearn

from hdrnn._utils.model_facts import input_image_shape
from hdrnn._utils.warn import warn
from hdrnn._version import __version__
from hdrnn.augmentation import Augmentation
from hdrnn.persistence._migrations import FORMAT_NAME, FORMAT_VERSION, STRUCTURE_DEFAULTS

# The prefix of the training state's arrays (the optimizer's) in the archive.
STATE_ARRAY_PREFIX = "optimizer_"


def model_document(model, info, *, optimizer=True):
    """Return ``(metadata, arrays)`` describing a fitted model, checksum included.

    Without ``optimizer`` the optimizer's state (Adam's moments: twice the
    weights' size) is left out; training continues from such a file with a
    fresh optimizer.
    """
    state = model._state.state_dict()
    if not optimizer:
        state = {"scalars": {**state["scalars"], "optimizer": None}, "arrays": {}}
    arrays = {}
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        arrays[f"coefs_{i}"] = np.ascontiguousarray(W)
        arrays[f"intercepts_{i}"] = np.ascontiguousarray(b)
    arrays["classes"] = _portable_classes(model.classes_)
    if getattr(model, "feature_names_in_", None) is not None:
        arrays["feature_names_in"] = np.asarray(model.feature_names_in_, dtype=str)
    for name, value in state["arrays"].items():
        arrays[STATE_ARRAY_PREFIX + name] = value
    structure = {
        name: getattr(model, name, default) for name, default in STRUCTURE_DEFAULTS.items()
    }
    metadata = {
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
        "structure": _jsonable(structure),
        "state": _jsonable(state["scalars"]),
        "label_type": model._label_binarizer.y_type_,
        "image_shape": _listed(input_image_shape(model)),
        "arrays": {
            name: {"dtype": value.dtype.str, "shape": list(value.shape)}
            for name, value in arrays.items()
        },
        "info": _jsonable(info or {}),
    }
    metadata["checksum"] = checksum(metadata, arrays)
    return metadata, arrays


def state_arrays(arrays):
    """The training state's arrays among a file's arrays, by their state names."""
    return {
        name[len(STATE_ARRAY_PREFIX) :]: value
        for name, value in arrays.items()
        if name.startswith(STATE_ARRAY_PREFIX)
    }


def checksum(metadata, arrays):
    """SHA-256 of the description (without its checksum) and of every array."""
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


def params_from_document(params):
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


def _listed(shape):
    return None if shape is None else list(shape)


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
            warn(
                f"The parameter {name}={value!r} is a Python function and is not saved; "
                "the loaded model has the default.",
                UserWarning,
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
