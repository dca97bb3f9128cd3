"""Image shapes and bounded image reading (hdrnn._utils.images)."""

import pytest

from hdrnn._utils.images import default_image_shape, image_shape


def test_default_image_shape_is_square_or_none():
    assert default_image_shape(784) == (28, 28)
    assert default_image_shape(64) == (8, 8)
    assert default_image_shape(63) is None


def test_image_shape_takes_the_given_shape_or_a_square():
    assert image_shape(784) == (28, 28)
    assert image_shape(12, (3, 4)) == (3, 4)
    with pytest.raises(ValueError, match="63 features are not a square image"):
        image_shape(63)
    with pytest.raises(ValueError, match=r"image_shape=\(3, 3\) does not match"):
        image_shape(12, (3, 3))
