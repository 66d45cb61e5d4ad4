"""Calibrated upper bounds, the trust gate, and the replicas one run publishes.

**Bound.** The forecast path ``F[t, h]`` gets a conformal upper bound per step of the look-ahead:
``U = F + q_h x (F + c)``, where ``q_h`` is the ``confidence`` quantile (finite-sample corrected) of the
normalized errors ``(y - F) / (F + c)`` of step ``h`` over the last ``calibration_days`` of origins whose
outcome is known. Normalizing by the forecast makes one quantile serve the night and the peak; ``c``
(the level floor) keeps the quiet hours from dividing by almost nothing. Samples where both forecast and
demand are (near) zero are left out of calibration and coverage: they are covered by any bound, and an
office-hours service's empty nights and weekends would otherwise hide under-coverage during the day.

**Trust.** The bound is only used when the backtest over the last ``gate_days`` (outcomes the bound did
not see) says the model deserves it:

* *calibrated*: a bound calibrated on the ``calibration_days`` before that window covered at least
  ``confidence - coverage_tolerance`` of it (a regime change, holiday or outage drops this);
* *informative*: a seasonal model's error is at most ``max_error_ratio`` of carrying the last value
  forward, which is all a reactive autoscaler knows (otherwise the forecast adds nothing the HPA does
  not already have). A persistence model *is* the last value: what it adds is its bound's headroom, so
  it is informative when the last value alone (what the reactive HPA provisions for) covered less of the
  held-back demand than the stated confidence, i.e. the headroom is needed, and calibrated (above) when
  the bound covered it at about that rate;
* *affordable*: the bound over the provisioning window sits at most ``max_width`` above the forecast
  (a bound that wide buys little coverage for its replica-hours: bursty traffic ends up here).

Otherwise the run abstains (publishes 0) and the reactive metrics and the schedules scale the service.

**Provisioning level.** The reported bound keeps the stated ``confidence`` (it is what coverage is judged
on). The replicas are sized from a bound at a level chosen per service on the same backtest, among
``provision_levels``: each level's bound, calibrated on the days before the gate window, provisions the
gate window's origins (its maximum over the provisioning window), and is priced against carrying the last
value forward (what the reactive HPA acts on) as the targets price it: ``cost = replicas / last value's +
lambda x under-provisioned samples / last value's``, with ``lambda = target_extra_cost / target_reduction``
(0.15 / 0.60 = 0.25): the line through the last value (1, 1) and the targets' corner (1.15, 0.40) is one
cost, so a level is preferred exactly when it lies on the targets' side of that line. The cheapest level
wins (ties: the lower). The affordability check judges the bound at that level: noisy traffic whose 80 %
bound is far above the forecast can still be provisioned from a lower level.

**Replicas.** ``ceil(max(U over the next cover_minutes) x (1 + hpa_tolerance) / target_rps_per_pod)``,
clamped to [min, max]. ``cover_minutes`` is the time until the *next* run's count is in effect with its
pods ready (run interval + job, KEDA poll and pod start-up): capacity for later steps of the look-ahead
is published by later runs, from fresher data. The ``1 + hpa_tolerance`` clears the HPA's dead band: it
ignores a proposal within 10 % of the current count, so a published N could leave the workload at N/1.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from functions.predictive_scaler.forecast import (
    CANDIDATES,
    LEVEL_FLOOR,
    Array,
    Candidate,
    NaiveParams,
    RunningSum,
    candidate_paths,
    choose,
    future_matrix,
    history_needed,
    look_ahead_steps,
    origin_errors,
    persistence_paths,
    steps_per_day,
    trailing_mean,
)
from functions.predictive_scaler.series import Series, TraceError

PROFILE_DAYS = 7
"""Oldest profile lag (a week): the history before a backtested origin that its forecast needs."""
IDLE_SHARE = 0.01
"""Forecast and demand both below this share of the mean rate: an idle sample, left out of calibration."""
MIN_SCORES = 48
"""Fewest calibration errors per look-ahead step (four hours of 5-minute origins) for a quantile."""


@dataclass(frozen=True)
class Gate:
    coverage_tolerance: float = 0.25
    """Act while the backtested coverage is at least ``confidence`` minus this. Two days of coverage are a
    noisy figure (a calibrated model's ranged 0.54-0.96 on the tuning traces, 5th-95th percentile), so the
    gate closes on a collapse (below 55 % for an 80 % bound: not an upper bound any more), not on noise."""
    max_error_ratio: float = 0.8
    """Act while the forecast's error is at most this share of the last value's (persistence)."""
    max_width: float = 0.10
    """Act while the bound is at most this share above the forecast over the provisioning window."""


@dataclass(frozen=True)
class ForecastSettings:
    look_ahead_minutes: int = 30
    """Forecast horizon: every step is forecast, bounded, backtested and reported."""
    confidence: float = 0.8
    """Stated confidence of the bound: the share of demand samples it is meant to cover."""
    cover_minutes: float = 10.0
    """Provisioning window: the published count covers the bound over the next this many minutes."""
    history_days: float = 14.0
    """History one run reads: the first 7 days feed the profile lags of the backtest over the rest."""
    calibration_days: float = 7.0
    """Origins whose errors set the bound's quantiles (at most the backtest span)."""
    gate_days: float = 2.0
    """Last origins the trust gate judges the model on, with a bound calibrated on the days before."""
    provision_levels: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8)
    """Quantile levels the replicas may be sized from, chosen per service by the priced backtest (the
    reported bound stays at ``confidence``, which is always a candidate; levels above it are not used).
    From the median (the forecast's own level, no headroom) up to the stated confidence."""
    target_reduction: float = 0.6
    """Share of the last value's under-provisioned samples a level is expected to remove (the target)."""
    target_extra_cost: float = 0.15
    """Extra replicas over the last value's that the target allows for that reduction. Their ratio prices
    under-provisioning against replicas when the level is chosen."""
    gate: Gate = field(default_factory=Gate)

    @property
    def levels(self) -> tuple[float, ...]:
        """The levels priced: ``provision_levels`` below the stated confidence, and the confidence itself
        (a service that asks for a stricter bound may be provisioned up to it, never beyond)."""
        return tuple(sorted({level for level in self.provision_levels if level < self.confidence} | {self.confidence}))

    def __post_init__(self) -> None:
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence {self.confidence} must be between 0 and 1 (e.g. 0.8)")
        if not self.provision_levels or not all(0 < level < 1 for level in self.provision_levels):
            raise ValueError(f"provision_levels {self.provision_levels} must be levels between 0 and 1 (e.g. 0.5 0.8)")
        if not 0 < self.target_reduction <= 1 or self.target_extra_cost < 0:
            raise ValueError(
                f"target_reduction {self.target_reduction} must be in (0, 1] and target_extra_cost "
                f"{self.target_extra_cost} at least 0"
            )
        if self.cover_minutes <= 0:
            raise ValueError(f"cover_minutes {self.cover_minutes} must be positive")
        if self.history_days < PROFILE_DAYS + self.gate_days + 1:
            raise ValueError(
                f"history of {self.history_days:g} days cannot hold {PROFILE_DAYS} days of profile lags, a day of "
                f"calibration and {self.gate_days:g} days of backtest; read at least "
                f"{math.ceil(PROFILE_DAYS + self.gate_days + 1)} days"
            )


