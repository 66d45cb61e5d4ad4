"""Headroom on the live request rate: a calibrated multiplier KEDA applies at every HPA sync.

A count published every few minutes is computed from data minutes old and lags every ramp the season
does not predict. What the reactive HPA lacks on such traffic is not a forecast but a margin: the
request rate a couple of minutes from now, as a multiple of the rate the HPA acts on. This module calibrates that
multiple, and KEDA's scaling formula applies it to the live request rate (``rps x headroom /
target``), so capacity follows demand at every sync with room for how far it moves while new pods start.

**The model.** What the HPA will do with a margin, replayed on the history of the very query KEDA's
``rps`` trigger reads (a 2-minute rate at a 2-minute step): at every sync it proposes ``rate x margin``,
and it keeps the highest proposal of its scale-down stabilization window (``hold_seconds``), so the
capacity ready one ``LIVE_STEP_SECONDS`` (120 s) step later is ``margin x`` the highest rate of that
window. The ratio calibrated is therefore the rate one step ahead over the highest rate of the window
ending now (the rate now when the window is shorter than a step). 120 s is the time from the HPA's
decision to ready pods: a 90 s pod start-up plus the 15 s sync, rounded up to a whole step. Only samples
whose window peak is at least the level floor (5 % of the past week's mean) count: below it the
service's minimum replicas carry the load, and a ratio over almost nothing (an office's first requests of
the morning) says nothing about a margin.

**Conformal levels.** The ``level`` quantile (finite-sample rank ``ceil((n + 1) x level)``) of those
ratios over the last ``calibration_days`` is the multiple that covered the next step at that rate.
Like the forecaster's provisioning level, the level is chosen per service by a priced backtest on the
last ``gate_days`` (ratios calibrated on the days before them): ``cost = replicas with the multiple /
replicas without + lambda x under-provisioned samples with / without``, ``lambda = target_extra_cost /
target_reduction``; the cheapest level wins (ties: the lower).

**Trust.** Published only when, on the gate window, the stated-confidence multiple calibrated before it
covered at least ``confidence - coverage_tolerance`` of the samples (*calibrated*), the window's peak
alone covered less than the stated confidence (*informative*: otherwise the margin adds nothing the
reactive target does not give), and the chosen multiple is at most ``1 + max_width`` (*affordable*). Otherwise the
run publishes 1: the plain request-rate target, i.e. reactive scaling.

**Published factor.** ``max(1, multiple) x (1 + hpa_tolerance)``: the HPA ignores a proposal within its
10 % dead band, so without that factor the workload could sit 10 % above its target. The formula in the
ScaledObject clamps what it reads to [1, 2], so a bad value can never cut the request-rate target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from functions.predictive_scaler.decision import ForecastSettings
from functions.predictive_scaler.forecast import LEVEL_FLOOR, trailing_mean

Array = npt.NDArray[np.float64]

LIVE_STEP_SECONDS = 120
"""Step of the live history: a pod's start-up (90 s) plus the HPA's sync (15 s), rounded up to 2 minutes."""
MIN_RATIOS = 48
"""Fewest ratios behind a quantile (an hour and a half of busy 2-minute samples)."""


@dataclass(frozen=True)
class HeadroomSettings:
    """The forecaster's confidence, levels, windows, gate and price, plus what the HPA does with a margin."""

    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    """Confidence, levels, calibration and gate windows, gate limits and the targets' price: the same as
    the forecast's, so a margin is judged exactly as a count is."""
    hpa_tolerance: float = 0.1
    hold_seconds: int = 300
    """The HPA's scale-down stabilization window: it keeps the highest proposal of this long (Kubernetes'
    default 300 s; the platform passes the service's own)."""

    @classmethod
    def like(cls, forecast: ForecastSettings, hpa_tolerance: float, hold_seconds: int = 300) -> HeadroomSettings:
        return cls(forecast, hpa_tolerance, hold_seconds)

    @property
    def confidence(self) -> float:
        return self.forecast.confidence

    @property
    def levels(self) -> tuple[float, ...]:
        return self.forecast.levels

    @property
    def max_width(self) -> float:
        """Largest margin published (above the window's peak), before the dead-band factor."""
        return self.forecast.gate.max_width

    @property
    def history_days(self) -> float:
        """Live history one run reads: the gate window and a calibration before it."""
        return self.forecast.calibration_days + self.forecast.gate_days


