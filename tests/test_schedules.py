"""Learning-rate schedules: each kind's formula, warm-up and plateau reactions."""

import itertools
import math

import pytest

from hdrnn.nn import LearningRateSchedule


def test_constant_is_constant():
    schedule = LearningRateSchedule("constant", 0.1)
    assert [schedule.rate(epoch, 1000 * epoch) for epoch in range(3)] == [0.1] * 3


def test_invscaling_decays_with_samples_seen_like_mlpclassifier():
    schedule = LearningRateSchedule("invscaling", 0.5, power_t=0.5)
    assert schedule.rate(0, 0) == 0.5  # MLPClassifier starts at learning_rate_init
    assert schedule.rate(1, 99) == pytest.approx(0.05)


def test_cosine_runs_from_the_initial_rate_to_zero():
    schedule = LearningRateSchedule("cosine", 0.2, total_epochs=10)
    rates = [schedule.rate(epoch, 0) for epoch in range(11)]
    assert rates[0] == 0.2
    assert rates[5] == pytest.approx(0.1)
    assert rates[10] == pytest.approx(0.0, abs=1e-12)
    assert all(a > b for a, b in itertools.pairwise(rates))


def test_warmup_ramps_up_linearly_then_follows_the_schedule():
    schedule = LearningRateSchedule("cosine", 0.3, total_epochs=12, warmup_epochs=2)
    assert schedule.rate(0, 0) == pytest.approx(0.1)
    assert schedule.rate(1, 0) == pytest.approx(0.2)
    assert schedule.rate(2, 0) == pytest.approx(0.3)  # cosine starts after the warm-up
    assert schedule.rate(7, 0) == pytest.approx(0.3 * 0.5 * (1 + math.cos(math.pi / 2)))


def test_adaptive_divides_by_five_until_tiny_then_stops():
    schedule = LearningRateSchedule("adaptive", 1e-5)
    assert schedule.on_patience_exhausted() is False
    assert schedule.rate(3, 0) == pytest.approx(2e-6)
    assert schedule.on_patience_exhausted() is False
    assert schedule.on_patience_exhausted() is True  # 4e-7 <= 1e-6: stop


@pytest.mark.parametrize("kind", ["constant", "invscaling", "cosine", "plateau"])
def test_other_schedules_stop_when_patience_runs_out(kind):
    assert LearningRateSchedule(kind, 0.1).on_patience_exhausted() is True


def test_plateau_halves_after_patience_epochs_without_improvement():
    schedule = LearningRateSchedule("plateau", 0.4, plateau_patience=2)
    for improved in (True, False, True, False):
        schedule.epoch_ended(improved)
    assert schedule.rate(4, 0) == 0.4  # never two bad epochs in a row
    schedule.epoch_ended(False)
    assert schedule.rate(5, 0) == 0.2
    schedule.epoch_ended(False)
    schedule.epoch_ended(False)
    assert schedule.rate(7, 0) == 0.1


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="Unknown schedule 'step'"):
        LearningRateSchedule("step", 0.1)
