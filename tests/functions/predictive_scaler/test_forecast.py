"""Point forecasts: better than the naive baselines, built from the past only, sane at the first requests."""

from __future__ import annotations

import numpy as np
import pytest

from functions.predictive_scaler.devtraces import load_trace
from functions.predictive_scaler.forecast import (
    LEVEL_FLOOR,
    NAIVE_GRID,
    PARAM_GRID,
    Candidate,
    ModelParams,
    NaiveParams,
    RunningSum,
    accuracy,
    choose,
    forecast_paths,
    naive_paths,
    trailing_mean,
)
from functions.predictive_scaler.series import Series, resample_mean

DAY = 288  # five-minute samples


def daily_sine(days: int, *, noise: float, seed: int = 1, drift: float = 0.0) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(days * DAY)
    shape = 600 + 400 * np.sin(2 * np.pi * t / DAY - np.pi / 2)
    level = 1 + drift * np.sin(2 * np.pi * t / (5.3 * DAY))  # slow, non-seasonal level changes
    values = shape * level * (1 + noise * rng.standard_normal(len(t)))
    return Series(1_700_000_000 - 1_700_000_000 % 86_400, 300, np.maximum(values, 0))


def test_beats_the_naive_baselines_on_a_daily_sine() -> None:
    result = accuracy(daily_sine(21, noise=0.03, drift=0.15).values, 300, 30)
    assert result.model < 0.5 * result.seasonal_naive_day
    assert result.model < 0.5 * result.seasonal_naive_week
    assert result.model < result.persistence


@pytest.mark.parametrize("name", ["elecdemand", "taylor", "flights"])
def test_beats_the_naive_baselines_on_real_demand(name: str) -> None:
    # Tuning traces only: the evaluation traces are measured by the benchmark, never asserted on.
    trace = load_trace(name, peak_rps=4500)
    assert trace.step_seconds == 1800 and len(trace) >= 4032
    for series in (trace, resample_mean(_interpolated(trace), 300)):
        result = accuracy(series.values, series.step_seconds, 30)
        assert result.model < result.seasonal_naive_day, (name, series.step_seconds, result)
        assert result.model < result.seasonal_naive_week, (name, series.step_seconds, result)
        assert result.model < result.persistence, (name, series.step_seconds, result)


def _interpolated(trace: Series) -> Series:
    positions = np.arange((len(trace) - 1) * 30 + 1) / 30
    return Series(trace.start, 60, np.interp(positions, np.arange(len(trace)), trace.values))


@pytest.mark.parametrize("params", [PARAM_GRID[0], PARAM_GRID[-1]])
def test_a_forecast_uses_only_data_up_to_its_origin(params: ModelParams) -> None:
    values = daily_sine(16, noise=0.05).values
    origin = 15 * DAY + 7
    floor = LEVEL_FLOOR * trailing_mean(values, 7 * DAY)
    base = forecast_paths(values, 6, DAY, params, floor)
    changed = values.copy()
    changed[origin + 1 :] *= 5.0
    other = forecast_paths(changed, 6, DAY, params, LEVEL_FLOOR * trailing_mean(changed, 7 * DAY))
    assert np.array_equal(base[origin], other[origin])
    # The latest sample does count (so the check above could fail).
    changed[origin] *= 5.0
    moved = forecast_paths(changed, 6, DAY, params, LEVEL_FLOOR * trailing_mean(changed, 7 * DAY))
    assert not np.array_equal(base[origin], moved[origin])


def test_the_first_requests_of_the_morning_do_not_explode_the_level() -> None:
    # Office hours: nothing at night, then a few requests at 07:00 against a profile of almost nothing.
    day = np.zeros(DAY)
    day[84:252] = 1000.0  # 07:00-21:00
    values = np.tile(day, 8)
    values[7 * DAY + 84] = 1100.0  # today's first sample, 10 % busier than usual
    origin = 7 * DAY + 84
    floor = LEVEL_FLOOR * trailing_mean(values, 7 * DAY)
    params = ModelParams(daily_lags=7, weekly_weight=0.0, level_window=3, level_gain=1.0)
    forecast = forecast_paths(values, 6, DAY, params, floor)[origin]
    # Without the floor the ratio would be (0 + 0 + 1100) / (0 + 0 + 1000) over a window that is mostly
    # night: still fine here, but one request against a profile of 1e-6 would be a million-fold level.
    assert np.all(forecast > 900) and np.all(forecast < 1200)
    values[origin] = 1.0
    values[origin - 1] = 1e-6
    quiet = forecast_paths(values, 6, DAY, params, LEVEL_FLOOR * trailing_mean(values, 7 * DAY))[origin]
    assert np.all(quiet <= 1000.0)


def test_choice_is_by_backtest_error_over_the_given_origins() -> None:
    errors: dict[Candidate, RunningSum] = {p: RunningSum(np.full(10, 5.0)) for p in PARAM_GRID}
    better = PARAM_GRID[7]
    errors[better] = RunningSum(np.array([9.0] * 5 + [1.0] * 5))
    assert choose(errors, 5, 10) == better
    assert choose(errors, 0, 5) == PARAM_GRID[0]  # ties go to grid order; the better one lost here
    assert choose(errors, 3, 3) is None


def test_a_seasonal_model_must_beat_persistence_by_the_margin_to_be_chosen() -> None:
    seasonal, naive = PARAM_GRID[2], NAIVE_GRID[0]
    errors: dict[Candidate, RunningSum] = {seasonal: RunningSum(np.full(10, 8.0)), naive: RunningSum(np.full(10, 10.0))}
    assert choose(errors, 0, 10) == seasonal  # plain lowest error
    assert choose(errors, 0, 10, seasonal_margin=0.8) == seasonal  # 8 <= 0.8 x 10
    assert choose(errors, 0, 10, seasonal_margin=0.7) == naive
    assert choose({naive: errors[naive]}, 0, 10, 0.7) == naive
    assert choose({seasonal: errors[seasonal]}, 0, 10, 0.7) == seasonal


def test_naive_paths_carry_the_trailing_mean_forward() -> None:
    values = np.array([1.0, 2.0, 3.0, 10.0])
    assert np.array_equal(naive_paths(values, 3, NaiveParams(window=1))[3], [10.0, 10.0, 10.0])
    three = naive_paths(values, 2, NaiveParams(window=3))
    assert np.isnan(three[1]).all() and np.allclose(three[3], [5.0, 5.0])
