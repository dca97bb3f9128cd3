"""What a model file must say to be loaded: its metadata and arrays, checked as one model.

The checksum of a model file only proves that the file is what its author
wrote; an author with bad intent writes a valid checksum too. So every
value a file declares is checked here against the format and against the
other values: layer sizes that chain into one network, classes that match
the output layer, known activation and solver names, float32/float64
weights that are finite, optimizer state shaped like the weights. A file
that passes describes one consistent model; anything else is a
:class:`~hdrnn.ModelFileError` naming the first problem found.
"""

from numbers import Integral, Real

import numpy as np

from hdrnn._training.state import HISTORY_KEYS, SOLVERS, STATE_KEYS
from hdrnn.nn import ACTIVATIONS, OPTIMIZERS, OUTPUT_LOSSES, LearningRateSchedule, PlateauTracker
from hdrnn.persistence._migrations import STRUCTURE_DEFAULTS

LABEL_TYPES = {"binary", "multiclass", "multilabel-indicator"}
WEIGHT_DTYPES = {np.dtype(np.float32), np.dtype(np.float64)}
STRUCTURE_KEYS = set(STRUCTURE_DEFAULTS)
# The key sets below come from the classes that write them, so the two cannot drift apart.
SCHEDULE_KEYS = set(LearningRateSchedule.STATE_KEYS)
PLATEAU_KEYS = set(PlateauTracker.STATE_KEYS)


class SchemaError(ValueError):
    """A value in a model file is not what the format allows (the message says which)."""


def allowed_dtype(name, dtype):
    """Whether the array member ``name`` may have ``dtype``."""
    if name == "classes":
        return dtype.kind in "biuf" or dtype.kind == "U"
    if name == "feature_names_in":
        return dtype.kind == "U"
    return dtype.newbyteorder("=") in WEIGHT_DTYPES


def check_model(metadata, arrays):
    """Check a migrated model file; raise :class:`SchemaError` at the first problem.

    Parameters
    ----------
    metadata : dict
        The file's JSON description, upgraded to the current format.
    arrays : dict of str to ndarray
        Its arrays.
    """
    structure = _require(metadata, "structure", dict)
    params = _require(metadata, "params", dict)
    state = _require(metadata, "state", dict)
    _check_structure(structure)
    units = _check_layers(params, structure, arrays)
    _check_labels(metadata, structure, arrays)
    _check_weights(units, arrays)
    _check_state(state)
    _check_optimizer(state["optimizer"], units, arrays)
    _require(metadata, "info", dict)
    _check_image_shape(metadata.get("image_shape"), structure["n_features_in_"], "image_shape")
    _check_image_shape(params.get("image_shape"), structure["n_features_in_"], "params.image_shape")
    for name, shape in (
        ("params.image_shape", params.get("image_shape")),
        ("image_shape_", structure["image_shape_"]),
    ):
        if shape is not None and shape != metadata.get("image_shape"):
            raise SchemaError(f"{name} {shape} is not the model's input image shape")
    if "feature_names_in" in arrays and arrays["feature_names_in"].shape != (units[0],):
        raise SchemaError("feature_names_in does not have one name per input feature")


def _check_structure(structure):
    if set(structure) != STRUCTURE_KEYS:
        raise SchemaError("structure does not hold the documented attributes")
    for name in ("n_features_in_", "n_layers_", "n_outputs_"):
        _integer(structure, name, minimum=1)
    _choice(structure["out_activation_"], OUTPUT_LOSSES, "out_activation_")
    fraction = structure["dead_units_fraction_"]
    _number(fraction, "dead_units_fraction_", optional=True)
    if fraction is not None and not 0 <= fraction <= 1:
        raise SchemaError("dead_units_fraction_ is not a fraction")
    if not isinstance(structure["interrupted_"], bool):
        raise SchemaError("interrupted_ is not a boolean")
    n_features = structure["n_features_in_"]
    _check_image_shape(structure["image_shape_"], n_features, "image_shape_")