@dataclass(frozen=True)
class Headroom:
    """What one run publishes for the live request rate."""

    factor: float
    """The multiplier KEDA applies to the live request rate (1: none, the reactive target)."""
    reason: str
    """Why no margin is published, or "" when it is."""
    level: float = math.nan
    """Quantile level the margin is sized at (NaN without one)."""
    multiple: float = math.nan
    """The calibrated multiple at that level, before the dead-band factor."""
    coverage: float = math.nan
    """Share of the gate window's next steps the stated-confidence multiple (calibrated before) covered."""
    last_value_coverage: float = math.nan
    """Share of the gate window's next steps at or below the rate now (what the reactive target covers)."""

    @property
    def trusted(self) -> bool:
        return not self.reason


NO_HEADROOM = Headroom(1.0, "no live request-rate history")


def held(values: Array, samples: int) -> Array:
    """The highest of ``values[t - samples + 1 .. t]`` (fewer at the start): what a scale-down window keeps."""
    out = values.copy()
    for lag in range(1, samples):
        out[lag:] = np.maximum(out[lag:], values[:-lag])
    return out


def live_ratios(values: Array, step_seconds: int, hold_seconds: int = 0) -> Array:
    """``values[t + 1]`` over the highest value of the hold window ending at ``t``, where that is at least
    the level floor; NaN elsewhere (and last)."""
    week = max(1, round(7 * 86_400 / step_seconds))
    floor = LEVEL_FLOOR * trailing_mean(values, week)
    ratios = np.full(len(values), np.nan)
    now = held(values, max(1, hold_seconds // step_seconds))[:-1]
    ahead = values[1:]
    busy = (now >= floor[:-1]) & (now > 0) & np.isfinite(now) & np.isfinite(ahead)
    ratios[:-1][busy] = ahead[busy] / now[busy]
    return ratios


class HeadroomBank:
    """The ratios of a whole live history, and the margin a run at any origin would publish."""

    def __init__(self, values: Array, step_seconds: int, settings: HeadroomSettings) -> None:
        self.values = values
        self.settings = settings
        day = 86_400 / step_seconds
        self.calibration = round(settings.forecast.calibration_days * day)
        self.gate_span = round(settings.forecast.gate_days * day)
        self.ratios = live_ratios(values, step_seconds, settings.hold_seconds)

    def _quantiles(self, first: int, last: int, levels: tuple[float, ...]) -> Array | None:
        window = self.ratios[max(0, first) : last]
        window = window[np.isfinite(window)]
        count = len(window)
        if count < MIN_RATIOS:
            return None
        ranks = np.ceil((count + 1) * np.asarray(levels)).astype(int)
        if (ranks > count).any():
            return None
        return np.partition(window, ranks - 1)[ranks - 1]

    def _choose_level(self, multiples: Array, first: int, last: int) -> int:
        """Index of the cheapest level on ``[first, last)``, priced against no margin (see the docstring)."""
        ratios = self.ratios[first:last]
        ratios = ratios[np.isfinite(ratios)]
        if not len(ratios):
            return 0
        last_under = float((ratios > 1.0 + 1e-12).sum())
        forecast = self.settings.forecast
        price = forecast.target_extra_cost / forecast.target_reduction
        best, best_cost = 0, math.inf
        for index, multiple in enumerate(np.maximum(multiples, 1.0).tolist()):
            cost = multiple  # every sample's capacity scales by the multiple: replicas x multiple / replicas x 1
            if last_under > 0:
                cost += price * float((ratios > multiple + 1e-12).sum()) / last_under
            if cost < best_cost - 1e-12:
                best, best_cost = index, cost
        return best

    def fit(self, origin: int) -> Headroom:
        """The margin a run whose history ends at ``origin`` publishes (it sees ratios up to ``origin - 1``)."""
        settings = self.settings
        known = origin  # the ratio at t needs the sample t + 1
        gate_first = known - self.gate_span
        start = max(0, origin - self.calibration - self.gate_span)  # the run's live history window
        levels = settings.levels  # the stated confidence is always among them
        stated = levels.index(settings.confidence)
        judged = self._quantiles(max(start, gate_first - self.calibration), gate_first, levels)
        published = self._quantiles(max(start, known - self.calibration), known, levels)
        gate = self.ratios[max(start, gate_first) : known]
        gate = gate[np.isfinite(gate)]
        if judged is None or published is None or gate_first < start or len(gate) < MIN_RATIOS:
            return Headroom(1.0, "not enough busy live history to calibrate a margin")
        coverage = float((gate <= judged[stated] + 1e-12).mean())
        last_value_coverage = float((gate <= 1.0 + 1e-12).mean())
        chosen = self._choose_level(judged, gate_first, known)
        multiple = max(1.0, float(published[chosen]))
        figures = {
            "level": levels[chosen],
            "multiple": multiple,
            "coverage": coverage,
            "last_value_coverage": last_value_coverage,
        }
        reason = self._verdict(coverage, last_value_coverage, max(1.0, float(judged[chosen])))
        factor = multiple * (1 + settings.hpa_tolerance) if not reason else 1.0
        return Headroom(factor, reason, **figures)

    def _verdict(self, coverage: float, last_value_coverage: float, multiple: float) -> str:
        settings = self.settings
        floor = settings.confidence - settings.forecast.gate.coverage_tolerance
        if coverage + 1e-12 < floor:
            days = settings.forecast.gate_days
            return f"the live margin covered {coverage:.1%} of the last {days:g} days, below {floor:.0%}"
        if last_value_coverage + 1e-12 >= settings.confidence:
            return (
                f"the live rate alone covered {last_value_coverage:.1%} of the next steps (at least "
                f"{settings.confidence:.0%}): a margin adds nothing"
            )
        if multiple - 1 > settings.max_width + 1e-12:
            return (
                f"the live margin is {multiple - 1:.1%} (limit {settings.max_width:.0%}): traffic too erratic to "
                "provision ahead at a reasonable cost"
            )
        return ""


def fit_headroom_last(values: Array, step_seconds: int, settings: HeadroomSettings) -> Headroom:
    """One run: the margin at the last sample of a live history."""
    if len(values) < 2:
        return NO_HEADROOM
    return HeadroomBank(values, step_seconds, settings).fit(len(values) - 1)


def one_mechanism(
    replicas: npt.ArrayLike, seasonal: npt.ArrayLike, factor: npt.ArrayLike, min_replicas: int
) -> tuple[Array, Array]:
    """What a run publishes when it has both a count and a live margin: one mechanism at a time.

    * a trusted **seasonal** count stands: it knows the ramps the clock brings; the margin is 1 (the two
      together would pay twice for the same risk);
    * otherwise a trusted **margin** is published, with the service's minimum as the count: "acting" to
      the formula, so the peak windows yield as they do to any trusted forecast (the margin's backtest
      says the live rate times the margin covers the demand to come, ramps included), and without a floor
      of its own (a persistence count would be the same model on 5-minute-old data, holding capacity for
      a rate that has since moved);
    * otherwise the run's count as it was (a persistence count, or 0: the windows and the reactive target).

    Vectorised (the simulator passes every run at once; the CronJob one run).
    """
    counts = np.asarray(replicas, dtype=np.float64)
    by_season = np.asarray(seasonal, dtype=bool) & (counts > 0)
    margins = np.where(by_season, 1.0, np.asarray(factor, dtype=np.float64))
    counts = np.where(~by_season & (margins > 1.0), float(min_replicas), counts)
    return counts, margins
