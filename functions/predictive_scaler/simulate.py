"""Replay a demand trace against reactive, scheduled and predictive scaling of one service.

``python -m functions.predictive_scaler.simulate --trace FILE.csv [--stack prod] [--service NAME]``

The scaling profile (replica range, targets, behaviour, schedules, prediction settings) comes from the
stack file, so the simulation runs what we ship. Three set-ups share one HPA model (see hpa.py):

(a) reactive: the CPU and request-rate metrics only;
(b) scheduled: (a) plus one KEDA cron trigger per schedule window (an External metric worth the
    window's absolute replicas while active, 1 otherwise);
(c) predictive: (b) plus the forecaster's metrics-api trigger, published every ``interval_minutes``
    with the value the CronJob would publish (0 when it abstains), computed by the CronJob's own code
    at every run (walkforward.py); with ``prediction.replaces_schedules`` the windows count only while
    it abstains (the ScaledObject's formula).

Load model (stated, not measured): demand is linear between trace samples and spreads evenly over
ready pods; a pod's capacity is ``--per-pod-rps`` (default: the service's ``target_rps_per_pod``, the
load the targets were sized for); its CPU utilization (% of requests) is ``target_cpu_utilization x
load / capacity`` (the CPU and request-rate targets describe the same load), capped at the
limits/requests ratio; memory is not driven by request rate in this model and is left out. Metrics
reach the HPA without delay by default (a real metrics pipeline adds 15-60 s, which time-to-scale-up
excludes); ``metrics_delay_seconds`` delays every load-driven metric alike (CPU, request rate and the live
margin's request rate) to measure how much of a result rests on fresh metrics.

Measured per set-up: under-provisioned time (demand above ready capacity: pods running hotter than
sized for), replica-hours, and **time-to-scale-up**: from demand crossing what the requested replicas
carry to the HPA requesting more. "Carry" is taken two ways: up to the HPA's own action point
(capacity x (1 + tolerance), where its rule first calls for more pods: the controller's delay, what a
stabilization window adds) and up to plain capacity (adds the time demand spends in the 10 % dead band).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from functions.predictive_scaler.decision import ForecastSettings
from functions.predictive_scaler.headroom import LIVE_STEP_SECONDS, HeadroomSettings, one_mechanism
from functions.predictive_scaler.hpa import TOLERANCE, Hpa
from functions.predictive_scaler.profile import WEEKDAYS, ProfileError, Scaling, ServiceProfile, Window, load_service
from functions.predictive_scaler.series import Series, TraceError, read_trace_csv, resample_mean
from functions.predictive_scaler.walkforward import LiveHeadroom, Publishing, WalkForward, walk_forward, walk_headroom

SCENARIOS = ("reactive", "scheduled", "predictive")
HEADROOM_CEILING = 2.0
"""The ScaledObject's formula clamps the published margin to [1, 2]."""
LEAD_MINUTES = 5.0
"""From a forecaster run to its pods being ready: job start, query, patch, KEDA's poll, pod start-up."""


@dataclass(frozen=True)
class SimulationOptions:
    per_pod_rps: float = 50.0
    """Requests/s one ready pod can serve (its capacity)."""
    pod_startup_seconds: float = 90.0
    sync_seconds: int = 15
    """HPA sync period (kube-controller-manager default)."""
    job_latency_seconds: float = 60.0
    """From the CronJob's schedule time until KEDA can read its result (pod start + query + patch)."""
    cpu_at_capacity_percent: float = 60.0
    """CPU utilization (% of requests) of a pod serving ``per_pod_rps``; the CLI uses the service's CPU
    target, i.e. the CPU and request-rate targets were sized for the same load."""
    cpu_ceiling_percent: float = 200.0
    """Highest CPU utilization a saturated pod reports (limits / requests)."""
    history_step_seconds: int = 300
    """Resolution of the request-rate history the forecaster reads (the Prometheus query step)."""
    publish_tolerance: float = TOLERANCE
    """Dead band the forecaster publishes above (see decision.replicas_for); 0 to switch that off."""
    lead_minutes: float = LEAD_MINUTES
    metrics_delay_seconds: int = 0
    """Age of the load the HPA's metrics report (a multiple of ``sync_seconds``); 0: none."""
    refit_minutes: int = 60
    """The simulated forecaster refits its model, bound and gate this often (the CronJob: every run)."""