@dataclass(frozen=True)
class Fit:
    """What the model knows at one origin: its forecast, bound and trust figures."""

    params: Candidate | None
    forecast: Array
    """Forecast of every step of the look-ahead (empty without a model)."""
    upper: Array
    """Calibrated upper bound of every step (NaN where it cannot be calibrated yet)."""
    quantiles: Array
    """The bound's normalized-error quantile per step (empty when it cannot be calibrated yet)."""
    coverage: float
    """Backtested coverage of the bound over the gate window: share of busy samples at or below it."""
    error_ratio: float
    """Forecast MAE / persistence MAE over the gate window."""
    width: float
    """(bound - forecast) / forecast over the provisioning window, on the gate window's origins."""
    reason: str
    """Why the bound is not usable, or "" when the gate is open."""
    last_value_coverage: float = math.nan
    """Share of the gate window's busy samples at or below the forecast itself, no bound: for a persistence
    model, what the reactive HPA's own provisioning covered (NaN when not judged)."""
    level: float = math.nan
    """Quantile level the replicas are sized from, chosen by the priced backtest (NaN without one)."""
    provision: Array = field(default_factory=lambda: np.empty(0))
    """Bound at ``level`` for every step: what the replicas are sized for (empty without one)."""
    provision_quantiles: Array = field(default_factory=lambda: np.empty(0))
    """That bound's normalized-error quantile per step."""

    @property
    def trusted(self) -> bool:
        return not self.reason