def _check_state(state):
    if set(state) != STATE_KEYS:
        raise SchemaError("the training state does not hold the documented entries")
    plateau = _require(state, "plateau", dict)
    if set(plateau) != PLATEAU_KEYS:
        raise SchemaError("the plateau counters are not the documented ones")
    _number(plateau["best_loss"], "best_loss")
    _number(plateau["best_score"], "best_score")
    _integer(plateau, "no_improvement_count", minimum=0)
    schedule = state["schedule"]
    if schedule is not None:
        if not isinstance(schedule, dict) or set(schedule) != SCHEDULE_KEYS:
            raise SchemaError("the schedule state is not the documented one")
        _number(schedule["reduction"], "schedule reduction")
        if not 0 < schedule["reduction"] <= 1:
            raise SchemaError("the schedule reduction is not in (0, 1]")
        _integer(schedule, "epochs_since_reduction", minimum=0)
    for name in ("samples_seen", "epochs"):
        _integer(state, name, minimum=0)
    _number(state["loss"], "loss", optional=True)
    _numbers(state["loss_curve"], "loss_curve")
    for name in ("validation_scores", "validation_loss_curve"):
        _numbers(state[name], name, optional=True)
    _check_history(state["history"])


def _check_history(history):
    if not isinstance(history, list):
        raise SchemaError("history_ is not a list")
    for record in history:
        if not isinstance(record, dict) or set(record) != set(HISTORY_KEYS):
            raise SchemaError("history_ holds a record without the documented keys")
        _integer(record, "epoch", minimum=1)
        for key in set(HISTORY_KEYS) - {"epoch"}:
            _number(record[key], f"history_ {key}", optional=True)


def _check_layers(params, structure, arrays):
    """Return the layer sizes, after checking that they chain through every weight array."""
    hidden = params.get("hidden_layer_sizes")
    if not isinstance(hidden, list) or not hidden or not all(_is_int(n) and n > 0 for n in hidden):
        raise SchemaError("hidden_layer_sizes is not a list of positive integers")
    if structure["n_layers_"] != len(hidden) + 2:
        raise SchemaError("n_layers_ does not match hidden_layer_sizes")
    _choice(params.get("activation"), ACTIVATIONS, "activation")
    _choice(params.get("solver"), SOLVERS, "solver")
    units = (structure["n_features_in_"], *hidden, structure["n_outputs_"])
    expected = {f"coefs_{i}": (units[i], units[i + 1]) for i in range(len(units) - 1)}
    expected |= {f"intercepts_{i}": (units[i + 1],) for i in range(len(units) - 1)}
    layer_arrays = {name for name in arrays if name.startswith(("coefs_", "intercepts_"))}
    if layer_arrays != set(expected):
        raise SchemaError("the weight arrays do not match the layers")
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise SchemaError(f"{name} has shape {arrays[name].shape}, the layers need {shape}")
    return units


def _check_labels(metadata, structure, arrays):
    label_type = _choice(metadata.get("label_type"), LABEL_TYPES, "label_type")
    classes = arrays.get("classes")
    if classes is None or classes.ndim != 1:
        raise SchemaError("the classes are missing")
    if classes.dtype.kind == "f" and not np.isfinite(classes).all():
        raise SchemaError("the classes include NaN or infinity")
    if len(classes) < 2 or not (classes[1:] > classes[:-1]).all():
        raise SchemaError("the classes are not at least two distinct labels in sorted order")
    n_outputs = structure["n_outputs_"]
    expected_outputs = {"binary": 1, "multiclass": len(classes), "multilabel-indicator": None}
    if label_type == "binary" and len(classes) != 2:
        raise SchemaError("a binary model needs exactly two classes")
    if label_type == "multiclass" and len(classes) < 3:
        raise SchemaError("a multiclass model needs at least three classes")
    if label_type == "multilabel-indicator":
        expected_outputs[label_type] = len(classes)
        if classes.dtype.kind not in "iu" or not np.array_equal(classes, np.arange(len(classes))):
            raise SchemaError("a multilabel model's classes are its label columns 0, 1, ...")
    if n_outputs != expected_outputs[label_type]:
        raise SchemaError(
            f"the output layer has {n_outputs} units, but {len(classes)} {label_type} "
            f"classes need {expected_outputs[label_type]}"
        )
    output = "softmax" if label_type == "multiclass" else "logistic"
    if structure["out_activation_"] != output:
        raise SchemaError(f"a {label_type} model's output is {output}")