@dataclass(frozen=True)
class Delays:
    """Time-to-scale-up episodes of one set-up: seconds from a crossing to the HPA asking for more."""

    seconds: tuple[float, ...]
    absorbed: int
    """Crossings that ended (demand fell back) before any scale-up."""

    def summary(self) -> dict[str, Any]:
        data = np.asarray(self.seconds)
        if not len(data):
            return {"episodes": 0, "absorbed": self.absorbed, "p50_s": 0.0, "p95_s": 0.0, "max_s": 0.0, "over_60_s": 0}
        return {
            "episodes": len(data),
            "absorbed": self.absorbed,
            "over_60_s": int((data > 60).sum()),
            "p50_s": round(float(np.percentile(data, 50)), 1),
            "p95_s": round(float(np.percentile(data, 95)), 1),
            "max_s": round(float(data.max()), 1),
        }


class _CrossingClock:
    """Tracks one definition of "demand above what the requested replicas carry"."""

    def __init__(self, headroom: float) -> None:
        self.headroom = headroom
        self.since: float | None = None
        self.requested_then = 0
        self.delays: list[float] = []
        self.absorbed = 0

    def before_sync(self, now: float, load: float, requested: int, per_pod: float) -> None:
        above = load > requested * per_pod * self.headroom + 1e-9
        if above and self.since is None:
            self.since, self.requested_then = now, requested
        elif not above and self.since is not None:
            self.since = None
            self.absorbed += 1

    def after_sync(self, now: float, requested: int) -> None:
        if self.since is not None and requested > self.requested_then:
            self.delays.append(now - self.since)
            self.since = None

    def result(self) -> Delays:
        return Delays(tuple(self.delays), self.absorbed)


@dataclass
class ScenarioResult:
    underprovisioned_minutes: float
    underprovisioned_minutes_starting: float
    """The part of them with enough replicas requested, waiting for pods to start (the lag on ramps); the
    rest had too few requested (the HPA's 10 % dead band, its rate limits, or a floor that came too late)."""
    replica_hours: float
    scale_events: int
    unserved_fraction: float
    """Share of requests above ready capacity."""
    peak_replicas: int
    mean_replicas: float
    time_to_scale_up: Delays
    """From demand crossing the HPA's action point (capacity x (1 + tolerance)) to more replicas requested."""
    time_from_capacity: Delays
    """From demand crossing plain capacity to more replicas requested (includes the dead band)."""
    replicas: npt.NDArray[np.int32] = field(repr=False)
    ready: npt.NDArray[np.int32] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("replicas", "ready", "time_to_scale_up", "time_from_capacity"):
            del data[key]
        out: dict[str, Any] = {k: round(v, 4) if isinstance(v, float) else v for k, v in data.items()}
        out["time_to_scale_up"] = self.time_to_scale_up.summary()
        out["time_from_capacity"] = self.time_from_capacity.summary()
        return out


@dataclass
class PredictiveTrace:
    values: npt.NDArray[np.float64]
    """metrics-api value per sync step (0 before the first publication and while abstaining)."""
    runs: WalkForward | None
    headroom: npt.NDArray[np.float64] | None = None
    """Live margin per sync step (1: none), or None with ``prediction.live_headroom`` off."""
    live: LiveHeadroom | None = None

    @property
    def acted_fraction(self) -> float:
        return float(self.runs.acted.mean()) if self.runs is not None and len(self.runs.acted) else 0.0


