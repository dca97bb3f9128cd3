"""The epoch loop and the plateau bookkeeping of the core."""

import math

import numpy as np
import pytest

from hdrnn.nn import (
    SGD,
    Architecture,
    PlateauTracker,
    TrainingStep,
    Workspace,
    init_params,
    iter_batches,
    run_epoch,
)


def _setup(n_samples=20, batch_size=6, lr=0.1):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_samples, 4))
    Y = np.eye(3)[rng.randint(3, size=n_samples)]
    arch = Architecture((4, 5, 3), "relu", "softmax")
    params = init_params(arch, rng, np.float64)
    optimizer = SGD(arch.n_params, np.float64, learning_rate=lr, momentum=0.0, nesterov=False)
    workspace = Workspace(arch, batch_size, np.float64)
    return X, Y, params, TrainingStep(arch, optimizer, workspace)


def _epoch(params, X, Y, step, rows=None, batch_size=6, sample_weight=None):
    rows = np.arange(len(X)) if rows is None else rows
    batches = iter_batches(X, rows, batch_size, step.workspace.X_buffers)
    return run_epoch(params, batches, step, Y, sample_weight)


def test_epoch_loss_is_the_size_weighted_mean_of_batch_losses():
    X, Y, params, step = _setup()
    frozen = SGD(step.arch.n_params, np.float64, learning_rate=0.0, momentum=0.0, nesterov=False)
    small = TrainingStep(step.arch, frozen, step.workspace)
    whole = TrainingStep(step.arch, frozen, Workspace(step.arch, 20, np.float64))
    result = _epoch(params, X, Y, small)
    reference = _epoch(params, X, Y, whole, batch_size=20)
    assert result.diverged_batch is None
    assert result.loss == pytest.approx(reference.loss, rel=1e-12)


def test_batches_take_the_rows_in_order_through_rotating_buffers():
    X = np.arange(14.0).reshape(7, 2)
    buffers = [np.empty((3, 2)), np.empty((3, 2))]
    batches = list(iter_batches(X, np.array([6, 0, 5, 1, 4, 2, 3]), 3, buffers))
    assert [list(rows) for rows, _ in batches] == [[6, 0, 5], [1, 4, 2], [3]]
    assert batches[0][1].base is buffers[0] and batches[1][1].base is buffers[1]
    assert batches[2][1].base is buffers[0]
    np.testing.assert_array_equal(batches[2][1], X[[3]])


def test_a_non_finite_batch_stops_the_epoch_and_names_the_batch():
    X, Y, params, step = _setup()
    X = X.copy()
    X[13] = np.inf  # row 13 sits in the third batch of 6
    before = params.copy()
    result = _epoch(params, X, Y, step)
    assert math.isnan(result.loss)
    assert result.diverged_batch == 2
    assert np.isfinite(params).all() and not np.array_equal(params, before)


def test_a_batch_with_zero_weight_is_skipped():
    X, Y, params, step = _setup()
    weights = np.ones(20)
    weights[:6] = 0.0  # the whole first batch
    skipped = params.copy()
    _epoch(skipped, X, Y, step, sample_weight=weights)
    reference = params.copy()
    _, _, _, fresh = _setup()
    _epoch(reference, X, Y, fresh, rows=np.arange(6, 20), sample_weight=weights)
    np.testing.assert_allclose(skipped, reference, rtol=1e-12)


def test_a_training_step_applies_the_optimizer_only_to_finite_losses():
    X, Y, params, step = _setup()
    before = params.copy()
    X_bad = X[:6].copy()
    X_bad[0, 0] = np.nan
    assert math.isnan(step(params, X_bad, Y[:6]))
    np.testing.assert_array_equal(params, before)
    assert math.isfinite(step(params, X[:6], Y[:6]))
    assert not np.array_equal(params, before)


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


def test_plateau_tracker_state_round_trips():
    tracker = PlateauTracker(tol=0.1)
    for loss in (1.0, 0.95, 0.99):
        tracker.observe_loss(loss)
    restored = PlateauTracker(tol=0.1)
    restored.load_state(tracker.state_dict())
    assert (
        restored.state_dict()
        == tracker.state_dict()
        == {
            "best_loss": 0.95,
            "best_score": -math.inf,
            "no_improvement_count": 2,
        }
    )
