"""The core network: gradients checked by finite differences, forward pass by hand."""

import numpy as np
import pytest
import scipy.sparse as sp

import hdrnn.nn.prediction as prediction
from hdrnn.nn import (
    ACTIVATIONS,
    Architecture,
    Workspace,
    draw_dropout_masks,
    init_params,
    loss_and_grads,
    predict_logits,
    unflatten,
)


def _problem(output, n_samples=7, n_features=5, n_outputs=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    if output == "softmax":
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    else:  # independent 0/1 labels, as in multilabel problems
        Y = rng.randint(2, size=(n_samples, n_outputs)).astype(float)
    return X, Y


def _loss(arch, params, X, Y, sample_weight, alpha):
    workspace = Workspace(arch, X.shape[0], np.float64)
    loss, grads = loss_and_grads(
        arch, params, X, Y, workspace=workspace, sample_weight=sample_weight, alpha=alpha
    )
    assert grads is workspace.grads  # the workspace's buffer: no copy
    return loss, grads


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("output", ["softmax", "logistic"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences(activation, output, alpha, weighted):
    X, Y = _problem(output)
    arch = Architecture((5, 4, 3, 3), activation, output)
    params = init_params(arch, np.random.RandomState(1), np.float64)
    sample_weight = np.random.RandomState(2).uniform(0.1, 3, size=len(X)) if weighted else None

    _, grads = _loss(arch, params, X, Y, sample_weight, alpha)
    numeric = np.empty_like(params)
    step = 1e-6
    for k in range(params.size):
        shifted = params.copy()
        shifted[k] += step
        up, _ = _loss(arch, shifted, X, Y, sample_weight, alpha)
        shifted[k] -= 2 * step
        down, _ = _loss(arch, shifted, X, Y, sample_weight, alpha)
        numeric[k] = (up - down) / (2 * step)
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-8)


def _textbook_forward(X, coefs, intercepts, hidden):
    A = X
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = A @ W + b
        A = Z if i == len(coefs) - 1 else hidden(Z)
    return A


TEXTBOOK = {
    "identity": lambda z: z,
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.exp(z) - 1),
    "gelu": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_predict_logits_matches_textbook_forward_pass(activation):
    X, _ = _problem("softmax", n_samples=11)
    arch = Architecture((5, 6, 4, 3), activation, "softmax")
    coefs, intercepts = unflatten(arch, init_params(arch, np.random.RandomState(0), np.float64))
    expected = _textbook_forward(X, coefs, intercepts, TEXTBOOK[activation])
    np.testing.assert_allclose(predict_logits(arch, X, coefs, intercepts), expected, rtol=1e-12)


def test_loss_matches_textbook_cross_entropy_with_l2():
    X, Y = _problem("softmax")
    arch = Architecture((5, 4, 3), "tanh", "softmax")
    params = init_params(arch, np.random.RandomState(0), np.float64)
    coefs, intercepts = unflatten(arch, params)
    logits = _textbook_forward(X, coefs, intercepts, np.tanh)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    w = np.arange(1.0, len(X) + 1)
    alpha = 0.5
    expected = -(w * np.log((proba * Y).sum(axis=1))).sum() / w.sum()
    expected += 0.5 * alpha * sum((c**2).sum() for c in coefs) / w.sum()
    loss, _ = _loss(arch, params, X, Y, w, alpha)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_predict_logits_in_chunks_equals_one_pass(monkeypatch):
    X, _ = _problem("softmax", n_samples=50)
    arch = Architecture((5, 8, 3), "relu", "softmax")
    coefs, intercepts = unflatten(arch, init_params(arch, np.random.RandomState(0), np.float64))
    whole = predict_logits(arch, X, coefs, intercepts)
    monkeypatch.setattr(prediction, "PREDICT_CHUNK_ROWS", 7)
    np.testing.assert_allclose(predict_logits(arch, X, coefs, intercepts), whole, rtol=1e-12)
    sparse = sp.csr_matrix(X)
    np.testing.assert_allclose(predict_logits(arch, sparse, coefs, intercepts), whole, rtol=1e-12)


def test_init_params_draws_like_mlpclassifier():
    # Glorot uniform: weights then biases per layer, bound sqrt(6 / (fan_in + fan_out)).
    arch = Architecture((5, 4, 3), "relu", "softmax")
    params = init_params(arch, np.random.RandomState(3), np.float32)
    rng = np.random.RandomState(3)
    bound0, bound1 = np.sqrt(6 / 9), np.sqrt(6 / 7)
    W0, b0 = rng.uniform(-bound0, bound0, (5, 4)), rng.uniform(-bound0, bound0, 4)
    W1, b1 = rng.uniform(-bound1, bound1, (4, 3)), rng.uniform(-bound1, bound1, 3)
    expected = np.concatenate([W0.ravel(), W1.ravel(), b0, b1]).astype(np.float32)
    assert params.dtype == np.float32
    np.testing.assert_array_equal(params, expected)


def test_unflatten_gives_views_in_sklearn_pack_order():
    arch = Architecture((3, 2, 4), "relu", "softmax")
    flat = np.arange(arch.n_params, dtype=float)
    coefs, intercepts = unflatten(arch, flat)
    assert [c.shape for c in coefs] == [(3, 2), (2, 4)]
    assert [b.shape for b in intercepts] == [(2,), (4,)]
    assert coefs[1][0, 0] == 6 and intercepts[0][0] == 14
    flat[14] = -1
    assert intercepts[0][0] == -1  # a view, not a copy


def test_workspace_serves_a_short_last_batch():
    X, Y = _problem("softmax", n_samples=10)
    arch = Architecture((5, 4, 3), "relu", "softmax")
    params = init_params(arch, np.random.RandomState(0), np.float64)
    workspace = Workspace(arch, 10, np.float64)
    short, _ = loss_and_grads(arch, params, X[:3], Y[:3], workspace=workspace)
    expected, expected_grads = _loss(arch, params, X[:3], Y[:3], None, 0.0)
    assert short == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(workspace.grads, expected_grads, rtol=1e-13)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_gradient_with_dropout_matches_finite_differences(activation):
    X, Y = _problem("softmax")
    arch = Architecture((5, 4, 3, 3), activation, "softmax")
    params = init_params(arch, np.random.RandomState(1), np.float64)
    workspace = Workspace(arch, len(X), np.float64, dropout=(0.5, 0.3))
    draw_dropout_masks(workspace, len(X), np.random.default_rng(0))
    masks = [m.copy() for m in workspace.masks]

    def loss(p):
        for mask, saved in zip(workspace.masks, masks):
            mask[...] = saved  # the same units dropped at every evaluation
        return loss_and_grads(arch, p, X, Y, workspace=workspace, alpha=0.1)[0]

    loss(params)
    grads = workspace.grads.copy()
    numeric = np.empty_like(params)
    for k in range(params.size):
        shifted = params.copy()
        shifted[k] += 1e-6
        up = loss(shifted)
        shifted[k] -= 2e-6
        numeric[k] = (up - loss(shifted)) / 2e-6
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-8)


def test_dropout_masks_are_inverted_bernoulli():
    arch = Architecture((3, 200, 100, 2), "relu", "softmax")
    workspace = Workspace(arch, 500, np.float32, dropout=(0.25, 0.0))
    draw_dropout_masks(workspace, 500, np.random.default_rng(0))
    mask = workspace.masks[0]
    assert workspace.masks[1] is None and workspace.dropped[1] is None  # p = 0: no buffers
    assert set(np.unique(mask)) == {0.0, np.float32(1 / 0.75)}
    assert (mask == 0).mean() == pytest.approx(0.25, abs=0.01)
    assert mask.mean() == pytest.approx(1.0, abs=0.02)  # expected activation unchanged


def test_he_init_bounds_and_zero_biases():
    arch = Architecture((400, 300, 10), "relu", "softmax")
    coefs, intercepts = unflatten(
        arch, init_params(arch, np.random.RandomState(0), np.float64, "he")
    )
    for W, b in zip(coefs, intercepts):
        bound = np.sqrt(6 / W.shape[0])
        assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
        assert not b.any()
