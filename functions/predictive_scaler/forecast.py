"""Seasonal point forecasts of a request rate, for every origin of a series at once (numpy only).

Model: a seasonal **profile** ``P[t]`` (the mean of the same time of day over the last 1 or 7 days,
blended with the same time last week) scaled by a **level** term: the ratio of the
last ``level_window`` observations to their profile, damped by ``level_gain``:

    F[t, h] = P[t + h] x (1 + level_gain x (ratio_t - 1)),   ratio_t = (sum y + m c) / (sum P + m c)

"Today is like the usual day, times how busy today has been so far." Every profile lag is at least one
day, so the profile of the look-ahead is known at the origin. ``c`` is a small level floor (a share of
the history's mean): without it, the ratio of an office-hours service explodes at the first requests
of the morning (a few requests against a profile of almost nothing). The parameters are a grid of 24
points; which one a service uses is chosen by backtest error (see ``choose``), never by hand.

Beside the seasonal grid the backtest also scores **persistence** (``NaiveParams``: the last value or a
short trailing mean carried forward), the model for traffic whose season does not help; it wins unless a
seasonal point clearly beats it.

Everything is computed for every origin of a series in one pass, so the CronJob (one origin: the last)
and the simulator (every origin of a year) share the same code.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from functions.predictive_scaler.series import TraceError

Array = npt.NDArray[np.float64]

DAY_SECONDS = 86_400
WEEKLY_LAGS = 1
LEVEL_FLOOR = 0.05
"""The level floor ``c`` as a share of the history's mean request rate."""
MAX_LEVEL_FACTOR = 5.0
"""Bound on the level term: more than 5x the usual traffic is an outage or an attack, not a level."""


@dataclass(frozen=True)
class ModelParams:
    daily_lags: int
    """Days averaged for the same-time-of-day profile."""
    weekly_weight: float
    """Weight of the same-time-of-week profile (0: daily only); until a week of history exists, daily only."""
    level_window: int
    """Samples in the level ratio (1: the latest sample only)."""
    level_gain: float
    """How much of the level deviation carries into the forecast (1: all of it)."""

    def label(self) -> str:
        return f"days={self.daily_lags} week={self.weekly_weight:g} window={self.level_window} gain={self.level_gain:g}"


PARAM_GRID: tuple[ModelParams, ...] = tuple(
    ModelParams(daily_lags=d, weekly_weight=w, level_window=m, level_gain=g)
    for d, w, m, g in itertools.product((1, 7), (0.0, 0.5, 1.0), (1, 3), (0.5, 1.0))
)


@dataclass(frozen=True)
class NaiveParams:
    """Persistence: every step of the look-ahead is the mean of the last ``window`` samples.

    The model for traffic without a usable season (bursts, drift, aperiodic load): it knows only what a
    reactive autoscaler knows, but with a calibrated upper bound it knows *how far* demand moves within
    a lead time, and that headroom is what the reactive HPA lacks.
    """

    window: int
    """Samples averaged (1: the last value; 3: a quarter of an hour at 5-minute samples)."""

    def label(self) -> str:
        return f"naive window={self.window}"


NAIVE_GRID: tuple[NaiveParams, ...] = (NaiveParams(window=1), NaiveParams(window=3))

Candidate = ModelParams | NaiveParams
"""A model the per-service backtest can choose: a seasonal grid point or a persistence window."""

CANDIDATES: tuple[Candidate, ...] = (*PARAM_GRID, *NAIVE_GRID)


def history_needed(candidate: Candidate, day: int) -> int:
    """Samples before an origin that the candidate's forecast reads (profile lags and level window)."""
    if isinstance(candidate, NaiveParams):
        return candidate.window
    return 7 * day + candidate.level_window


def steps_per_day(step_seconds: int) -> int:
    if DAY_SECONDS % step_seconds:
        raise TraceError(f"step {step_seconds} s does not divide a day; use e.g. 60, 300, 900 or 1800 s")
    return DAY_SECONDS // step_seconds


