"""Replay a demand trace against reactive, scheduled and predictive scaling of one service.

``python -m functions.predictive_scaler.simulate --trace FILE.csv [--stack prod] [--service NAME]``

The scaling profile (replica range, targets, behaviour, schedules, prediction settings) comes from the
stack file, so the simulation runs what we ship. Three set-ups share one HPA model (see hpa.py):

(a) reactive: the CPU and request-rate metrics only;
(b) scheduled: (a) plus one KEDA cron trigger per schedule window (an External metric worth the
    window's absolute replicas while active, 1 otherwise);
(c) predictive: (b) plus the forecaster's metrics-api trigger, published every ``interval_minutes``
    with the value the CronJob would publish (0 when it abstains).

Load model (stated, not measured): demand is linear between trace samples and spreads evenly over
ready pods; a pod's capacity is ``--per-pod-rps`` (default: the service's ``target_rps_per_pod``, the
load the targets were sized for); its CPU utilization (% of requests) is ``target_cpu_utilization x
load / capacity`` (the CPU and request-rate targets describe the same load), capped at the
limits/requests ratio; memory is not driven by request rate in this model and is left out.
Under-provisioned time is time with demand above ready capacity (pods running hotter than sized for).
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

from components.config import ConfigError
from components.settings.base import cpu_millicores, minutes_of_day
from components.settings.services import ScalingSettings, ScheduleWindow, ServiceSettings
from functions.predictive_scaler.forecast import Calibration, backtest, replicas_for, steps_per_day
from functions.predictive_scaler.hpa import TOLERANCE, Hpa
from functions.predictive_scaler.profile import ProfileError, load_service
from functions.predictive_scaler.series import Series, TraceError, read_trace_csv, resample_mean

SCENARIOS = ("reactive", "scheduled", "predictive")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
    """Dead band the forecaster publishes above (see forecast.replicas_for); 0 to switch that off."""
    calibration: Calibration = field(default_factory=Calibration)


@dataclass
class ScenarioResult:
    underprovisioned_minutes: float
    replica_hours: float
    scale_events: int
    unserved_fraction: float
    """Share of requests above ready capacity."""
    peak_replicas: int
    mean_replicas: float
    replicas: npt.NDArray[np.int32] = field(repr=False)
    ready: npt.NDArray[np.int32] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        del data["replicas"], data["ready"]
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in data.items()}


@dataclass
class PredictiveTrace:
    values: npt.NDArray[np.float64]
    """metrics-api value per sync step (0 before the first publication and while abstaining)."""
    acted_fraction: float
    mean_confidence: float


@dataclass
class Simulation:
    service: str
    demand: Series
    results: dict[str, ScenarioResult]
    predictive: PredictiveTrace

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: self.results[name].summary() for name in SCENARIOS}
        base, pred = self.results["reactive"], self.results["predictive"]
        out["comparison"] = {
            "underprovisioned_reduction": _reduction(base.underprovisioned_minutes, pred.underprovisioned_minutes),
            "replica_hours_increase": round(pred.replica_hours / base.replica_hours - 1, 4)
            if base.replica_hours
            else 0.0,
            "predictive_acted_fraction": round(self.predictive.acted_fraction, 4),
            "predictive_mean_confidence": round(self.predictive.mean_confidence, 4),
        }
        return out


def _reduction(before: float, after: float) -> float:
    return round(1 - after / before, 4) if before > 0 else 0.0


def fine_demand(trace: Series, sync_seconds: int) -> Series:
    """The trace linearly interpolated onto the HPA's sync grid."""
    if trace.step_seconds % sync_seconds:
        raise TraceError(f"trace interval {trace.step_seconds} s is not a multiple of the {sync_seconds} s sync period")
    factor = trace.step_seconds // sync_seconds
    positions = np.arange((len(trace) - 1) * factor + 1) / factor
    values = np.interp(positions, np.arange(len(trace)), trace.values)
    return Series(trace.start, sync_seconds, values)


