"""The epoch loop and the plateau bookkeeping of the core."""

import math
import threading

import numpy as np
import pytest

from hdrnn.nn import SGD, Architecture, PlateauTracker, Workspace, init_params, run_epoch


def _setup(n_samples=20, batch_size=6, lr=0.1):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_samples, 4))
    Y = np.eye(3)[rng.randint(3, size=n_samples)]
    arch = Architecture((4, 5, 3), "relu", "softmax")
    params = init_params(arch, rng, np.float64)
    optimizer = SGD(arch.n_params, np.float64, lr, 0.0, False)
    return X, Y, arch, params, optimizer, Workspace(arch, batch_size, np.float64)


def test_epoch_loss_is_the_size_weighted_mean_of_batch_losses():
    X, Y, arch, params, _, workspace = _setup()
    frozen = SGD(arch.n_params, np.float64, 0.0, 0.0, False)  # lr 0
    rows = np.arange(20)
    result = run_epoch(arch, params, X, Y, None, rows, 6, 0.0, frozen, workspace, None)
    whole = run_epoch(
        arch, params, X, Y, None, rows, 20, 0.0, frozen, Workspace(arch, 20, float), None
    )
    assert result.diverged_batch is None
    assert result.loss == pytest.approx(whole.loss, rel=1e-12)


def test_rows_are_shuffled_once_per_epoch():
    X, Y, arch, params, optimizer, workspace = _setup()
    rows = np.arange(20)
    run_epoch(
        arch, params, X, Y, None, rows, 6, 0.0, optimizer, workspace, np.random.RandomState(5)
    )
    expected = np.arange(20)
    np.random.RandomState(5).shuffle(expected)
    np.testing.assert_array_equal(rows, expected)


def test_a_non_finite_batch_stops_the_epoch_and_names_the_batch():
    X, Y, arch, params, optimizer, workspace = _setup()
    X = X.copy()
    X[13] = np.inf  # row 13 sits in the third batch of 6
    before = params.copy()
    result = run_epoch(arch, params, X, Y, None, np.arange(20), 6, 0.0, optimizer, workspace, None)
    assert math.isnan(result.loss)
    assert result.diverged_batch == 2
    assert np.isfinite(params).all() and not np.array_equal(params, before)


def test_a_batch_with_zero_weight_is_skipped():
    X, Y, arch, params, optimizer, workspace = _setup()
    weights = np.ones(20)
    weights[:6] = 0.0  # the whole first batch
    skipped = params.copy()
    run_epoch(arch, skipped, X, Y, weights, np.arange(20), 6, 0.0, optimizer, workspace, None)
    reference = params.copy()
    optimizer2 = SGD(arch.n_params, np.float64, 0.1, 0.0, False)
    rows = np.arange(6, 20)
    run_epoch(arch, reference, X, Y, weights, rows, 6, 0.0, optimizer2, workspace, None)
    np.testing.assert_allclose(skipped, reference, rtol=1e-12)


def test_plateau_tracker_counts_like_mlpclassifier():
    tracker = PlateauTracker(tol=0.1)
    for loss, expected_count in [(1.0, 0), (0.95, 1), (0.80, 0), (0.79, 1), (0.85, 2)]:
        tracker.observe_loss(loss)
        assert tracker.no_improvement_count == expected_count
    assert tracker.best_loss == 0.79

    tracker = PlateauTracker(tol=0.01)
    assert tracker.observe_score(0.5) is True
    assert tracker.observe_score(0.505) is True  # best so far, but not by tol
    assert tracker.no_improvement_count == 1
    assert tracker.observe_score(0.4) is False
    assert tracker.no_improvement_count == 2


def _noisy_augment(X_batch, rng):
    X_batch += rng.normal(scale=0.1, size=X_batch.shape)


def test_background_augmentation_trains_exactly_like_inline_augmentation():
    results = []
    for background in (False, True):
        X, Y, arch, params, optimizer, _ = _setup(n_samples=50)
        X_before = X.copy()
        workspace = Workspace(arch, 6, np.float64, n_input_buffers=3)
        for _ in range(3):  # several epochs: the buffers rotate through every slot
            run_epoch(
                arch,
                params,
                X,
                Y,
                None,
                np.arange(50),
                6,
                0.0,
                optimizer,
                workspace,
                np.random.RandomState(1),
                augment=_noisy_augment,
                augment_rng=np.random.default_rng(2),
                augment_in_background=background,
            )
        results.append(params)
        np.testing.assert_array_equal(X, X_before)  # only copies were augmented
    np.testing.assert_array_equal(results[0], results[1])


def test_an_error_in_the_augmentation_thread_reaches_the_caller():
    X, Y, arch, params, optimizer, _ = _setup()
    workspace = Workspace(arch, 6, np.float64, n_input_buffers=3)

    def broken(X_batch, rng):
        raise RuntimeError("bad distortion")

    with pytest.raises(RuntimeError, match="bad distortion"):
        run_epoch(
            arch,
            params,
            X,
            Y,
            None,
            np.arange(20),
            6,
            0.0,
            optimizer,
            workspace,
            None,
            augment=broken,
            augment_rng=None,
        )
    assert not any(t.name == "hdrnn-augment" for t in threading.enumerate())