def look_ahead_steps(minutes: float, step_seconds: int) -> int:
    return max(1, math.ceil(minutes * 60 / step_seconds - 1e-9))


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
    """``P[t]`` for ``t`` in ``[0, n + horizon)``: blended daily/weekly means of lags of at least one day."""
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


def trailing_mean(values: Array, window: int) -> Array:
    """Mean of ``values[t - window + 1 .. t]`` (fewer at the start): what a run with that history sees."""
    total = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(len(values))
    low = np.maximum(0, index + 1 - window)
    return (total[index + 1] - total[low]) / (index + 1 - low)


def _ahead(horizon: int, count: int) -> npt.NDArray[np.intp]:
    return np.arange(count)[:, None] + np.arange(1, horizon + 1)[None, :]


def forecast_paths(values: Array, horizon: int, day: int, params: ModelParams, floor: Array) -> Array:
    """Forecast matrix ``F[t, h - 1]`` for origin ``t`` and steps ``h = 1..horizon``, from data up to ``t``.

    ``floor`` is the level floor ``c`` per origin. NaN where the profile does not exist yet (first day).
    """
    if horizon >= day:
        raise TraceError(f"look-ahead of {horizon} steps must be shorter than a day ({day} steps)")
    profile = seasonal_profile(values, horizon, day, params)
    observed = _windowed_sum(values, params.level_window)
    expected = _windowed_sum(profile[: len(values)], params.level_window)
    pad = params.level_window * floor
    with np.errstate(divide="ignore", invalid="ignore"):
        # A week without traffic leaves no floor: nothing observed against nothing expected is the usual level.
        ratio = np.where(expected + pad > 0, (observed + pad) / (expected + pad), np.where(observed > 0, np.inf, 1.0))
    gain = np.clip(1 + params.level_gain * (ratio - 1), 0.0, MAX_LEVEL_FACTOR)
    return np.maximum(profile[_ahead(horizon, len(values))] * gain[:, None], 0.0)


def future_matrix(values: Array, horizon: int) -> Array:
    """``Y[t, h - 1] = values[t + h]`` (NaN past the end): what each forecast is scored against."""
    extended = np.concatenate([values, np.full(horizon, np.nan)])
    return extended[_ahead(horizon, len(values))]


def seasonal_naive_paths(values: Array, horizon: int, period: int) -> Array:
    """Baseline: ``F[t, h - 1] = values[t + h - period]`` (same time one period earlier)."""
    extended = _lagged(np.concatenate([values, np.full(horizon, np.nan)]), period)
    return extended[_ahead(horizon, len(values))]


def persistence_paths(values: Array, horizon: int) -> Array:
    """Baseline: the last value carried forward (what a reactive autoscaler acts on)."""
    return np.repeat(values[:, None], horizon, axis=1)


def naive_paths(values: Array, horizon: int, params: NaiveParams) -> Array:
    """``F[t, h - 1]`` = mean of ``values[t - window + 1 .. t]`` for every step (NaN until the window is full)."""
    level = _windowed_sum(values, params.window) / params.window
    return np.repeat(level[:, None], horizon, axis=1)


def candidate_paths(values: Array, horizon: int, day: int, candidate: Candidate, floor: Array) -> Array:
    """Forecast matrix of any candidate (see ``forecast_paths`` and ``naive_paths``)."""
    if isinstance(candidate, NaiveParams):
        return naive_paths(values, horizon, candidate)
    return forecast_paths(values, horizon, day, candidate, floor)


def origin_errors(paths: Array, future: Array) -> Array:
    """Mean absolute error per origin (NaN where the forecast or the outcome is incomplete)."""
    return np.abs(paths - future).mean(axis=1)


class RunningSum:
    """Sums and counts of the finite entries of a per-origin array over any origin range, in O(1)."""

    def __init__(self, values: Array) -> None:
        finite = np.isfinite(values)
        self._sum = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
        self._count = np.concatenate([[0], np.cumsum(finite)])

    def mean(self, first: int, last: int) -> tuple[float, int]:
        """Mean and count over origins ``[first, last)`` (NaN when none is finite)."""
        first, last = max(first, 0), max(last, 0)
        count = int(self._count[last] - self._count[first]) if last > first else 0
        if count == 0:
            return math.nan, 0
        return float(self._sum[last] - self._sum[first]) / count, count


