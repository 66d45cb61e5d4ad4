"""Every run the CronJob would have made over a trace, and how well its bounds held (simulator, bench).

Each run fits at its origin with exactly the code one CronJob run uses (``ForecastBank.fit``), on the
outcomes that were known by then within the run's history window (or, to keep a year's replay fast,
refits every k-th run and carries that fit to the fresh forecasts in between). The bank is built once over the
whole trace; the one difference from a real run is that forecasts near the start of a run's window may
use profile lags older than the window (a real run sees only ``history_days``), which only matters in
the first days of a fresh service.

Coverage is measured the way the stated confidence promises it: for every run with a calibrated bound,
each step of its look-ahead is a held-back sample (the bound was computed before it was observed); the
share of busy samples at or below the bound is the coverage, overall, per step and per week.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from functions.predictive_scaler.decision import Decision, Fit, ForecastBank, ForecastSettings, decide
from functions.predictive_scaler.forecast import Candidate, NaiveParams
from functions.predictive_scaler.headroom import Headroom, HeadroomBank, HeadroomSettings
from functions.predictive_scaler.series import Series, TraceError

WEEK_SECONDS = 7 * 86_400


@dataclass(frozen=True)
class Publishing:
    """How a run turns a bound into replicas (the service's targets and the HPA's dead band)."""

    target_rps_per_pod: float
    min_replicas: int
    max_replicas: int
    hpa_tolerance: float = 0.1


@dataclass
class WalkForward:
    run_times: npt.NDArray[np.int64]
    """Epoch seconds of each run (its history ends there)."""
    replicas: npt.NDArray[np.float64]
    """What each run published (0: abstained)."""
    bound_replicas: npt.NDArray[np.float64]
    """What each run's bound asked for, trusted or not (0: no bound yet)."""
    hits: npt.NDArray[np.bool_] = field(repr=False)
    """``[run, step]``: the demand stayed at or below that run's bound."""
    judged: npt.NDArray[np.bool_] = field(repr=False)
    """``[run, step]``: a calibrated bound and a busy, observed outcome exist (coverage counts it)."""
    reasons: Counter[str] = field(default_factory=Counter)
    fit_seconds: float = 0.0
    models: Counter[str] = field(default_factory=Counter)
    """Runs per kind of model chosen and whether it acted, e.g. ``"naive acted"``, ``"seasonal declined"``."""
    levels: Counter[str] = field(default_factory=Counter)
    """Runs that acted per provisioning level their replicas were sized from, e.g. ``"0.6"``."""
    seasonal: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool), repr=False)
    """Per run: a seasonal model acted (its count is what the run published)."""

    @property
    def acted(self) -> npt.NDArray[np.bool_]:
        return self.replicas > 0

    def coverage(self, runs: npt.NDArray[np.bool_] | None = None) -> float:
        judged = self.judged if runs is None else self.judged & runs[:, None]
        return float(self.hits[judged].mean()) if judged.any() else math.nan

    def coverage_per_step(self) -> list[float]:
        return [
            float(self.hits[j, s].mean()) if (j := self.judged[:, s]).any() else math.nan
            for s in range(self.hits.shape[1])
        ]

    def weekly_coverage(self, min_samples: int = 200) -> list[float]:
        """Coverage of each whole week (Monday-based, UTC) with at least ``min_samples`` judged samples."""
        weeks = (self.run_times + 3 * 86_400) // WEEK_SECONDS  # epoch day 0 was a Thursday
        out: list[float] = []
        for week in np.unique(weeks):
            rows = weeks == week
            judged = self.judged[rows]
            if judged.sum() >= min_samples:
                out.append(float(self.hits[rows][judged].mean()))
        return out


