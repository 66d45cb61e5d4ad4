"""Seasonal request-rate forecaster with an honest, backtested confidence.

Model (numpy only, chosen by backtest over the history it is given):

* a seasonal **profile** ``P[t]``: a blend of the mean of the same time of day over the last
  ``daily_lags`` days and the mean of the same time of week over the last weeks (daily and weekly
  seasonality); every lag is at least one day, so the profile of the next 30 minutes is known now;
* a **level** correction: the ratio of the last ``level_window`` observations to their profile, scaled
  by ``level_gain``; the forecast is ``P[t + h] * (1 + level_gain * (ratio - 1))``. Today's traffic is
  "like the usual day, times how busy today has been so far", which is what makes a 30-minute forecast
  an order of magnitude better than seasonal-naive on the developer traces.

The parameters come from a small grid, scored by mean absolute error over every forecast origin in the
history (a backtest), so the model adapts to a service without hand tuning.

Confidence (what the gate compares with the configured threshold) is the empirical coverage of the
capacity we would have published: for each recent origin, the forecast peak of the look-ahead window is
multiplied by a calibration factor (the ``interval_quantile`` quantile of actual/forecast peak ratios
of the ``calibration`` origins *before* it whose outcome was already known), and the origin counts as
covered when the actual peak stayed at or below that bound. The confidence is the covered fraction of the
last ``confidence_window`` origins whose outcome is known now. It is out-of-sample by construction: a
bound is only judged on demand that came after it was computed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from functions.predictive_scaler.series import Series, TraceError

Array = npt.NDArray[np.float64]

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class ModelParams:
    daily_lags: int
    """Days averaged for the same-time-of-day profile."""
    weekly_weight: float
    """Weight of the same-time-of-week profile (0: daily only); unused until a week of history exists."""
    level_window: int
    """Samples in the level ratio (1: the latest sample only)."""
    level_gain: float
    """How much of the level deviation carries into the forecast (1: all of it)."""


PARAM_GRID: tuple[ModelParams, ...] = tuple(
    ModelParams(daily_lags=d, weekly_weight=w, level_window=m, level_gain=g)
    for d, w, m, g in itertools.product((1, 7), (0.0, 0.5, 1.0), (1, 3), (0.8, 1.0))
)
WEEKLY_LAGS = 2


@dataclass(frozen=True)
class Calibration:
    interval_quantile: float = 0.95
    """Quantile of actual/forecast peak ratios used as the safety factor on the forecast peak."""
    calibration_hours: float = 24.0
    """Past origins (by time) whose ratios set the safety factor."""
    confidence_hours: float = 24.0
    """Past origins (by time) whose coverage is the confidence."""


@dataclass(frozen=True)
class Backtest:
    """Forecasts for every origin ``t`` (the sample index the forecast is made at) of a series."""

    params: tuple[ModelParams, ...]
    """The parameters used at each origin (one entry if fixed for the whole series)."""
    forecast_peak: Array
    """Max of the forecast over the look-ahead, per origin (NaN where the model has no profile yet)."""
    actual_peak: Array
    """Max of the observations over the look-ahead, per origin (NaN where the future is unknown)."""
    upper: Array
    """Forecast peak times the calibration factor: what we provision for (NaN without calibration)."""
    confidence: Array
    """Coverage of ``upper`` over the recent origins with known outcome (0 without enough evidence)."""


def steps_per_day(step_seconds: int) -> int:
    if DAY_SECONDS % step_seconds:
        raise TraceError(f"step {step_seconds} s does not divide a day; use e.g. 60, 300, 900 or 1800 s")
    return DAY_SECONDS // step_seconds


def look_ahead_steps(look_ahead_minutes: int, step_seconds: int) -> int:
    return max(1, math.ceil(look_ahead_minutes * 60 / step_seconds))


def _lagged(extended: Array, lag: int) -> Array:
    out = np.full(len(extended), np.nan)
    if lag < len(extended):
        out[lag:] = extended[:-lag]
    return out


def _nanmean_rows(rows: list[Array]) -> Array:
    stack = np.stack(rows)
    finite = np.isfinite(stack)
    count = finite.sum(axis=0)
    total = np.where(finite, stack, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def seasonal_profile(values: Array, horizon: int, day: int, params: ModelParams) -> Array:
    """``P[t]`` for ``t`` in ``[0, n + horizon)``: blended daily/weekly profile from lags of >= 1 day."""
    extended = np.concatenate([values, np.full(horizon, np.nan)])
    daily = _nanmean_rows([_lagged(extended, k * day) for k in range(1, params.daily_lags + 1)])
    if params.weekly_weight <= 0:
        return daily
    weekly = _nanmean_rows([_lagged(extended, k * 7 * day) for k in range(1, WEEKLY_LAGS + 1)])
    blended = params.weekly_weight * weekly + (1 - params.weekly_weight) * daily
    return np.where(np.isfinite(weekly), blended, daily)


def _windowed_sum(values: Array, window: int) -> Array:
    """Sum of ``values[t - window + 1 .. t]`` (NaN until the window is full or if any value is NaN)."""
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = sliding_window_view(values, window).sum(axis=1)
    return out


def forecast_paths(values: Array, horizon: int, day: int, params: ModelParams) -> Array:
    """Forecast matrix ``F[t, h - 1]`` for origin ``t`` and steps ``h = 1..horizon``, from data to ``t``."""
    if horizon >= day:
        raise TraceError(f"look-ahead of {horizon} steps must be shorter than a day ({day} steps)")
    profile = seasonal_profile(values, horizon, day, params)
    observed = _windowed_sum(values, params.level_window)
    expected = _windowed_sum(profile[: len(values)], params.level_window)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    # A quiet profile (near 0) makes the ratio explode; bound it to what a real level shift looks like.
    gain = np.clip(1 + params.level_gain * (ratio - 1), 0.0, 5.0)
    index = np.arange(len(values))[:, None] + np.arange(1, horizon + 1)[None, :]
    return np.maximum(profile[index] * gain[:, None], 0.0)


def future_matrix(values: Array, horizon: int) -> Array:
    """``Y[t, h - 1] = values[t + h]`` (NaN past the end): what each forecast is scored against."""
    extended = np.concatenate([values, np.full(horizon, np.nan)])
    index = np.arange(len(values))[:, None] + np.arange(1, horizon + 1)[None, :]
    return extended[index]


def seasonal_naive_paths(values: Array, horizon: int, period: int) -> Array:
    """Baseline: ``F[t, h - 1] = values[t + h - period]`` (same time one period earlier)."""
    extended = _lagged(np.concatenate([values, np.full(horizon, np.nan)]), period)
    index = np.arange(len(values))[:, None] + np.arange(1, horizon + 1)[None, :]
    return extended[index]


def origin_errors(paths: Array, future: Array) -> Array:
    """Mean absolute error per origin (NaN where the forecast or the outcome is incomplete)."""
    return np.abs(paths - future).mean(axis=1)


def _row_max(paths: Array) -> Array:
    """Max over each row, NaN when any entry of the row is NaN (no partial peaks)."""
    out = np.full(paths.shape[0], np.nan)
    complete = np.isfinite(paths).all(axis=1)
    if complete.any():
        out[complete] = paths[complete].max(axis=1)
    return out


def choose_params(errors: dict[ModelParams, Array], first: int, last: int) -> ModelParams:
    """The grid point with the lowest mean error over origins ``[first, last)`` (ties: grid order)."""
    best, best_score = PARAM_GRID[0], math.inf
    for params in PARAM_GRID:
        window = errors[params][first:last]
        window = window[np.isfinite(window)]
        if len(window) == 0:
            continue
        score = float(window.mean())
        if score < best_score - 1e-12:
            best, best_score = params, score
    return best


def calibrate(
    forecast_peak: Array, actual_peak: Array, horizon: int, step_seconds: int, calibration: Calibration
) -> tuple[Array, Array]:
    """Per-origin upper bound and confidence (see the module docstring); only past outcomes are used."""
    n = len(forecast_peak)
    n_cal = max(2, round(calibration.calibration_hours * 3600 / step_seconds))
    n_conf = max(2, round(calibration.confidence_hours * 3600 / step_seconds))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(forecast_peak > 0, actual_peak / forecast_peak, np.nan)
    # factor[t]: quantile of ratios of origins t - horizon - n_cal + 1 .. t - horizon (outcomes known at t).
    factor = np.full(n, np.nan)
    if n > n_cal + horizon:
        windows = sliding_window_view(ratio, n_cal)  # windows[i] covers i .. i + n_cal - 1
        enough = np.isfinite(windows).sum(axis=1) >= n_cal // 2
        quantiles = np.full(len(windows), np.nan)
        if enough.any():
            quantiles[enough] = np.nanquantile(windows[enough], calibration.interval_quantile, axis=1)
        ends = np.arange(n_cal - 1, n) + horizon  # origin whose last known outcome is window end
        keep = ends < n
        factor[ends[keep]] = quantiles[keep]
    upper = forecast_peak * factor
    judged = np.isfinite(upper) & np.isfinite(actual_peak)
    covered = np.where(judged, (actual_peak <= upper + 1e-9).astype(float), np.nan)
    confidence = np.zeros(n)
    if n > n_conf + horizon:
        windows = sliding_window_view(covered, n_conf)
        counts = np.isfinite(windows).sum(axis=1)
        hits = np.nansum(windows, axis=1)
        score = np.where(counts >= n_conf // 2, hits / np.maximum(counts, 1), 0.0)
        ends = np.arange(n_conf - 1, n) + horizon
        keep = ends < n
        confidence[ends[keep]] = score[keep]
    return upper, confidence


def backtest(
    series: Series,
    look_ahead_minutes: int,
    calibration: Calibration,
    *,
    retune_every: int | None = None,
    tune_days: float = 14.0,
) -> Backtest:
    """Forecast every origin of ``series``.

    ``retune_every=None`` picks one parameter set from the whole series (the CronJob's case: it sees
    its history window once per run). With ``retune_every=k`` the simulator re-picks the parameters
    every ``k`` origins from the ``tune_days`` before, using only outcomes known at that point.
    """
    values = series.values
    day = steps_per_day(series.step_seconds)
    horizon = look_ahead_steps(look_ahead_minutes, series.step_seconds)
    future = future_matrix(values, horizon)
    actual_peak = _row_max(future)
    peaks: dict[ModelParams, Array] = {}
    errors: dict[ModelParams, Array] = {}
    for params in PARAM_GRID:
        paths = forecast_paths(values, horizon, day, params)
        peaks[params] = _row_max(paths)
        errors[params] = origin_errors(paths, future)
    n = len(values)
    if retune_every is None:
        chosen = choose_params(errors, 0, n)
        forecast_peak = peaks[chosen]
        used: tuple[ModelParams, ...] = (chosen,)
    else:
        forecast_peak = np.full(n, np.nan)
        used_list: list[ModelParams] = []
        tune_span = round(tune_days * day)
        for begin in range(0, n, retune_every):
            # Outcomes of origins up to begin - horizon are known at origin begin.
            last = max(0, begin - horizon + 1)
            chosen = choose_params(errors, max(0, last - tune_span), last)
            forecast_peak[begin : begin + retune_every] = peaks[chosen][begin : begin + retune_every]
            used_list.append(chosen)
        used = tuple(used_list)
    upper, confidence = calibrate(forecast_peak, actual_peak, horizon, series.step_seconds, calibration)
    return Backtest(used, forecast_peak, actual_peak, upper, confidence)


@dataclass(frozen=True)
class Decision:
    """What one CronJob run publishes."""

    replicas: int
    """What KEDA acts on: the forecast replicas when confident, else 0 (abstain: no effect under max())."""
    forecast_replicas: int
    """Replicas the forecast asks for, whether or not the gate let it through."""
    confidence: float
    threshold: float
    forecast_rps: float
    """Forecast peak request rate over the look-ahead."""
    upper_rps: float
    """The calibrated bound the replicas are sized for."""
    acted: bool
    reason: str
    params: ModelParams | None


def replicas_for(
    rate: float, target_rps_per_pod: float, min_replicas: int, max_replicas: int, hpa_tolerance: float = 0.0
) -> int:
    """Replicas to publish so that ``rate`` fits at ``target_rps_per_pod`` once the HPA has acted.

    The HPA ignores a metric whose proposal is within ``hpa_tolerance`` (10 %) of the current count, so
    a published N could leave the workload anywhere in ``[N / 1.1, N]``. Publishing
    ``ceil(needed x (1 + tolerance))`` makes the floor of that dead band the replicas actually needed.
    """
    wanted = math.ceil(rate * (1 + hpa_tolerance) / target_rps_per_pod - 1e-9) if rate > 0 else 0
    return max(min_replicas, min(max_replicas, wanted))


def decide(
    backtest_result: Backtest,
    origin: int,
    *,
    threshold: float,
    target_rps_per_pod: float,
    min_replicas: int,
    max_replicas: int,
    hpa_tolerance: float = 0.0,
) -> Decision:
    """The decision at one origin of a backtest (the CronJob uses the last one)."""
    params = backtest_result.params[-1] if backtest_result.params else None
    peak = float(backtest_result.forecast_peak[origin])
    upper = float(backtest_result.upper[origin])
    confidence = float(backtest_result.confidence[origin])
    if not math.isfinite(peak):
        return Decision(0, 0, 0.0, threshold, 0.0, 0.0, False, "not enough history for a seasonal profile", params)
    if not math.isfinite(upper):
        return Decision(0, 0, 0.0, threshold, peak, 0.0, False, "not enough backtested forecasts to calibrate", params)
    wanted = replicas_for(upper, target_rps_per_pod, min_replicas, max_replicas, hpa_tolerance)
    if confidence + 1e-12 < threshold:
        reason = f"confidence {confidence:.3f} is below the threshold {threshold:.3f}"
        return Decision(0, wanted, confidence, threshold, peak, upper, False, reason, params)
    return Decision(wanted, wanted, confidence, threshold, peak, upper, True, "confident", params)


@dataclass(frozen=True)
class Accuracy:
    """Out-of-sample mean absolute errors over every horizon step of the look-ahead."""

    model: float
    seasonal_naive_day: float
    seasonal_naive_week: float
    persistence: float
    """Last value carried forward: the other obvious baseline for short horizons."""
    params: ModelParams


def accuracy(series: Series, look_ahead_minutes: int, train_days: float) -> Accuracy:
    """Pick parameters on the first ``train_days`` and score every later origin against the baselines.

    Only origins whose seasonal-naive-week baseline exists are scored, so all four see the same points.
    """
    values = series.values
    day = steps_per_day(series.step_seconds)
    horizon = look_ahead_steps(look_ahead_minutes, series.step_seconds)
    future = future_matrix(values, horizon)
    train_end = round(train_days * day)
    if train_end >= len(values) - horizon:
        raise TraceError(f"series of {len(values)} samples is too short to train on {train_days} days and test")
    errors = {p: origin_errors(forecast_paths(values, horizon, day, p), future) for p in PARAM_GRID}
    chosen = choose_params(errors, 0, train_end - horizon)
    baselines = {
        "day": origin_errors(seasonal_naive_paths(values, horizon, day), future),
        "week": origin_errors(seasonal_naive_paths(values, horizon, 7 * day), future),
        "last": origin_errors(np.repeat(values[:, None], horizon, axis=1), future),
    }
    scored = np.arange(len(values)) >= max(train_end, 7 * day)
    scored &= np.isfinite(errors[chosen]) & np.isfinite(baselines["week"]) & np.isfinite(baselines["day"])
    if not scored.any():
        raise TraceError("no origin can be scored: the test period needs a week of history before it")
    return Accuracy(
        model=float(errors[chosen][scored].mean()),
        seasonal_naive_day=float(baselines["day"][scored].mean()),
        seasonal_naive_week=float(baselines["week"][scored].mean()),
        persistence=float(baselines["last"][scored].mean()),
        params=chosen,
    )