class ForecastBank:
    """Every grid point's forecasts for every origin of a series, and fitting at any origin.

    The CronJob builds one over its history and fits at the last origin; the simulator builds one over
    a whole trace and fits at every run, each time seeing only a ``history_days`` window of outcomes that
    were known by then.
    """

    def __init__(self, series: Series, settings: ForecastSettings) -> None:
        self.series = series
        self.settings = settings
        values = series.values
        self.day = steps_per_day(series.step_seconds)
        self.horizon = look_ahead_steps(settings.look_ahead_minutes, series.step_seconds)
        self.cover = min(self.horizon, look_ahead_steps(settings.cover_minutes, series.step_seconds))
        self.window = round(settings.history_days * self.day) + 1  # a query from end - days to end, inclusive
        # Forecasts at origin o read back to o - 7 days - (level window - 1): the backtest starts after that.
        self.lags = max(history_needed(c, self.day) for c in CANDIDATES)
        self.calibration = round(settings.calibration_days * self.day)
        self.gate_span = round(settings.gate_days * self.day)
        mean = trailing_mean(values, self.lags)
        self.floor = LEVEL_FLOOR * mean
        self.idle = IDLE_SHARE * mean
        self.future = future_matrix(values, self.horizon)
        self.paths: dict[Candidate, Array] = {}
        self.errors: dict[Candidate, RunningSum] = {}
        for params in CANDIDATES:
            paths = candidate_paths(values, self.horizon, self.day, params, self.floor)
            self.paths[params] = paths
            self.errors[params] = RunningSum(origin_errors(paths, self.future))
        self.persistence = RunningSum(origin_errors(persistence_paths(values, self.horizon), self.future))
        self._score_cache: dict[Candidate, tuple[Array, npt.NDArray[np.bool_]]] = {}

    def _scores(self, params: Candidate, first: int, last: int) -> tuple[Array, npt.NDArray[np.bool_]]:
        """Normalized errors of origins ``[first, last)`` and which of them count (finite, not idle)."""
        if params not in self._score_cache:
            forecast, actual = self.paths[params], self.future
            with np.errstate(invalid="ignore", divide="ignore"):
                scores = (actual - forecast) / (forecast + self.floor[:, None])
            usable = np.isfinite(scores) & (np.maximum(forecast, actual) > self.idle[:, None])
            self._score_cache[params] = (np.where(usable, scores, np.inf), usable)
        scores, usable = self._score_cache[params]
        return scores[first:last], usable[first:last]

    def _quantiles(self, params: Candidate, first: int, last: int) -> Array | None:
        """Conformal ``confidence`` quantile per look-ahead step over origins ``[first, last)``."""
        table = self._level_quantiles(params, first, last, (self.settings.confidence,))
        return None if table is None else table[0]

    def _level_quantiles(self, params: Candidate, first: int, last: int, levels: tuple[float, ...]) -> Array | None:
        """Conformal quantiles ``[level, step]`` over origins ``[first, last)``: one sort serves every level."""
        if last - first <= 0:
            return None
        scores, usable = self._scores(params, first, last)
        # Unusable scores are +inf, so they sort last and the rank counts usable ones only.
        counts = usable.sum(axis=0)
        if counts.min() < MIN_SCORES:
            return None
        ranks = np.ceil((counts[None, :] + 1) * np.asarray(levels)[:, None]).astype(int)
        if (ranks > counts[None, :]).any():
            return None
        ordered = np.sort(scores, axis=0)
        return ordered[ranks - 1, np.arange(self.horizon)[None, :]]

    def choose_level(self, params: Candidate, quantiles: Array, first: int, last: int) -> int:
        """Index of the cheapest level on origins ``[first, last)`` (``quantiles[level, step]`` calibrated
        before them), priced against carrying the last value forward (see the module docstring)."""
        settings = self.settings
        actual = self.future[first:last, : self.cover]
        _, usable = self._scores(params, first, last)
        busy = usable[:, : self.cover] & np.isfinite(actual)
        last_value = self.series.values[first:last]
        last_cost = float(last_value.sum())
        last_under = float((actual > last_value[:, None])[busy].sum())
        price = settings.target_extra_cost / settings.target_reduction
        best, best_cost = 0, math.inf
        for index in range(len(quantiles)):
            provision = self.bound(params, quantiles[index], first, last)[:, : self.cover].max(axis=1)
            cost = float(provision.sum()) / last_cost if last_cost > 0 else 0.0
            if last_under > 0:
                cost += price * float((actual > provision[:, None])[busy].sum()) / last_under
            if cost < best_cost - 1e-12:
                best, best_cost = index, cost
        return best

    def bound(self, params: Candidate, quantiles: Array, first: int, last: int) -> Array:
        forecast = self.paths[params][first:last]
        return np.maximum(forecast + quantiles * (forecast + self.floor[first:last, None]), 0.0)

    def fit(self, origin: int) -> Fit:
        """Fit at ``origin`` from what a run there sees: its history window and the outcomes known by then.

        Only origins whose forecasts have every profile lag inside the window are backtested (the
        window's last ``history_days - 7`` days), so a fit depends on the run's history alone: the
        CronJob and the simulator, whose bank spans a whole trace, get the same answer.
        """
        horizon = self.horizon
        known = origin - horizon + 1  # origins [.., known) have every step of their look-ahead observed
        start = max(0, origin - self.window + 1) + self.lags
        params = choose(self.errors, start, known, self.settings.gate.max_error_ratio)
        if params is None:
            return _no_fit("not enough history for a seasonal profile (a day at least)")
        forecast = self.paths[params][origin]
        if not np.isfinite(forecast).all():
            return _no_fit("not enough history for a seasonal profile (a day at least)", params)
        published = self._quantiles(params, max(start, known - self.calibration), known)
        gate_first = known - self.gate_span
        judged = self._quantiles(params, max(start, gate_first - self.calibration), gate_first)
        if published is None or judged is None or gate_first < start:
            reason = "not enough backtested forecasts to calibrate the bound"
            nan = math.nan
            return Fit(params, forecast, np.full(horizon, nan), np.empty(0), nan, nan, nan, reason)
        upper = np.maximum(forecast + published * (forecast + self.floor[origin]), 0.0)
        levels = self.settings.levels
        level_judged = self._level_quantiles(params, max(start, gate_first - self.calibration), gate_first, levels)
        level_published = self._level_quantiles(params, max(start, known - self.calibration), known, levels)
        if level_judged is None or level_published is None:  # same counts as the bound's: only a level >= 1 fails
            level_judged, level_published, levels = judged[None, :], published[None, :], (self.settings.confidence,)
        chosen = self.choose_level(params, level_judged, gate_first, known)
        provision_quantiles = level_published[chosen]
        provision = np.maximum(forecast + provision_quantiles * (forecast + self.floor[origin]), 0.0)
        scores, usable = self._scores(params, gate_first, known)
        covered = scores <= judged[None, :] + 1e-12
        coverage = float(covered[usable].mean()) if usable.any() else math.nan
        last_value_coverage = float((scores <= 1e-12)[usable].mean()) if usable.any() else math.nan
        model_error, _ = self.errors[params].mean(gate_first, known)
        last_value_error, _ = self.persistence.mean(gate_first, known)
        error_ratio = model_error / last_value_error if last_value_error > 0 else math.inf
        recent = self.bound(params, provision_quantiles, gate_first, known)[:, : self.cover].max(axis=1)
        expected = self.paths[params][gate_first:known, : self.cover].max(axis=1)
        width = float((recent - expected).sum() / expected.sum()) if expected.sum() > 0 else 0.0
        naive = isinstance(params, NaiveParams)
        reason = self.verdict(coverage, error_ratio, width, last_value_coverage if naive else None)
        return Fit(
            params,
            forecast,
            upper,
            published,
            coverage,
            error_ratio,
            width,
            reason,
            last_value_coverage,
            levels[chosen],
            provision,
            provision_quantiles,
        )

    def carry(self, fit: Fit, origin: int) -> Fit:
        """``fit``'s model, quantiles and verdict applied to the forecast at a later ``origin``.

        The simulator refits on a coarser clock than the CronJob (every hour instead of every run): a
        7-day calibration moves little in an hour, while the forecast itself is always fresh.
        """
        if fit.params is None or not fit.quantiles.size:
            return fit if fit.params is None else self.fit(origin)
        forecast = self.paths[fit.params][origin]
        if not np.isfinite(forecast).all():
            return self.fit(origin)
        upper = np.maximum(forecast + fit.quantiles * (forecast + self.floor[origin]), 0.0)
        provision = np.maximum(forecast + fit.provision_quantiles * (forecast + self.floor[origin]), 0.0)
        return Fit(
            fit.params,
            forecast,
            upper,
            fit.quantiles,
            fit.coverage,
            fit.error_ratio,
            fit.width,
            fit.reason,
            fit.last_value_coverage,
            fit.level,
            provision,
            fit.provision_quantiles,
        )

    def verdict(self, coverage: float, error_ratio: float, width: float, last_value_coverage: float | None) -> str:
        """Why the bound is not usable ("" when it is). ``last_value_coverage`` is given for a persistence
        model, which is judged on the headroom it adds instead of on beating the last value."""
        settings, gate = self.settings, self.settings.gate
        floor = settings.confidence - gate.coverage_tolerance
        if not math.isfinite(coverage):
            return "no busy samples in the backtest window to judge the bound on"
        if coverage + 1e-12 < floor:
            return (
                f"the {settings.confidence:.0%} bound covered {coverage:.1%} of the last "
                f"{settings.gate_days:g} days, below {floor:.0%}: not calibrated for this traffic now"
            )
        if last_value_coverage is not None:
            if last_value_coverage + 1e-12 >= settings.confidence:
                return (
                    f"the last value alone covered {last_value_coverage:.1%} of the last {settings.gate_days:g} days "
                    f"(at least {settings.confidence:.0%}): headroom adds nothing the reactive metrics do not see"
                )
        elif error_ratio > gate.max_error_ratio:
            return (
                f"forecast error is {error_ratio:.2f} of the last value's (limit {gate.max_error_ratio:g}): "
                "no better than what the reactive metrics already see"
            )
        if width > gate.max_width:
            return (
                f"the provisioning bound sits {width:.1%} above the forecast (limit {gate.max_width:.0%}): traffic too "
                "erratic to provision ahead at a reasonable cost"
            )
        return ""


