"""Shared small data for the tests: scikit-learn's bundled 8x8 digits (no network)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits():
    """All 1797 digits, pixels scaled to [0, 1], float64."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def digits_split(digits):
    """A stratified 75/25 train/test split of the digits."""
    X, y = digits
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="session")
def small_digits(digits):
    """300 digits: enough to train on in a fraction of a second."""
    X, y = digits
    return X[:300], y[:300]


@pytest.fixture
def rng():
    return np.random.RandomState(0)