def window_mask(window: ScheduleWindow, epoch_seconds: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
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
    start, end = minutes_of_day(window.start), minutes_of_day(window.end)
    if start < end:
        inside = (minute >= start) & (minute < end)
        start_day = weekday
    else:
        inside = (minute >= start) | (minute < end)
        start_day = np.where(minute < end, (weekday - 1) % 7, weekday)
    days = [_WEEKDAYS.index(d) for d in window.days]
    return inside & np.isin(start_day, days)


def cron_values(scaling: ScalingSettings, epoch_seconds: npt.NDArray[np.int64]) -> list[npt.NDArray[np.float64]]:
    """One KEDA cron trigger per window: its desired replicas while active, 1 otherwise."""
    return [
        np.where(window_mask(w, epoch_seconds), float(scaling.scheduled_replicas(w)), 1.0) for w in scaling.schedules
    ]


def predictive_values(scaling: ScalingSettings, demand: Series, options: SimulationOptions) -> PredictiveTrace:
    """What the forecaster CronJob publishes, held from each run until the next, on the sync grid."""
    prediction = scaling.prediction
    step = options.history_step_seconds
    if (prediction.interval_minutes * 60) % step:
        step = 60
    history = resample_mean(demand, step)
    day = steps_per_day(step)
    result = backtest(history, prediction.look_ahead_minutes, options.calibration, retune_every=day)
    target = scaling.target_rps_per_pod or options.per_pod_rps
    times = history.timestamps()
    runs = np.flatnonzero(times % (prediction.interval_minutes * 60) == 0)
    published = np.zeros(len(runs))
    confident = np.zeros(len(runs), dtype=bool)
    for slot, origin in enumerate(runs.tolist()):
        upper = float(result.upper[origin])
        if math.isfinite(upper) and result.confidence[origin] + 1e-12 >= prediction.confidence_threshold:
            confident[slot] = True
            published[slot] = replicas_for(
                upper, target, scaling.min_replicas, scaling.max_replicas, options.publish_tolerance
            )
    effective = times[runs] + options.job_latency_seconds
    sync_times = demand.timestamps()
    latest = np.searchsorted(effective, sync_times, side="right") - 1
    values = np.where(latest >= 0, published[np.maximum(latest, 0)], 0.0)
    confidences = result.confidence[runs]
    return PredictiveTrace(
        values=values,
        acted_fraction=float(confident.mean()) if len(runs) else 0.0,
        mean_confidence=float(confidences.mean()) if len(runs) else 0.0,
    )


def initial_replicas(scaling: ScalingSettings, first_demand: float, options: SimulationOptions) -> int:
    """Start where the reactive HPA would have settled for the first sample (all pods ready)."""
    wanted = [scaling.min_replicas]
    if scaling.target_cpu_utilization is not None:
        per_pod_at_target = options.per_pod_rps * scaling.target_cpu_utilization / options.cpu_at_capacity_percent
        wanted.append(math.ceil(first_demand / per_pod_at_target))
    if scaling.target_rps_per_pod is not None:
        wanted.append(math.ceil(first_demand / scaling.target_rps_per_pod))
    return max(scaling.min_replicas, min(scaling.max_replicas, max(wanted)))


def run_scenario(
    scaling: ScalingSettings,
    demand: Series,
    external: list[npt.NDArray[np.float64]],
    options: SimulationOptions,
) -> ScenarioResult:
    """Replay ``demand`` through one HPA fed with the CPU/request-rate metrics plus ``external`` metrics."""
    values = demand.values.tolist()
    step = demand.step_seconds
    hpa = Hpa(scaling, initial_replicas(scaling, values[0], options), startup_seconds=options.pod_startup_seconds)
    columns = [e.tolist() for e in external]
    capacity_per_pod = options.per_pod_rps
    ceiling = options.cpu_ceiling_percent
    cpu_at_capacity = options.cpu_at_capacity_percent
    under_steps = 0
    unserved = 0.0
    total = 0.0
    replicas = np.empty(len(values), dtype=np.int32)
    ready_counts = np.empty(len(values), dtype=np.int32)
    for i, load in enumerate(values):
        now = float(i * step)
        ready = hpa.ready(now)
        if ready:
            per_pod = load / ready
            cpu: float | None = min(cpu_at_capacity * per_pod / capacity_per_pod, ceiling)
            rps: float | None = per_pod
        else:
            cpu = rps = None
        hpa.sync(now, cpu_utilization=cpu, rps_per_pod=rps, external=[c[i] for c in columns])
        ready = hpa.ready(now)
        capacity = ready * capacity_per_pod
        if load > capacity + 1e-9:
            under_steps += 1
            unserved += load - capacity
        total += load
        replicas[i] = hpa.replicas
        ready_counts[i] = ready
    return ScenarioResult(
        underprovisioned_minutes=under_steps * step / 60,
        replica_hours=float(replicas.sum()) * step / 3600,
        scale_events=hpa.scale_events,
        unserved_fraction=unserved / total if total else 0.0,
        peak_replicas=int(replicas.max()),
        mean_replicas=float(replicas.mean()),
        replicas=replicas,
        ready=ready_counts,
    )


def simulate(trace: Series, service: ServiceSettings, options: SimulationOptions) -> Simulation:
    scaling = service.scaling
    demand = fine_demand(trace, options.sync_seconds)
    cron = cron_values(scaling, demand.timestamps())
    if scaling.prediction.enabled:
        predictive = predictive_values(scaling, demand, options)
    else:
        predictive = PredictiveTrace(np.zeros(len(demand)), 0.0, 0.0)
    results = {
        "reactive": run_scenario(scaling, demand, [], options),
        "scheduled": run_scenario(scaling, demand, cron, options),
        "predictive": run_scenario(scaling, demand, [*cron, predictive.values], options),
    }
    return Simulation(service.name, demand, results, predictive)


def options_for(
    service: ServiceSettings,
    per_pod_rps: float | None = None,
    pod_startup_seconds: float = 90.0,
    job_latency_seconds: float = 60.0,
) -> SimulationOptions:
    """Simulation options derived from the service's own settings (what the CLI and the benchmark use)."""
    scaling = service.scaling
    capacity = per_pod_rps or scaling.target_rps_per_pod or 50.0
    ceiling = 100.0 * cpu_millicores(service.resources.limits.cpu) / cpu_millicores(service.resources.requests.cpu)
    return SimulationOptions(
        per_pod_rps=capacity,
        pod_startup_seconds=pod_startup_seconds,
        job_latency_seconds=job_latency_seconds,
        cpu_at_capacity_percent=float(scaling.target_cpu_utilization or 100),
        cpu_ceiling_percent=ceiling,
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
    print(f"{'set-up':<12}{'under-prov. min':>17}{'replica-hours':>15}{'scale events':>14}{'unserved':>10}")
    for name in SCENARIOS:
        r = summary[name]
        print(
            f"{name:<12}{r['underprovisioned_minutes']:>17.1f}{r['replica_hours']:>15.1f}"
            f"{r['scale_events']:>14d}{r['unserved_fraction']:>10.2%}"
        )
    c = summary["comparison"]
    print(
        f"predictive vs reactive: {c['underprovisioned_reduction']:.1%} fewer under-provisioned minutes, "
        f"{c['replica_hours_increase']:+.1%} replica-hours; forecaster acted on "
        f"{c['predictive_acted_fraction']:.1%} of runs (mean confidence {c['predictive_mean_confidence']:.3f})"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        service = load_service(args.stack, args.service)
        trace = read_trace_csv(args.trace)
        options = options_for(service, args.per_pod_rps, args.pod_startup, args.job_latency)
        simulation = simulate(trace, service, options)
    except ConfigError as exc:
        print(f"error: {exc.source}: invalid stack configuration", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
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