def _check_weights(units, arrays):
    dtypes = {arrays[f"coefs_{i}"].dtype for i in range(len(units) - 1)}
    dtypes |= {arrays[f"intercepts_{i}"].dtype for i in range(len(units) - 1)}
    if len(dtypes) != 1:
        raise SchemaError("the weight arrays do not share one dtype")
    for i in range(len(units) - 1):
        for name in (f"coefs_{i}", f"intercepts_{i}"):
            if not np.isfinite(arrays[name]).all():
                raise SchemaError(f"{name} holds NaN or infinite weights")


def _check_optimizer(description, units, arrays):
    names = {name[len("optimizer_") :] for name in arrays if name.startswith("optimizer_")}
    if description is None:
        if names:
            raise SchemaError("optimizer arrays without an optimizer")
        return
    if not isinstance(description, dict):
        raise SchemaError("the optimizer is not described")
    _choice(description.get("kind"), OPTIMIZERS, "optimizer kind")
    optimizer = OPTIMIZERS[description["kind"]]
    scalars = {*optimizer.HYPERPARAMETERS, *optimizer.COUNTERS}
    array_names = set(optimizer.STATE_ARRAYS)
    if set(description) != scalars | {"kind"} or names != array_names:
        raise SchemaError(f"the {description['kind']} state is not the documented one")
    _check_optimizer_scalars(description, optimizer)
    n_params = sum(units[i] * units[i + 1] + units[i + 1] for i in range(len(units) - 1))
    dtype = arrays["coefs_0"].dtype
    for name in array_names:
        state = arrays[f"optimizer_{name}"]
        if state.shape != (n_params,) or state.dtype != dtype:
            raise SchemaError(f"the optimizer's {name} does not match the weights")
        if not np.isfinite(state).all():
            raise SchemaError(f"the optimizer's {name} holds NaN or infinity")


def _check_optimizer_scalars(description, optimizer):
    for name, kind in optimizer.HYPERPARAMETERS.items():
        if kind is bool and not isinstance(description[name], bool):
            raise SchemaError(f"optimizer {name} is not a boolean")
        if kind is not bool:
            _number(description[name], f"optimizer {name}")
    for name in optimizer.COUNTERS:
        _integer(description, name, minimum=0)


def _check_image_shape(shape, n_features, name):
    if shape is None:
        return
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(_is_int(side) and side > 0 for side in shape)
        or shape[0] * shape[1] != n_features
    ):
        raise SchemaError(f"{name} is not (height, width) with height * width == n_features_in_")


# ------------------------------------------------------------ value checks


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def _choice(value, options, name):
    """Return ``value`` if it is one of the string ``options``."""
    if not isinstance(value, str) or value not in options:
        raise SchemaError(f"{name} {str(value)[:40]!r} is not one of {sorted(options)}")
    return value


def _require(mapping, key, kind):
    value = mapping.get(key)
    if not isinstance(value, kind):
        raise SchemaError(f"{key} is missing or not a {kind.__name__}")
    return value


def _integer(mapping, key, minimum):
    value = mapping.get(key)
    if not _is_int(value) or value < minimum:
        raise SchemaError(f"{key} is not an integer >= {minimum}")


def _number(value, name, optional=False):
    if value is None and optional:
        return
    if not isinstance(value, Real) or isinstance(value, bool):
        raise SchemaError(f"{name} is not a number")


def _numbers(values, name, optional=False):
    if values is None and optional:
        return
    if not isinstance(values, list):
        raise SchemaError(f"{name} is not a list of numbers")
    for value in values:
        _number(value, name)
