"""The optional compiled kernels give bit-identical results to the NumPy code they replace."""

import os
import subprocess
import sys

import numpy as np
import pytest

from hdrnn import DigitMLPClassifier
from hdrnn.nn import (
    Adam,
    Architecture,
    Workspace,
    _kernels,
    compiled_kernels,
    init_params,
    loss_and_grads,
)

pytest.importorskip("numba")

DTYPES = [np.float32, np.float64]


def test_the_kernels_load_when_numba_is_installed():
    assert compiled_kernels() is not None


def _adam_problem(dtype, seed, n=10_001):
    """Start parameters, three gradients of very different scales, and a fresh Adam.

    ``n`` is not a multiple of any vector width, so the loops' remainders run too.
    """
    rng = np.random.default_rng(seed)
    start = rng.normal(size=n).astype(dtype)
    gradients = [rng.normal(scale=10.0**k, size=n).astype(dtype) for k in (-6, 0, 3)]

    def new_adam():
        return Adam(n, dtype, learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8)

    return start, gradients, new_adam


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_kernel_is_bit_identical_to_the_numpy_passes(dtype):
    start, gradients, new_adam = _adam_problem(dtype, seed=0)
    results = {}
    for compiled in (True, False):
        params = start.copy()
        adam = new_adam()
        for g in gradients:
            adam.step(params, g, compiled_kernels() if compiled else None)
        results[compiled] = (params, adam.grad_sum, adam.sq_grad_sum)
    for fused, plain in zip(results[True], results[False]):
        np.testing.assert_array_equal(fused, plain)
        assert fused.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_kernel_gives_the_same_gradient_and_loss(dtype):
    arch = Architecture((20, 12, 6, 3), "relu", "softmax")
    rng = np.random.RandomState(0)
    params = init_params(arch, rng, dtype)
    X = rng.normal(size=(16, 20)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[rng.randint(3, size=16)]
    results = {}
    for compiled in (True, False):
        workspace = Workspace(arch, 16, dtype)
        kernels = compiled_kernels() if compiled else None
        loss, _ = loss_and_grads(
            arch, params, X, Y, workspace=workspace, alpha=0.5, kernels=kernels
        )
        results[compiled] = loss, workspace.grads.copy()
    np.testing.assert_array_equal(results[True][1], results[False][1])
    # Only the sum of squares is accumulated differently (float64 in the kernel).
    np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_is_identical_with_and_without_the_kernels(small_digits, dtype):
    X, y = small_digits
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, alpha=0.01)
    with _kernels.use_kernels(True):
        fused = DigitMLPClassifier(**params).fit(X.astype(dtype), y)
    with _kernels.use_kernels(False):
        plain = DigitMLPClassifier(**params).fit(X.astype(dtype), y)
    for a, b in zip(fused.coefs_ + fused.intercepts_, plain.coefs_ + plain.intercepts_):
        np.testing.assert_array_equal(a, b)


def _kernels_in_a_fresh_interpreter(env_value, block_numba=False):
    code = (
        "import sys\n"
        + ("sys.modules['numba'] = None\n" if block_numba else "")
        + "from hdrnn.nn import _kernels\n"
        "print(_kernels.compiled_kernels() is not None)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HDRNN_NUMBA"}
    if env_value is not None:
        env["HDRNN_NUMBA"] = env_value
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return result.stdout.strip() == "True"


def test_the_environment_variable_switches_the_kernels_off():
    assert _kernels_in_a_fresh_interpreter(None)
    assert not _kernels_in_a_fresh_interpreter("0")


def test_without_numba_training_falls_back_to_numpy(small_digits, monkeypatch):
    assert not _kernels_in_a_fresh_interpreter(None, block_numba=True)
    # In this process too: with numba unimportable, get() is None and fit works.
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(_kernels, "_kernels", _kernels._NOT_LOADED)
    assert compiled_kernels() is None
    X, y = small_digits
    DigitMLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)


def test_kernels_compile_without_a_writable_cache(monkeypatch):
    # numba refuses cache=True where it finds no writable cache directory
    # (read-only installs); the kernels are then compiled in every process.
    import numba

    real_njit = numba.njit

    def njit_without_cache(*args, cache=False, **options):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return real_njit(*args, **options)

    monkeypatch.setattr(numba, "njit", njit_without_cache)
    monkeypatch.setattr(_kernels, "_kernels", _kernels._NOT_LOADED)
    kernels = compiled_kernels()
    assert kernels is not None
    params, grads = np.ones(5), np.full(5, 0.5)
    state = np.zeros(5), np.zeros(5)
    kernels.adam_step(params, grads, *state, (0.9, 0.999, 1e-8, 0.1), 0, 0.0)
    assert np.all(params < 1)


