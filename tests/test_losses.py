"""Output layers and their fused cross-entropy losses."""

import numpy as np
import pytest

from hdrnn.nn import OUTPUT_LOSSES, log_sigmoid, log_softmax


def test_log_softmax_is_finite_for_extreme_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e38, 1e38, 0.0]], dtype=np.float32)
    result = log_softmax(logits)
    assert np.isfinite(result).all()
    assert result[0, 0] == 0 and result[1, 1] == 0
    assert result[0, 1] == pytest.approx(-2e4)


def test_log_sigmoid_is_finite_and_symmetric():
    z = np.array([-1e4, -30.0, 0.0, 30.0, 1e4])
    assert np.isfinite(log_sigmoid(z)).all()
    np.testing.assert_allclose(np.exp(log_sigmoid(z)) + np.exp(log_sigmoid(-z)), 1.0)
    assert log_sigmoid(np.array([-1e4]))[0] == pytest.approx(-1e4)


def _softmax_case(rng):
    logits = rng.normal(scale=3, size=(6, 4))
    Y = np.eye(4)[rng.randint(4, size=6)]
    return logits, Y


def test_softmax_cross_entropy_and_its_gradient(rng):
    logits, Y = _softmax_case(rng)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scale = rng.uniform(size=6)
    scale /= scale.sum()
    dlogits = np.empty_like(logits)
    loss = OUTPUT_LOSSES["softmax"].loss_and_dlogits(logits.copy(), Y, scale, dlogits)
    assert loss == pytest.approx(-(scale * np.log((proba * Y).sum(axis=1))).sum(), rel=1e-12)
    np.testing.assert_allclose(dlogits, scale[:, None] * (proba - Y), rtol=1e-12, atol=1e-15)


def test_sigmoid_cross_entropy_and_its_gradient(rng):
    logits = rng.normal(scale=3, size=(6, 2))
    Y = rng.randint(2, size=(6, 2)).astype(float)
    p = 1 / (1 + np.exp(-logits))
    dlogits = np.empty_like(logits)
    loss = OUTPUT_LOSSES["logistic"].loss_and_dlogits(logits.copy(), Y, 1 / 6, dlogits)
    expected = -(Y * np.log(p) + (1 - Y) * np.log(1 - p)).sum(axis=1).mean()
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(dlogits, (p - Y) / 6, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["softmax", "logistic"])
def test_confidently_wrong_logits_give_a_large_finite_loss(name):
    logits = np.array([[-500.0, 500.0]])
    Y = np.array([[1.0, 0.0]])
    loss = OUTPUT_LOSSES[name].loss_and_dlogits(logits, Y, 1.0, np.empty_like(logits))
    assert np.isfinite(loss) and loss >= 999


@pytest.mark.parametrize("name", ["softmax", "logistic"])
def test_proba_is_exp_of_log_proba(name, rng):
    logits = rng.normal(scale=5, size=(5, 3))
    output = OUTPUT_LOSSES[name]
    np.testing.assert_allclose(output.proba(logits), np.exp(output.log_proba(logits)))