@dataclass
class Simulation:
    service: str
    demand: Series
    results: dict[str, ScenarioResult]
    predictive: PredictiveTrace

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: self.results[name].summary() for name in SCENARIOS}
        base, sched, pred = (self.results[name] for name in SCENARIOS)
        comparison: dict[str, Any] = {
            "underprovisioned_reduction": _reduction(base.underprovisioned_minutes, pred.underprovisioned_minutes),
            "replica_hours_increase": _increase(base.replica_hours, pred.replica_hours),
            "forecaster_underprovisioned_reduction": _reduction(
                sched.underprovisioned_minutes, pred.underprovisioned_minutes
            ),
            "forecaster_replica_hours_increase": _increase(sched.replica_hours, pred.replica_hours),
            "predictive_acted_fraction": round(self.predictive.acted_fraction, 4),
        }
        runs = self.predictive.runs
        if runs is not None:
            comparison["interval_coverage"] = _round(runs.coverage())
            comparison["interval_coverage_when_acting"] = _round(runs.coverage(runs.acted))
            comparison["interval_coverage_per_step"] = [_round(c) for c in runs.coverage_per_step()]
            weekly = runs.weekly_coverage()
            comparison["weekly_coverage"] = {
                "weeks": len(weekly),
                "min": _round(min(weekly, default=math.nan)),
                "median": _round(float(np.median(weekly)) if weekly else math.nan),
                "max": _round(max(weekly, default=math.nan)),
            }
            comparison["run_outcomes"] = dict(runs.reasons.most_common())
            comparison["run_models"] = dict(runs.models.most_common())
            comparison["acted_levels"] = dict(sorted(runs.levels.items()))
            comparison["fit_ms_per_run"] = round(1000 * runs.fit_seconds / max(1, len(runs.replicas)), 2)
        live = self.predictive.live
        if live is not None:
            trusted = live.factors > 1.0
            factors = live.published if live.published is not None else live.factors
            published = factors > 1.0
            comparison["live_headroom"] = {
                "trusted_fraction": round(float(trusted.mean()), 4) if len(trusted) else 0.0,
                "published_fraction": round(float(published.mean()), 4) if len(published) else 0.0,
                "mean_factor_when_published": _round(float(factors[published].mean())) if published.any() else None,
                "coverage_at_chosen_level": _round(live.coverage),
                "run_outcomes": dict(live.reasons.most_common()),
                "levels": dict(sorted(live.levels.items())),
            }
        out["comparison"] = comparison
        return out