def _loss_and_grads_both_ways(arch, dtype, n_rows, sample_weight=None, poison=None):
    rng = np.random.RandomState(1)
    params = init_params(arch, rng, dtype)
    X = rng.normal(size=(n_rows, arch.layer_units[0])).astype(dtype)
    if poison is not None:
        X[0, 0] = poison
    Y = np.eye(arch.layer_units[-1], dtype=dtype)[rng.randint(arch.layer_units[-1], size=n_rows)]
    results = {}
    for compiled in (True, False):
        workspace = Workspace(arch, 32, dtype)
        loss, grads = loss_and_grads(
            arch,
            params,
            X,
            Y,
            workspace=workspace,
            sample_weight=sample_weight,
            alpha=0.1,
            kernels=compiled_kernels() if compiled else None,
        )
        results[compiled] = loss, grads.copy(), workspace.rows(n_rows).activations[0].copy()
    return results


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows", [1, 7, 32])
@pytest.mark.parametrize("n_classes", [2, 10, 13])
def test_fused_step_kernels_give_bit_identical_gradients(dtype, n_rows, n_classes):
    # bias + ReLU, ReLU's derivative, the bias gradients and the softmax
    # cross-entropy; a part-full batch and class counts around NumPy's 8-wide sums
    arch = Architecture((20, 12, 6, n_classes), "relu", "softmax")
    weights = np.random.RandomState(2).uniform(0.1, 2.0, n_rows).astype(dtype)
    for sample_weight in (None, weights):
        results = _loss_and_grads_both_ways(arch, dtype, n_rows, sample_weight)
        np.testing.assert_array_equal(results[True][1], results[False][1])
        np.testing.assert_array_equal(results[True][2], results[False][2])
        # the loss is added up in another order (float64 in the kernel)
        np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-6)


@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_fused_step_kernels_let_non_finite_values_through(poison):
    # divergence detection reads the loss: the kernels must not turn NaN into 0
    arch = Architecture((20, 12, 6, 10), "relu", "softmax")
    results = _loss_and_grads_both_ways(arch, np.float32, 8, poison=poison)
    assert not np.isfinite(results[True][0])
    assert not np.isfinite(results[False][0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_training_is_identical_with_and_without_the_kernels(small_digits, dtype):
    # dropout, sample weights, a part-full last batch and prediction all go
    # through the fused ReLU and loss kernels
    X, y = small_digits
    weights = np.random.RandomState(0).uniform(0.5, 1.5, len(y))
    params = dict(hidden_layer_sizes=(24, 12), max_iter=4, random_state=0, alpha=0.01)
    models = {}
    for compiled in (True, False):
        with _kernels.use_kernels(compiled):
            model = DigitMLPClassifier(**params, dropout=0.2, batch_size=50)
            models[compiled] = model.fit(X.astype(dtype), y, sample_weight=weights)
            probabilities = model.predict_proba(X.astype(dtype))
        models[compiled] = (model, probabilities)
    (fused, fused_proba), (plain, plain_proba) = models[True], models[False]
    for a, b in zip(fused.coefs_ + fused.intercepts_, plain.coefs_ + plain.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fused_proba, plain_proba)


@pytest.mark.parametrize("input_dtype", [np.float64, np.uint8, np.int64])
def test_prediction_casts_other_input_dtypes_identically(small_digits, input_dtype):
    # the kernel casts each chunk and adds it up in one pass (the NaN check)
    X, y = small_digits
    model = DigitMLPClassifier((16,), max_iter=3, random_state=0).fit(X.astype(np.float32), y)
    X_other = X.astype(input_dtype)
    probabilities = {}
    for compiled in (True, False):
        with _kernels.use_kernels(compiled):
            probabilities[compiled] = model.predict_proba(X_other)
            bad = X_other.astype(np.float64)
            bad[3, 5] = np.nan
            with pytest.raises(ValueError, match="NaN"):
                model.predict_proba(bad)
    np.testing.assert_array_equal(probabilities[True], probabilities[False])


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_with_the_l2_gradient_inside_equals_adding_it_first(dtype):
    # step_with_l2 (one compiled loop) against add_l2 then step, the NumPy reference
    from hdrnn.nn.regularization import add_l2

    start, gradients, new_adam = _adam_problem(dtype, seed=3)
    n_coefs, penalty = 9_000, 0.37
    results = {}
    for fused in (True, False):
        params = start.copy()
        adam = new_adam()
        terms = []
        for g in gradients:
            g = g.copy()
            if fused:
                terms.append(adam.step_with_l2(params, g, n_coefs, penalty, compiled_kernels()))
            else:
                terms.append(
                    add_l2(params[:n_coefs], g[:n_coefs], penalty, np.empty(n_coefs, dtype))
                )
                adam.step(params, g)
        results[fused] = params, adam.grad_sum, adam.sq_grad_sum, terms
    for fused, plain in zip(results[True][:3], results[False][:3]):
        np.testing.assert_array_equal(fused, plain)
    np.testing.assert_allclose(results[True][3], results[False][3], rtol=1e-6)