def _no_fit(reason: str, params: Candidate | None = None) -> Fit:
    return Fit(params, np.empty(0), np.empty(0), np.empty(0), math.nan, math.nan, math.nan, reason)


@dataclass(frozen=True)
class Decision:
    """What one run publishes."""

    replicas: int
    """What KEDA acts on: the bound's replicas when trusted, else 0 (abstain: no effect under max())."""
    bound_replicas: int
    """Replicas the bound asks for, whether or not the gate let it through (0 without a bound)."""
    forecast_rps: float
    """Forecast peak request rate over the provisioning window."""
    upper_rps: float
    """Upper bound (at the stated confidence) of the request rate over the provisioning window."""
    fit: Fit
    confidence: float
    """The stated confidence of the bound (its nominal coverage)."""
    provision_rps: float = 0.0
    """Bound at the chosen provisioning level over the provisioning window: what the replicas are sized for."""

    @property
    def acted(self) -> bool:
        return self.replicas > 0

    @property
    def reason(self) -> str:
        return self.fit.reason or "trusted"


def replicas_for(
    rate: float, target_rps_per_pod: float, min_replicas: int, max_replicas: int, hpa_tolerance: float = 0.0
) -> int:
    """Replicas to publish so that ``rate`` fits at ``target_rps_per_pod`` once the HPA has acted."""
    wanted = math.ceil(rate * (1 + hpa_tolerance) / target_rps_per_pod - 1e-9) if rate > 0 else 0
    return max(min_replicas, min(max_replicas, wanted))


