"""What hdrnn says about a fitted model, defined once: its layers, its input image, its labels.

``hdrnn predict``, ``info`` and ``serve``, model files and the ONNX export
all describe a model in these terms. Each reads public fitted attributes
only.
"""

import numpy as np

from hdrnn._utils.images import default_image_shape


def layer_units(model):
    """Units per layer, input first: ``[784, 128, 64, 10]``."""
    return [model.n_features_in_, *(coef.shape[1] for coef in model.coefs_)]


def architecture(model):
    """The network in one phrase: ``"784-128-64-10 (relu)"``."""
    return "-".join(map(str, layer_units(model))) + f" ({model.activation})"


def input_image_shape(model):
    """``(height, width)`` of the images the model reads, or None for other features.

    The shape it trained with (augmentation needs one), else its
    ``image_shape`` parameter, else square when the row length is a square.
    """
    shape = getattr(model, "image_shape_", None) or getattr(model, "image_shape", None)
    if shape is None:
        shape = default_image_shape(model.n_features_in_)
    return None if shape is None else tuple(int(side) for side in shape)


def plain(value):
    """A class label as a plain Python value (``np.int64(3)`` becomes ``3``), for JSON."""
    return value.item() if isinstance(value, np.generic) else value
