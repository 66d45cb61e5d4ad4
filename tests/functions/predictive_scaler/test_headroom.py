"""The live margin: calibration, the priced level, the gate, and one mechanism per run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from functions.predictive_scaler.decision import ForecastSettings, Gate
from functions.predictive_scaler.headroom import (
    LIVE_STEP_SECONDS,
    HeadroomBank,
    HeadroomSettings,
    fit_headroom_last,
    live_ratios,
    one_mechanism,
)
from functions.predictive_scaler.series import Series
from functions.predictive_scaler.walkforward import walk_headroom

DAY = 86_400 // LIVE_STEP_SECONDS  # 720 live steps a day
SETTINGS = HeadroomSettings()


def random_walk(days: float, sigma: float, seed: int = 7, level: float = 2000.0) -> np.ndarray:
    """Traffic that wanders around ``level`` (a log AR(1), so its step ratios keep one distribution)."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, sigma, round(days * DAY))
    logs = np.empty_like(shocks)
    logs[0] = 0.0
    for i in range(1, len(shocks)):
        logs[i] = 0.95 * logs[i - 1] + shocks[i]
    return level * np.exp(logs)


def test_ratios_skip_the_quiet_samples_and_the_last() -> None:
    values = np.array([0.0, 0.0, 100.0, 200.0, 100.0] * 2000)
    ratios = live_ratios(values, LIVE_STEP_SECONDS)
    assert math.isnan(ratios[-1])
    assert math.isnan(ratios[0]) and math.isnan(ratios[1])  # below the floor: the minimum replicas carry it
    assert ratios[2] == 2.0 and ratios[3] == 0.5


def test_ratios_are_over_the_peak_the_scale_down_window_keeps() -> None:
    values = np.array([100.0, 200.0, 100.0, 150.0, 100.0, 100.0] * 2000)
    held = live_ratios(values, LIVE_STEP_SECONDS, hold_seconds=240)  # two 2-minute samples
    assert held[1] == 0.5 and held[2] == 150.0 / 200.0 and held[3] == held[4] == 100.0 / 150.0 and held[5] == 1.0


def test_the_margin_covers_the_next_step_at_its_level_on_unseen_days() -> None:
    values = random_walk(days=11, sigma=0.03)
    history, future = values[: 9 * DAY + 1], values[9 * DAY :]
    margin = fit_headroom_last(history, LIVE_STEP_SECONDS, SETTINGS)
    assert margin.trusted, margin.reason
    assert margin.level in SETTINGS.levels
    # The level's quantile of the last 7 days' ratios: what it covers on the next two days, within noise.
    later = live_ratios(future, LIVE_STEP_SECONDS, SETTINGS.hold_seconds)[:-1]  # over the window's peak
    expected = {0.5: 0.5, 0.6: 0.6, 0.7: 0.7, 0.8: 0.8}[margin.level]
    assert abs(float((later <= margin.multiple).mean()) - expected) < 0.05
    assert margin.factor == pytest.approx(margin.multiple * 1.1)
    # The window peak alone covers more than the rate now (about 0.5 here), still short of 0.8.
    assert 0.75 <= margin.coverage <= 0.85 and 0.5 < margin.last_value_coverage < 0.8


def test_steady_traffic_gets_no_margin() -> None:
    flat = np.full(10 * DAY, 1500.0)
    margin = fit_headroom_last(flat, LIVE_STEP_SECONDS, SETTINGS)
    assert margin.factor == 1.0 and "adds nothing" in margin.reason


def test_erratic_traffic_is_priced_down_to_the_median_or_declined() -> None:
    erratic = random_walk(days=10, sigma=0.4)
    margin = fit_headroom_last(erratic, LIVE_STEP_SECONDS, SETTINGS)
    # A wide margin costs more than the under-provisioning it removes: the median, i.e. the dead band only.
    assert margin.level == 0.5 and margin.factor == pytest.approx(1.1)
    strict = fit_headroom_last(erratic, LIVE_STEP_SECONDS, HeadroomSettings(ForecastSettings(provision_levels=(0.8,))))
    assert strict.factor == 1.0 and "too erratic" in strict.reason and strict.multiple > 1.1


def test_too_little_history_is_said() -> None:
    margin = fit_headroom_last(random_walk(days=1, sigma=0.03), LIVE_STEP_SECONDS, SETTINGS)
    assert margin.factor == 1.0 and "not enough" in margin.reason


def test_the_run_sees_only_its_window() -> None:
    """A bank over a longer series answers at an origin exactly as a run whose history ends there."""
    values = random_walk(days=14, sigma=0.03, seed=11)
    origin = 12 * DAY
    whole = HeadroomBank(values, LIVE_STEP_SECONDS, SETTINGS).fit(origin)
    window = values[origin - round(SETTINGS.history_days * DAY) : origin + 1]
    alone = fit_headroom_last(window, LIVE_STEP_SECONDS, SETTINGS)
    assert whole.multiple == pytest.approx(alone.multiple) and whole.level == alone.level
    assert whole.coverage == pytest.approx(alone.coverage)


def test_settings_follow_the_forecaster() -> None:
    forecast = ForecastSettings(confidence=0.9, gate=Gate(max_width=0.2, coverage_tolerance=0.1))
    like = HeadroomSettings.like(forecast, hpa_tolerance=0.05)
    assert like.confidence == 0.9 and like.levels == forecast.levels and 0.9 in like.levels
    assert like.max_width == 0.2 and like.forecast.gate.coverage_tolerance == 0.1 and like.hpa_tolerance == 0.05
    assert like.history_days == 9.0


@pytest.mark.parametrize(
    ("replicas", "seasonal", "factor", "count", "margin"),
    [
        (30, True, 1.15, 30, 1.0),  # a trusted seasonal count stands alone
        (30, False, 1.15, 5, 1.15),  # a persistence count gives way to the live margin (minimum: still acting)
        (0, False, 1.15, 5, 1.15),  # a trusted margin stands in for the windows too (minimum: acting)
        (30, False, 1.0, 30, 1.0),  # no margin: the persistence count as before
        (0, True, 1.0, 0, 1.0),
    ],
)
def test_one_mechanism_per_run(replicas: int, seasonal: bool, factor: float, count: int, margin: float) -> None:
    counts, margins = one_mechanism(replicas, seasonal, factor, min_replicas=5)
    assert float(counts) == count and float(margins) == margin


def test_walk_holds_each_fit_and_measures_its_coverage() -> None:
    values = random_walk(days=20, sigma=0.03, seed=5)
    live = Series(0, LIVE_STEP_SECONDS, values)
    run_times = np.arange(0, len(values) * LIVE_STEP_SECONDS, 300)
    walk = walk_headroom(live, SETTINGS, run_times, refit_every=12)
    assert len(walk.factors) == len(run_times)
    published = walk.factors > 1.0
    assert published.any() and (walk.factors[published] >= 1.1).all()
    assert walk.reasons["not enough"] > 0 and walk.reasons["trusted"] > 0
    assert abs(walk.coverage - 0.7) < 0.15  # levels 0.5-0.8: between their coverages
