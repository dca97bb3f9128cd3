"""One optimizer step equals the textbook formula."""

import numpy as np
import pytest

from hdrnn.nn import SGD, Adam


def _arrays(seed=0, n=11):
    rng = np.random.RandomState(seed)
    return rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)


def test_adam_steps_match_the_paper():
    params, g1, g2 = _arrays()
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    adam = Adam(params.size, np.float64, learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps)
    expected = params.copy()
    m = v = np.zeros_like(params)
    for t, g in enumerate([g1, g2], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        expected = expected - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        adam.step(params, g)
    np.testing.assert_allclose(params, expected, rtol=1e-13)
    np.testing.assert_allclose(adam.m, m, rtol=1e-13)
    assert adam.t == 2


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_steps_match_the_textbook(nesterov):
    params, g1, g2 = _arrays(1)
    lr, mu = 0.1, 0.9
    sgd = SGD(params.size, np.float64, learning_rate=lr, momentum=mu, nesterov=nesterov)
    expected = params.copy()
    velocity = np.zeros_like(params)
    for g in (g1, g2):
        velocity = mu * velocity - lr * g
        expected = expected + (mu * velocity - lr * g if nesterov else velocity)
        sgd.step(params, g)
    np.testing.assert_allclose(params, expected, rtol=1e-13)


def test_sgd_without_momentum_is_plain_gradient_descent():
    params, g, _ = _arrays(2)
    start = params.copy()
    SGD(params.size, np.float64, learning_rate=0.5, momentum=0.0, nesterov=False).step(params, g)
    np.testing.assert_allclose(params, start - 0.5 * g)


def test_state_round_trips_through_state_dict():
    params, g1, g2 = _arrays(3)
    adam = Adam(params.size, np.float64, learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    adam.step(params.copy(), g1)
    saved = adam.state_dict()
    first = params.copy()
    adam.step(first, g2)
    adam.load_state(saved)  # back to after one step
    second = params.copy()
    adam.step(second, g2)
    np.testing.assert_array_equal(first, second)
    assert adam.t == 2


def test_float32_state_stays_float32():
    params = np.ones(4, dtype=np.float32)
    adam = Adam(4, np.float32, learning_rate=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    adam.step(params, np.full(4, 0.5, dtype=np.float32))
    assert params.dtype == adam.m.dtype == adam.v.dtype == np.float32