def walk_forward(
    history: Series,
    settings: ForecastSettings,
    publishing: Publishing,
    interval_seconds: int,
    *,
    refit_every: int = 1,
) -> WalkForward:
    """Decide at every run (every ``interval_seconds``, on the clock) over ``history``.

    ``refit_every=k`` refits (model choice, quantiles, gate) at every k-th run and carries that fit to
    the fresh forecasts of the runs in between (``ForecastBank.carry``); 1 is exactly the CronJob.
    """
    if interval_seconds % history.step_seconds:
        raise TraceError(
            f"run interval {interval_seconds} s is not a multiple of the history step {history.step_seconds} s"
        )
    bank = ForecastBank(history, settings)
    times = history.timestamps()
    runs = np.flatnonzero(times % interval_seconds == 0)
    count, horizon = len(runs), bank.horizon
    replicas = np.zeros(count)
    bound_replicas = np.zeros(count)
    hits = np.zeros((count, horizon), dtype=bool)
    judged = np.zeros((count, horizon), dtype=bool)
    reasons: Counter[str] = Counter()
    models: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    seasonal = np.zeros(count, dtype=bool)
    started = time.perf_counter()
    fit: Fit | None = None
    for slot, origin in enumerate(runs.tolist()):
        fit = bank.fit(origin) if fit is None or slot % refit_every == 0 else bank.carry(fit, origin)
        decision: Decision = decide(
            fit,
            bank.cover,
            confidence=settings.confidence,
            target_rps_per_pod=publishing.target_rps_per_pod,
            min_replicas=publishing.min_replicas,
            max_replicas=publishing.max_replicas,
            hpa_tolerance=publishing.hpa_tolerance,
        )
        replicas[slot] = decision.replicas
        bound_replicas[slot] = decision.bound_replicas
        reasons[_reason_key(decision.reason)] += 1
        models[f"{_kind(fit.params)} {'acted' if decision.acted else 'declined'}"] += 1
        if decision.acted:
            levels[f"{fit.level:g}"] += 1
            seasonal[slot] = fit.params is not None and not isinstance(fit.params, NaiveParams)
        if fit.upper.size and np.isfinite(fit.upper).all():
            actual = bank.future[origin]
            busy = np.isfinite(actual) & (np.maximum(fit.forecast, actual) > bank.idle[origin])
            judged[slot] = busy
            hits[slot] = busy & (actual <= fit.upper + 1e-9)
    elapsed = time.perf_counter() - started
    return WalkForward(times[runs], replicas, bound_replicas, hits, judged, reasons, elapsed, models, levels, seasonal)


def _kind(params: Candidate | None) -> str:
    if params is None:
        return "no model"
    return "naive" if isinstance(params, NaiveParams) else "seasonal"


def _reason_key(reason: str) -> str:
    """Group reasons by their kind (the figures in them differ from run to run)."""
    for key in ("trusted", "not enough", "not calibrated", "no better", "adds nothing", "too erratic", "no busy"):
        if key in reason:
            return key
    return reason


@dataclass
class LiveHeadroom:
    """The live margin every run would have published over a trace (1: none)."""

    factors: npt.NDArray[np.float64]
    reasons: Counter[str] = field(default_factory=Counter)
    levels: Counter[str] = field(default_factory=Counter)
    coverage: float = math.nan
    """Share of judged next steps (busy, one live step after a run) the multiple at the run's chosen level
    covered, on outcomes it had not seen."""
    published: npt.NDArray[np.float64] | None = None
    """What the runs published once a trusted seasonal count took precedence (headroom.one_mechanism)."""


def walk_headroom(
    live: Series, settings: HeadroomSettings, run_times: npt.NDArray[np.int64], *, refit_every: int = 1
) -> LiveHeadroom:
    """The margin at every run time (on the live history's grid), refit every ``refit_every`` runs and held between.

    A margin is a calibration over days, not a forecast: holding it for an hour moves it little, and the
    request rate it multiplies is always the live one.
    """
    bank = HeadroomBank(live.values, live.step_seconds, settings)
    origins = (run_times - live.start) // live.step_seconds
    factors = np.ones(len(run_times))
    reasons: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    hits = judged = 0
    current: Headroom | None = None
    for slot, origin in enumerate(origins.tolist()):
        if origin < 1 or origin >= len(live.values):
            reasons["no live history"] += 1
            continue
        if current is None or slot % refit_every == 0:
            current = bank.fit(origin)
        factors[slot] = current.factor
        reasons["trusted" if current.trusted else _headroom_reason(current.reason)] += 1
        if current.trusted:
            levels[f"{current.level:g}"] += 1
        ratio = bank.ratios[origin]
        if math.isfinite(current.multiple) and math.isfinite(ratio):
            judged += 1
            hits += int(ratio <= current.multiple + 1e-12)
    coverage = hits / judged if judged else math.nan
    return LiveHeadroom(factors, reasons, levels, coverage)


def _headroom_reason(reason: str) -> str:
    for key in ("not enough", "adds nothing", "too erratic", "covered"):
        if key in reason:
            return "not calibrated" if key == "covered" else key
    return reason