def _round(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def _reduction(before: float, after: float) -> float:
    return round(1 - after / before, 4) if before > 0 else 0.0


def _increase(before: float, after: float) -> float:
    return round(after / before - 1, 4) if before > 0 else 0.0


def fine_demand(trace: Series, sync_seconds: int) -> Series:
    """The trace linearly interpolated onto the HPA's sync grid."""
    if trace.step_seconds % sync_seconds:
        raise TraceError(f"trace interval {trace.step_seconds} s is not a multiple of the {sync_seconds} s sync period")
    factor = trace.step_seconds // sync_seconds
    positions = np.arange((len(trace) - 1) * factor + 1) / factor
    values = np.interp(positions, np.arange(len(trace)), trace.values)
    return Series(trace.start, sync_seconds, values)


def window_mask(window: Window, epoch_seconds: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Vectorised :func:`schedule.window_active` (same rules: timezone, crossing midnight, start days)."""
    zone = ZoneInfo(window.timezone)
    buckets = epoch_seconds // 900  # UTC offsets change on quarter hours at the finest
    unique, inverse = np.unique(buckets, return_inverse=True)
    offsets = np.array(
        [datetime.fromtimestamp(int(b) * 900, zone).utcoffset().total_seconds() for b in unique],  # type: ignore[union-attr]
        dtype=np.int64,
    )
    local = epoch_seconds + offsets[inverse]
    minute = (local // 60) % 1440
    weekday = (local // 86_400 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    start, end = window.start_minute, window.end_minute
    if start < end:
        inside = (minute >= start) & (minute < end)
        start_day = weekday
    else:
        inside = (minute >= start) | (minute < end)
        start_day = np.where(minute < end, (weekday - 1) % 7, weekday)
    days = [WEEKDAYS.index(d) for d in window.days]
    return inside & np.isin(start_day, days)


def cron_values(scaling: Scaling, epoch_seconds: npt.NDArray[np.int64]) -> list[npt.NDArray[np.float64]]:
    """One KEDA cron trigger per window: its desired replicas while active, 1 otherwise."""
    return [
        np.where(window_mask(w, epoch_seconds), float(scaling.scheduled_replicas(w)), 1.0) for w in scaling.schedules
    ]


def yield_to_forecast(
    cron: list[npt.NDArray[np.float64]], published: npt.NDArray[np.float64]
) -> list[npt.NDArray[np.float64]]:
    """The windows' values where the forecaster abstains (publishes 0), inactive where it acts.

    What the ScaledObject's formula ``max(rps / target, forecast > 0 ? forecast : max(windows))`` does
    with ``prediction.replaces_schedules``: a trusted forecast has learned on which days the peaks come
    (a window has no idea a closed office's Saturday is quiet); when it abstains, the windows are the floor.
    """
    acting = published > 0
    return [np.where(acting, 1.0, column) for column in cron]


def forecast_settings(scaling: Scaling, options: SimulationOptions) -> ForecastSettings:
    """The CronJob's settings for this service (what the platform renders as its flags)."""
    prediction = scaling.prediction
    return ForecastSettings(
        look_ahead_minutes=prediction.look_ahead_minutes,
        confidence=prediction.confidence_threshold,
        cover_minutes=min(prediction.look_ahead_minutes, prediction.interval_minutes + options.lead_minutes),
        history_days=prediction.history_days,
    )


def predictive_values(scaling: Scaling, demand: Series, options: SimulationOptions) -> PredictiveTrace:
    """What the forecaster CronJob publishes, held from each run until the next, on the sync grid."""
    prediction = scaling.prediction
    interval = prediction.interval_minutes * 60
    step = options.history_step_seconds if interval % options.history_step_seconds == 0 else 60
    history = resample_mean(demand, step)
    target = scaling.target_rps_per_pod or options.per_pod_rps
    publishing = Publishing(target, scaling.min_replicas, scaling.max_replicas, options.publish_tolerance)
    refit = max(1, options.refit_minutes // prediction.interval_minutes)
    settings = forecast_settings(scaling, options)
    runs = walk_forward(history, settings, publishing, interval, refit_every=refit)
    effective = runs.run_times + options.job_latency_seconds
    latest = np.searchsorted(effective, demand.timestamps(), side="right") - 1
    published = runs.replicas
    if not (prediction.live_headroom and scaling.target_rps_per_pod):
        values = np.where(latest >= 0, published[np.maximum(latest, 0)], 0.0)
        return PredictiveTrace(values=values, runs=runs)
    live_history = resample_mean(demand, LIVE_STEP_SECONDS)
    live = walk_headroom(
        live_history,
        HeadroomSettings.like(settings, options.publish_tolerance, scaling.scale_down.stabilization_window_seconds),
        runs.run_times,
        refit_every=refit,
    )
    published, factors = one_mechanism(published, runs.seasonal, live.factors, scaling.min_replicas)
    live.published = factors
    values = np.where(latest >= 0, published[np.maximum(latest, 0)], 0.0)
    headroom = np.where(latest >= 0, factors[np.maximum(latest, 0)], 1.0)
    return PredictiveTrace(values=values, runs=runs, headroom=headroom, live=live)


def delayed(demand: Series, seconds: int) -> Series:
    """``demand`` as a metric ``seconds`` old reports it (the first value before the trace began)."""
    if seconds % demand.step_seconds:
        raise TraceError(f"metrics delay {seconds} s is not a multiple of the {demand.step_seconds} s sync period")
    shift = seconds // demand.step_seconds
    if shift <= 0:
        return demand
    values = np.concatenate([np.full(shift, demand.values[0]), demand.values[:-shift]])
    return Series(demand.start, demand.step_seconds, values)


def live_headroom_values(
    scaling: Scaling, demand: Series, headroom: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The formula's ``rps x headroom / target`` term, in replicas, per sync step.

    The request rate is the same one the reactive request-rate metric sees in this model (no metrics
    delay on either), so the two differ by the margin alone; with a margin of 1 the term is the plain
    request-rate proposal and changes nothing.
    """
    target = scaling.target_rps_per_pod
    assert target is not None  # only called with a request-rate target
    return demand.values * np.minimum(np.maximum(headroom, 1.0), HEADROOM_CEILING) / target


def initial_replicas(scaling: Scaling, first_demand: float, options: SimulationOptions) -> int:
    """Start where the reactive HPA would have settled for the first sample (all pods ready)."""
    wanted = [scaling.min_replicas]
    if scaling.target_cpu_utilization is not None:
        per_pod_at_target = options.per_pod_rps * scaling.target_cpu_utilization / options.cpu_at_capacity_percent
        wanted.append(math.ceil(first_demand / per_pod_at_target))
    if scaling.target_rps_per_pod is not None:
        wanted.append(math.ceil(first_demand / scaling.target_rps_per_pod))
    return max(scaling.min_replicas, min(scaling.max_replicas, max(wanted)))


def run_scenario(
    scaling: Scaling,
    demand: Series,
    external: list[npt.NDArray[np.float64]],
    options: SimulationOptions,
) -> ScenarioResult:
    """Replay ``demand`` through one HPA fed with the CPU/request-rate metrics plus ``external`` metrics."""
    values = demand.values.tolist()
    seen = delayed(demand, options.metrics_delay_seconds).values.tolist()
    step = demand.step_seconds
    hpa = Hpa(scaling, initial_replicas(scaling, values[0], options), startup_seconds=options.pod_startup_seconds)
    columns = [e.tolist() for e in external]
    capacity_per_pod = options.per_pod_rps
    ceiling = options.cpu_ceiling_percent
    cpu_at_capacity = options.cpu_at_capacity_percent
    action_point, capacity_line = _CrossingClock(1 + hpa.tolerance), _CrossingClock(1.0)
    under_steps = 0
    starting_steps = 0
    unserved = 0.0
    total = 0.0
    replicas = np.empty(len(values), dtype=np.int32)
    ready_counts = np.empty(len(values), dtype=np.int32)
    for i, load in enumerate(values):
        now = float(i * step)
        ready = hpa.ready(now)
        if ready:
            per_pod = seen[i] / ready
            cpu: float | None = min(cpu_at_capacity * per_pod / capacity_per_pod, ceiling)
            rps: float | None = per_pod
        else:
            cpu = rps = None
        for clock in (action_point, capacity_line):
            clock.before_sync(now, load, hpa.replicas, capacity_per_pod)
        hpa.sync(now, cpu_utilization=cpu, rps_per_pod=rps, external=[c[i] for c in columns])
        for clock in (action_point, capacity_line):
            clock.after_sync(now, hpa.replicas)
        ready = hpa.ready(now)
        capacity = ready * capacity_per_pod
        if load > capacity + 1e-9:
            under_steps += 1
            unserved += load - capacity
            if load <= hpa.replicas * capacity_per_pod + 1e-9:
                starting_steps += 1
        total += load
        replicas[i] = hpa.replicas
        ready_counts[i] = ready
    return ScenarioResult(
        underprovisioned_minutes=under_steps * step / 60,
        underprovisioned_minutes_starting=starting_steps * step / 60,
        replica_hours=float(replicas.sum()) * step / 3600,
        scale_events=hpa.scale_events,
        unserved_fraction=unserved / total if total else 0.0,
        peak_replicas=int(replicas.max()),
        mean_replicas=float(replicas.mean()),
        time_to_scale_up=action_point.result(),
        time_from_capacity=capacity_line.result(),
        replicas=replicas,
        ready=ready_counts,
    )


def simulate(trace: Series, service: ServiceProfile, options: SimulationOptions) -> Simulation:
    scaling = service.scaling
    demand = fine_demand(trace, options.sync_seconds)
    cron = cron_values(scaling, demand.timestamps())
    if scaling.prediction.enabled:
        predictive = predictive_values(scaling, demand, options)
    else:
        predictive = PredictiveTrace(np.zeros(len(demand)), None)
    floors = yield_to_forecast(cron, predictive.values) if scaling.prediction.replaces_schedules else cron
    seen = delayed(demand, options.metrics_delay_seconds)
    extra = [] if predictive.headroom is None else [live_headroom_values(scaling, seen, predictive.headroom)]
    results = {
        "reactive": run_scenario(scaling, demand, [], options),
        "scheduled": run_scenario(scaling, demand, cron, options),
        "predictive": run_scenario(scaling, demand, [*floors, predictive.values, *extra], options),
    }
    return Simulation(service.name, demand, results, predictive)


def options_for(
    service: ServiceProfile,
    per_pod_rps: float | None = None,
    pod_startup_seconds: float = 90.0,
    job_latency_seconds: float = 60.0,
) -> SimulationOptions:
    """Simulation options derived from the service's own settings (what the CLI and the benchmark use)."""
    scaling = service.scaling
    capacity = per_pod_rps or scaling.target_rps_per_pod or 50.0
    return SimulationOptions(
        per_pod_rps=capacity,
        pod_startup_seconds=pod_startup_seconds,
        job_latency_seconds=job_latency_seconds,
        cpu_at_capacity_percent=float(scaling.target_cpu_utilization or 100),
        cpu_ceiling_percent=service.cpu_ceiling_percent,
    )


def plot(simulation: Simulation, path: Path, per_pod_rps: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    demand = simulation.demand
    stride = max(1, len(demand) // 4000)
    hours = (demand.timestamps()[::stride] - demand.start) / 3600
    figure, axes = plt.subplots(len(SCENARIOS), 1, sharex=True, figsize=(12, 8))
    for axis, name in zip(axes, SCENARIOS, strict=True):
        result = simulation.results[name]
        axis.plot(hours, demand.values[::stride], color="black", linewidth=0.7, label="demand (req/s)")
        axis.plot(hours, result.ready[::stride] * per_pod_rps, color="tab:blue", linewidth=0.8, label="ready capacity")
        axis.set_title(
            f"{name}: {result.underprovisioned_minutes:.0f} under-provisioned min, "
            f"{result.replica_hours:.0f} replica-hours, {result.scale_events} scale events",
            fontsize=9,
        )
        axis.set_ylabel("req/s")
        axis.legend(loc="upper right", fontsize=7)
    axes[-1].set_xlabel(f"hours since {datetime.fromtimestamp(demand.start, UTC):%Y-%m-%d %H:%M} UTC")
    figure.suptitle(f"service {simulation.service}: demand vs ready capacity")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be zero or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m functions.predictive_scaler.simulate",
        description="Replay a demand trace against reactive, scheduled and predictive scaling.",
    )
    parser.add_argument("--trace", type=Path, required=True, help="CSV with header timestamp,value (req/s)")
    parser.add_argument("--stack", default="prod", help="stack name (Pulumi.<stack>.yaml) or stack file path")
    parser.add_argument("--service", help="service name (default: the first with prediction enabled)")
    parser.add_argument(
        "--per-pod-rps",
        type=_positive,
        help="capacity of one ready pod in req/s (default: the service's target_rps_per_pod, else 50)",
    )
    parser.add_argument("--pod-startup", type=_non_negative, default=90.0, help="seconds until a new pod is ready")
    parser.add_argument("--job-latency", type=_non_negative, default=60.0, help="forecaster run to KEDA (s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--plot", type=Path, help="write demand vs capacity for the three set-ups (PNG)")
    return parser


def _print_table(simulation: Simulation) -> None:
    summary = simulation.summary()
    print(f"service {simulation.service}, {len(simulation.demand) * simulation.demand.step_seconds / 86400:.1f} days")
    print(
        f"{'set-up':<12}{'under-prov. min':>17}{'replica-hours':>15}{'scale events':>14}{'unserved':>10}"
        f"{'scale-up p95':>14}"
    )
    for name in SCENARIOS:
        r = summary[name]
        print(
            f"{name:<12}{r['underprovisioned_minutes']:>17.1f}{r['replica_hours']:>15.1f}"
            f"{r['scale_events']:>14d}{r['unserved_fraction']:>10.2%}{r['time_to_scale_up']['p95_s']:>12.0f} s"
        )
    c = summary["comparison"]
    line = (
        f"predictive vs reactive: {c['underprovisioned_reduction']:.1%} fewer under-provisioned minutes, "
        f"{c['replica_hours_increase']:+.1%} replica-hours; forecaster acted on {c['predictive_acted_fraction']:.1%} "
        "of runs"
    )
    if c.get("interval_coverage") is not None:
        line += f", bound coverage {c['interval_coverage']:.1%}"
    print(line)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        service = load_service(args.stack, args.service)
        trace = read_trace_csv(args.trace)
        options = options_for(service, args.per_pod_rps, args.pod_startup, args.job_latency)
        simulation = simulate(trace, service, options)
    except (ProfileError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.plot is not None:
        plot(simulation, args.plot, options.per_pod_rps)
    if args.json:
        print(json.dumps(simulation.summary(), indent=2))
    else:
        _print_table(simulation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