def _best(errors: dict[Candidate, RunningSum], kind: type, first: int, last: int) -> tuple[Candidate | None, float]:
    best: Candidate | None = None
    best_score = math.inf
    for candidate, sums in errors.items():
        if not isinstance(candidate, kind):
            continue
        score, count = sums.mean(first, last)
        if count and score < best_score - 1e-12:
            best, best_score = candidate, score
    return best, best_score


def choose(
    errors: dict[Candidate, RunningSum], first: int, last: int, seasonal_margin: float = 1.0
) -> Candidate | None:
    """The candidate with the lowest mean error over origins ``[first, last)`` (ties: catalogue order).

    Every candidate is scored on the same origins by the same error. A seasonal model is preferred to
    the best persistence window only when its error is at most ``seasonal_margin`` times that one's
    (parsimony: the runs use the seasonal profile only where it clearly beats carrying the level
    forward; the trust gate asks the same of it, so selection never picks a model the gate would
    decline for being no better than the last value). Candidates absent from ``errors`` are not scored.
    """
    seasonal, seasonal_score = _best(errors, ModelParams, first, last)
    naive, naive_score = _best(errors, NaiveParams, first, last)
    if naive is None:
        return seasonal
    if seasonal is None:
        return naive
    return seasonal if seasonal_score <= seasonal_margin * naive_score + 1e-12 else naive


@dataclass(frozen=True)
class Accuracy:
    """Out-of-sample mean absolute errors over every step of the look-ahead."""

    model: float
    seasonal_naive_day: float
    seasonal_naive_week: float
    persistence: float
    params: Candidate
    """The parameters chosen most often."""


def accuracy(values: Array, step_seconds: int, look_ahead_minutes: int, select_days: float = 7.0) -> Accuracy:
    """Out-of-sample error of the seasonal model as the runs use it, against the naive baselines.

    Only the seasonal grid competes here (persistence is one of the baselines it is measured against).

    The parameters are re-chosen every day from the errors of the ``select_days`` before (outcomes known
    by then), as each run does, and every later origin is scored. Only origins whose seasonal-naive-week
    baseline exists are scored, so all four see the same points.
    """
    day = steps_per_day(step_seconds)
    horizon = look_ahead_steps(look_ahead_minutes, step_seconds)
    future = future_matrix(values, horizon)
    span = round(select_days * day)
    floor = LEVEL_FLOOR * trailing_mean(values, 7 * day)
    paths = {p: forecast_paths(values, horizon, day, p, floor) for p in PARAM_GRID}
    errors: dict[Candidate, Array] = {p: origin_errors(paths[p], future) for p in PARAM_GRID}
    sums: dict[Candidate, RunningSum] = {p: RunningSum(e) for p, e in errors.items()}
    model = np.full(len(values), np.nan)
    chosen: list[Candidate] = []
    for begin in range(7 * day, len(values), day):
        known = begin - horizon + 1
        params = choose(sums, known - span, known)
        if params is not None:
            model[begin : begin + day] = errors[params][begin : begin + day]
            chosen.append(params)
    baselines = {
        "day": origin_errors(seasonal_naive_paths(values, horizon, day), future),
        "week": origin_errors(seasonal_naive_paths(values, horizon, 7 * day), future),
        "last": origin_errors(persistence_paths(values, horizon), future),
    }
    scored = np.isfinite(model) & np.isfinite(baselines["week"]) & np.isfinite(baselines["day"])
    if not scored.any():
        raise TraceError(f"series of {len(values)} samples is too short: scoring needs more than a week of history")
    return Accuracy(
        model=float(model[scored].mean()),
        seasonal_naive_day=float(baselines["day"][scored].mean()),
        seasonal_naive_week=float(baselines["week"][scored].mean()),
        persistence=float(baselines["last"][scored].mean()),
        params=max(set(chosen), key=chosen.count),
    )
