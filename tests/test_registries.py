"""Every list of names has one source: the registries and the code that reads them agree."""

import numpy as np
import pytest

from hdrnn import DigitMLPClassifier
from hdrnn._training.state import (
    HISTORY_KEYS,
    SOLVERS,
    STATE_KEYS,
    STOCHASTIC_SOLVERS,
    TrainingConfig,
    TrainingState,
)
from hdrnn.estimator._constraints import PARAMETER_CONSTRAINTS
from hdrnn.nn import OPTIMIZERS, SCHEDULES, LearningRateSchedule, PlateauTracker
from hdrnn.nn.schedules import SCHEDULE_KINDS


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_an_optimizers_state_is_what_its_class_declares(kind):
    optimizer = OPTIMIZERS[kind]
    hyperparameters = {
        name: (True if kind is bool else 0.5) for name, kind in optimizer.HYPERPARAMETERS.items()
    }
    state = optimizer(7, np.float32, **hyperparameters).state_dict()
    assert set(state) == {*optimizer.HYPERPARAMETERS, *optimizer.COUNTERS, *optimizer.STATE_ARRAYS}
    assert all(state[name].shape == (7,) for name in optimizer.STATE_ARRAYS)
    rebuilt = optimizer.from_state(state)
    assert rebuilt.state_dict().keys() == state.keys()


def test_every_stochastic_solver_names_every_hyperparameter_of_its_optimizer():
    params = DigitMLPClassifier().get_params()
    for solver, (optimizer, parameter_of) in STOCHASTIC_SOLVERS.items():
        assert set(parameter_of) == set(optimizer.HYPERPARAMETERS), solver
        assert set(parameter_of.values()) <= set(params), solver
        assert optimizer in OPTIMIZERS.values()


def test_the_solver_parameter_accepts_exactly_the_solvers():
    (options,) = PARAMETER_CONSTRAINTS["solver"]
    assert set(options.options) == set(SOLVERS)
    (schedules,) = PARAMETER_CONSTRAINTS["learning_rate"]
    assert set(schedules.options) == set(SCHEDULES) == set(SCHEDULE_KINDS)


def _config(**changes):
    params = {**DigitMLPClassifier().get_params(), **changes}
    return TrainingConfig.from_params(params, batch_size=10)


def test_the_training_state_dict_holds_one_entry_per_field():
    state = TrainingState.fresh(_config())
    state.begin_run(_config(), 5, np.float64, incremental=False, validated=True)
    state.record(loss=1.0, seconds=0.1)
    scalars = state.state_dict()["scalars"]
    assert set(scalars) == STATE_KEYS
    assert set(scalars["history"][0]) == set(HISTORY_KEYS)
    assert set(scalars["plateau"]) == set(PlateauTracker.STATE_KEYS)
    assert set(scalars["schedule"]) == set(LearningRateSchedule.STATE_KEYS)


@pytest.mark.parametrize("solver", sorted(STOCHASTIC_SOLVERS))
def test_a_state_round_trips_through_its_dict(solver):
    config = _config(solver=solver)
    state = TrainingState.fresh(config)
    state.begin_run(config, 5, np.float32, incremental=False, validated=False)
    rebuilt = TrainingState.from_state_dict(state.state_dict(), config)
    assert type(rebuilt.optimizer) is type(state.optimizer)
    assert rebuilt.optimizer.state_dict().keys() == state.optimizer.state_dict().keys()
