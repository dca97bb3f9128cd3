"""Model-file formats of earlier hdrnn versions, and how each is upgraded by one step.

Every change to the layout of a model file bumps :data:`FORMAT_VERSION` and
adds a migration here, so that files written by any earlier version keep
loading. A migration takes ``(metadata, arrays)`` of its version and returns
them in the next version's layout; anything that is not a well-formed file
of its version is left as it is, for the checks that follow to refuse.
"""

import math

# The document type written into every file.
FORMAT_NAME = "hdrnn-model"

# Format 2 stores Adam's moments as decayed sums (see hdrnn.nn.Adam); format 3
# stores the training state (hdrnn._training.state.TrainingState) as one document.
FORMAT_VERSION = 3

# What format 3 calls "structure": the fitted attributes beside the weights
# and the training state, with the value an older file gets.
STRUCTURE_DEFAULTS = {
    "n_features_in_": None,
    "n_layers_": None,
    "n_outputs_": None,
    "out_activation_": None,
    "image_shape_": None,
    "dead_units_fraction_": None,
    "interrupted_": False,
}


def adam_moments_to_decayed_sums(metadata, arrays):
    """Format 1 -> 2: Adam's ``m`` and ``v`` become ``grad_sum`` and ``sq_grad_sum``."""
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


def fitted_attributes_to_state(metadata, arrays):
    """Format 2 -> 3: the fitted attributes become the structure and the training state.

    Format 2 kept neither the plateau counter nor the schedule's reductions;
    the loaded model starts them afresh, as format 2's loader did.
    """
    fitted, optimizer = metadata.get("fitted"), metadata.get("optimizer")
    # format 3 also drops input_dtype: it is the weights' dtype
    dropped = ("fitted", "optimizer", "input_dtype")
    metadata = {key: value for key, value in metadata.items() if key not in dropped}
    metadata["format_version"] = 3
    if not isinstance(fitted, dict):
        return metadata, arrays
    metadata["structure"] = {
        name: fitted.get(name, default) for name, default in STRUCTURE_DEFAULTS.items()
    }
    best_loss, best_score = fitted.get("best_loss_"), fitted.get("best_validation_score_")
    metadata["state"] = {
        "plateau": {
            "best_loss": math.inf if best_loss is None else best_loss,
            "best_score": -math.inf if best_score is None else best_score,
            "no_improvement_count": 0,
        },
        "schedule": None,
        "optimizer": optimizer,
        "loss_curve": fitted.get("loss_curve_"),
        "validation_scores": fitted.get("validation_scores_"),
        "validation_loss_curve": fitted.get("validation_loss_curve_"),
        "history": fitted.get("history_"),
        "samples_seen": fitted.get("t_"),
        "epochs": fitted.get("n_iter_"),
        "loss": fitted.get("loss_"),
    }
    return metadata, arrays


# Migrations from older format versions: {version: function(metadata, arrays)
# -> (metadata, arrays)} upgrading a file of that version by one step.
MIGRATIONS = {1: adam_moments_to_decayed_sums, 2: fitted_attributes_to_state}