def decide(
    fit: Fit,
    cover: int,
    *,
    confidence: float,
    target_rps_per_pod: float,
    min_replicas: int,
    max_replicas: int,
    hpa_tolerance: float = 0.0,
) -> Decision:
    """The run's publication from a fit: the bound's replicas when trusted, 0 otherwise."""
    if fit.forecast.size == 0:
        return Decision(0, 0, 0.0, 0.0, fit, confidence)
    forecast_rps = float(fit.forecast[:cover].max())
    if not np.isfinite(fit.upper).all():
        return Decision(0, 0, forecast_rps, 0.0, fit, confidence)
    upper_rps = float(fit.upper[:cover].max())
    sized = fit.provision if fit.provision.size and np.isfinite(fit.provision).all() else fit.upper
    provision_rps = float(sized[:cover].max())
    wanted = replicas_for(provision_rps, target_rps_per_pod, min_replicas, max_replicas, hpa_tolerance)
    return Decision(wanted if fit.trusted else 0, wanted, forecast_rps, upper_rps, fit, confidence, provision_rps)


def fit_last(history: Series, settings: ForecastSettings) -> tuple[ForecastBank, Fit]:
    """One run: the bank over the history window and the fit at its last sample."""
    if len(history) < 2:
        raise TraceError("history needs at least 2 samples")
    bank = ForecastBank(history, settings)
    return bank, bank.fit(len(history) - 1)
