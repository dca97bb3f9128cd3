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
    adam = Adam(params.size, np.float64, lr, b1, b2, eps)
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
    sgd = SGD(params.size, np.float64, lr, "constant", mu, nesterov, 0.5)
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
    SGD(params.size, np.float64, 0.5, "constant", 0.0, False, 0.5).step(params, g)
    np.testing.assert_allclose(params, start - 0.5 * g)


def test_invscaling_decays_with_samples_seen():
    sgd = SGD(3, np.float64, 0.5, "invscaling", 0.9, True, 0.5)
    sgd.end_epoch(99)
    assert sgd.learning_rate == pytest.approx(0.05)


def test_adaptive_divides_by_five_until_tiny():
    sgd = SGD(3, np.float64, 1e-5, "adaptive", 0.9, True, 0.5)
    assert sgd.reduce_on_plateau() is False
    assert sgd.learning_rate == pytest.approx(2e-6)
    assert sgd.reduce_on_plateau() is False
    assert sgd.reduce_on_plateau() is True  # 4e-7 <= 1e-6: stop


@pytest.mark.parametrize("schedule", ["constant", "invscaling"])
def test_other_schedules_stop_at_a_plateau(schedule):
    assert SGD(3, np.float64, 0.1, schedule, 0.9, True, 0.5).reduce_on_plateau() is True
    assert Adam(3, np.float64, 0.1, 0.9, 0.999, 1e-8).reduce_on_plateau() is True


def test_float32_state_stays_float32():
    params = np.ones(4, dtype=np.float32)
    adam = Adam(4, np.float32, 0.1, 0.9, 0.999, 1e-8)
    adam.step(params, np.full(4, 0.5, dtype=np.float32))
    assert params.dtype == adam.m.dtype == adam.v.dtype == np.float32
