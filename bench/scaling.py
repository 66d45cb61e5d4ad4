"""Benchmark: reactive vs scheduled vs predictive scaling on public demand traces of different shapes.

Runs the simulator (functions/predictive_scaler/simulate.py) with the stack's first prediction-enabled
service on every trace of functions/predictive_scaler/devtraces.py: a **tuning** set (the only traces
any default of the forecaster or its gate was chosen on), an **evaluation** set (only measured, but
looked at while the method changed), a **fresh** set (picked by shape, run once a method was frozen,
then looked at when persistence joined the candidate models), a **fresh2** set (picked by shape from
the datasets' documentation, run once on the committed method, then looked at when the provisioning
level became a per-service choice), a **fresh3** set (picked the same way, run once on that method, then
looked at when the headroom on the live request rate joined it), a **fresh4** set (picked the same way,
then looked at when the live margin's backtest learned the HPA's scale-down window) and a **fresh5** set
(picked the same way, before anything ran on them). The same prod settings run on every trace. Each trace
is scaled linearly so that its peak is ``PEAK_SHARE x max_replicas x per_pod_rps``. Per trace, against the
reactive HPA of the same run:

* under-provisioned minutes: >= 60 % fewer, at replica-hours: <= +15 %;
* coverage of the forecaster's bound (held-back samples): within 5 points of its stated confidence;
* time-to-scale-up (p95, from demand crossing the HPA's action point to more replicas requested): <= 60 s.

Also recorded: a reactive HPA with 10 % lower targets (the headroom the forecaster's dead-band factor
adds, to show what the forecast adds beyond headroom), forecast error against naive baselines, the
cost of one CronJob run, and how far the simulator's hourly refit is from refitting at every run.

    .venv/bin/python bench/scaling.py [--stack prod] [--sets tuning evaluation fresh fresh2 fresh3 fresh4 fresh5] [--traces NAME ...]
        [--refit-check TRACE]

Writes build/bench/scaling.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.predictive_scaler.decision import fit_last  # noqa: E402
from functions.predictive_scaler.devtraces import (  # noqa: E402
    EVALUATION,
    FRESH,
    FRESH2,
    FRESH3,
    FRESH4,
    FRESH5,
    TRACES,
    TUNING,
    load_trace,
)
from functions.predictive_scaler.forecast import accuracy  # noqa: E402
from functions.predictive_scaler.headroom import LIVE_STEP_SECONDS, HeadroomSettings, fit_headroom_last  # noqa: E402
from functions.predictive_scaler.hpa import TOLERANCE  # noqa: E402
from functions.predictive_scaler.profile import ProfileError, ServiceProfile, load_service  # noqa: E402
from functions.predictive_scaler.series import Series, resample_mean  # noqa: E402
from functions.predictive_scaler.simulate import (  # noqa: E402
    SimulationOptions,
    cron_values,
    fine_demand,
    forecast_settings,
    options_for,
    predictive_values,
    run_scenario,
    simulate,
)

PEAK_SHARE = 0.9
TARGET_REDUCTION = 0.60
TARGET_EXTRA_REPLICA_HOURS = 0.15
TARGET_COVERAGE_POINTS = 0.05
TARGET_SCALE_UP_SECONDS = 60.0


def headroom_baseline(service: ServiceProfile, demand: Series, options: SimulationOptions) -> dict[str, Any]:
    """The reactive HPA with its targets lowered by the forecaster's dead-band factor (same headroom)."""
    scaling = service.scaling
    lower = scaling.model_copy(
        update={
            "target_cpu_utilization": round(scaling.target_cpu_utilization / (1 + TOLERANCE))
            if scaling.target_cpu_utilization
            else None,
            "target_rps_per_pod": scaling.target_rps_per_pod / (1 + TOLERANCE) if scaling.target_rps_per_pod else None,
        }
    )
    return run_scenario(lower, demand, [], options).summary()


RUN_COST_SAMPLES = 20
"""Runs timed per trace, at origins spread over it (each a whole CronJob run's model work)."""


def run_cost_ms(trace: Series, service: ServiceProfile, options: SimulationOptions) -> dict[str, float]:
    """Wall time of one CronJob run's model work: the forecast on its history (14 days at 5 minutes) and the
    live margin on its live history (9 days at 2 minutes); median, p95, max of each and of both together."""
    settings = forecast_settings(service.scaling, options)
    fine = fine_demand(trace, options.sync_seconds)
    history = resample_mean(fine, options.history_step_seconds)
    live = resample_mean(fine, LIVE_STEP_SECONDS)
    live_settings = HeadroomSettings.like(
        settings, options.publish_tolerance, service.scaling.scale_down.stabilization_window_seconds
    )
    span = round(settings.history_days * 86_400 / history.step_seconds) + 1
    live_span = round(live_settings.history_days * 86_400 / LIVE_STEP_SECONDS) + 1
    ends = np.linspace(span, len(history), RUN_COST_SAMPLES).astype(int)
    forecast_ms, live_ms = [], []
    for end in ends.tolist():
        window = Series(
            history.start + (end - span) * history.step_seconds, history.step_seconds, history.values[end - span : end]
        )
        started = time.perf_counter()
        fit_last(window, settings)
        forecast_ms.append(1000 * (time.perf_counter() - started))
        live_end = (window.end - live.start) // LIVE_STEP_SECONDS + 1
        started = time.perf_counter()
        fit_headroom_last(live.values[max(0, live_end - live_span) : live_end], LIVE_STEP_SECONDS, live_settings)
        live_ms.append(1000 * (time.perf_counter() - started))
    both = [a + b for a, b in zip(forecast_ms, live_ms, strict=True)]
    return {
        "median_ms": round(statistics.median(both), 1),
        "p95_ms": round(float(np.percentile(both, 95)), 1),
        "max_ms": round(max(both), 1),
        "forecast_median_ms": round(statistics.median(forecast_ms), 1),
        "live_median_ms": round(statistics.median(live_ms), 1),
        "runs": len(both),
        "samples": span,
        "live_samples": live_span,
    }


def windows_kept(service: ServiceProfile, simulation: Any, options: SimulationOptions) -> dict[str, Any]:
    """The predictive set-up with the windows as plain max() floors (prediction.replaces_schedules off)."""
    scaling, demand = service.scaling, simulation.demand
    cron = cron_values(scaling, demand.timestamps())
    result = run_scenario(scaling, demand, [*cron, simulation.predictive.values], options).summary()
    reactive = simulation.results["reactive"]
    return {
        "underprovisioned_reduction": round(
            1 - result["underprovisioned_minutes"] / reactive.underprovisioned_minutes, 4
        )
        if reactive.underprovisioned_minutes
        else 0.0,
        "replica_hours_increase": round(result["replica_hours"] / reactive.replica_hours - 1, 4),
    }


def targets_of(summary: dict[str, Any], confidence: float) -> dict[str, Any]:
    """Each target with the measured value beside it, met or not, and whether all are met."""
    comparison = summary["comparison"]
    coverage = comparison.get("interval_coverage")
    scale_up = summary["predictive"]["time_to_scale_up"]["p95_s"]
    reduction, extra = comparison["underprovisioned_reduction"], comparison["replica_hours_increase"]
    per_target = {
        "underprovisioned_reduction": {
            "value": reduction,
            "target": f">= {TARGET_REDUCTION:g}",
            "met": reduction >= TARGET_REDUCTION,
        },
        "replica_hours_increase": {
            "value": extra,
            "target": f"<= {TARGET_EXTRA_REPLICA_HOURS:g}",
            "met": extra <= TARGET_EXTRA_REPLICA_HOURS,
        },
        "interval_coverage": {
            "value": coverage,
            "target": f"{confidence:g} +- {TARGET_COVERAGE_POINTS:g}",
            "met": coverage is not None and abs(coverage - confidence) <= TARGET_COVERAGE_POINTS + 1e-9,
        },
        "time_to_scale_up": {
            "value": scale_up,
            "target": f"p95 <= {TARGET_SCALE_UP_SECONDS:g} s",
            "met": scale_up <= TARGET_SCALE_UP_SECONDS,
        },
    }
    met = {name: row["met"] for name, row in per_target.items()}
    return {"met": met, "per_target": per_target, "all": all(met.values())}


def select_traces(names: list[str] | None, sets: list[str]) -> list[str]:
    """The traces named, else every trace of the sets, in the catalogue's order (tuning ... fresh3)."""
    if names:
        return list(dict.fromkeys(names))
    return [name for name, spec in TRACES.items() if spec.role in sets]


def why_missed(summary: dict[str, Any]) -> list[str]:
    """Plain reasons for missed targets, from what the runs recorded."""
    comparison, notes = summary["comparison"], []
    if not summary["targets"]["met"]["underprovisioned_reduction"]:
        outcomes = comparison.get("run_outcomes", {})
        total = sum(outcomes.values()) or 1
        shares = ", ".join(f"{k} {v / total:.0%}" for k, v in outcomes.items())
        models = comparison.get("run_models", {})
        chosen = ", ".join(f"{k} {v / total:.0%}" for k, v in models.items())
        notes.append(
            f"forecaster acted on {comparison['predictive_acted_fraction']:.0%} of runs ({shares}; by model: "
            f"{chosen}); what is left is the schedules' and the reactive HPA's"
        )
    if not summary["targets"]["met"]["replica_hours_increase"]:
        windows = _share(summary["scheduled"]["replica_hours"], summary["reactive"]["replica_hours"])
        if "predictive_windows_kept" in summary:
            kept = summary["predictive_windows_kept"]["replica_hours_increase"]
            notes.append(
                f"replica-hours +{comparison['replica_hours_increase']:.1%}: the forecaster's headroom while it acts "
                f"and the windows while it abstains (the windows alone cost {windows}; kept as floors beside the "
                f"forecast: +{kept:.1%})"
            )
        else:
            notes.append(
                f"replica-hours +{comparison['replica_hours_increase']:.1%}: schedules {windows}, forecaster "
                f"+{comparison['forecaster_replica_hours_increase']:.1%} on top"
            )
    if not summary["targets"]["met"]["interval_coverage"]:
        notes.append(
            f"bound coverage {comparison.get('interval_coverage')} is more than 5 points from the stated level"
        )
    if not summary["targets"]["met"]["time_to_scale_up"]:
        notes.append(f"scale-up p95 {summary['predictive']['time_to_scale_up']['p95_s']} s")
    return notes


def _share(after: float, before: float) -> str:
    return f"{after / before - 1:.1%}" if before else "n/a"


def bench_trace(name: str, service: ServiceProfile, options: SimulationOptions, peak_rps: float) -> dict[str, Any]:
    spec = TRACES[name]
    started = time.perf_counter()
    trace = load_trace(name, peak_rps=peak_rps)
    simulation = simulate(trace, service, options)
    summary: dict[str, Any] = {"role": spec.role, "shape": spec.shape, "source": spec.source}
    summary |= simulation.summary()
    summary["reactive_with_headroom"] = headroom_baseline(service, simulation.demand, options)
    if service.scaling.prediction.replaces_schedules:
        summary["predictive_windows_kept"] = windows_kept(service, simulation, options)
    reactive = summary["reactive"]
    summary["reactive_underprovisioning_from_pod_startup"] = (
        round(reactive["underprovisioned_minutes_starting"] / reactive["underprovisioned_minutes"], 4)
        if reactive["underprovisioned_minutes"]
        else 0.0
    )
    summary["days"] = round(len(trace) * trace.step_seconds / 86_400, 1)
    history = resample_mean(simulation.demand, options.history_step_seconds)
    acc = accuracy(history.values, history.step_seconds, service.scaling.prediction.look_ahead_minutes)
    summary["forecast_mae_rps"] = {
        "model": round(acc.model, 2),
        "seasonal_naive_day": round(acc.seasonal_naive_day, 2),
        "seasonal_naive_week": round(acc.seasonal_naive_week, 2),
        "persistence": round(acc.persistence, 2),
        "usual_params": acc.params.label(),
    }
    summary["run_cost"] = run_cost_ms(trace, service, options)
    summary["targets"] = targets_of(summary, service.scaling.prediction.confidence_threshold)
    summary["missed_because"] = why_missed(summary)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


def refit_check(name: str, service: ServiceProfile, options: SimulationOptions, peak_rps: float) -> dict[str, Any]:
    """The simulator refits hourly and carries the fit between; the CronJob refits every run. Compare."""
    demand = fine_demand(load_trace(name, peak_rps=peak_rps), options.sync_seconds)
    hourly = predictive_values(service.scaling, demand, options)
    started = time.perf_counter()
    every = predictive_values(service.scaling, demand, replace(options, refit_minutes=1))
    elapsed = time.perf_counter() - started
    assert hourly.runs is not None and every.runs is not None
    same = float((hourly.runs.replicas == every.runs.replicas).mean())
    diff = abs(hourly.runs.replicas - every.runs.replicas)
    return {
        "trace": name,
        "runs": len(every.runs.replicas),
        "identical_publications": round(same, 4),
        "mean_abs_replica_difference": round(float(diff.mean()), 3),
        "acted_fraction": {"hourly": round(hourly.acted_fraction, 4), "every_run": round(every.acted_fraction, 4)},
        "coverage": {"hourly": round(hourly.runs.coverage(), 4), "every_run": round(every.runs.coverage(), 4)},
        "every_run_seconds": round(elapsed, 1),
    }


def print_trace(name: str, summary: dict[str, Any]) -> None:
    c, met = summary["comparison"], summary["targets"]["met"]
    print(f"{name} [{summary['role']}] ({summary['days']} days), {summary['seconds']} s: {summary['shape']}")
    rows = [(k, summary[k]) for k in ("reactive", "scheduled", "predictive")]
    rows.append(("headroom", summary["reactive_with_headroom"]))
    for label, row in rows:
        print(
            f"  {label:<11} under-provisioned {row['underprovisioned_minutes']:>9.1f} min  "
            f"replica-hours {row['replica_hours']:>10.1f}  scale-up p95 {row['time_to_scale_up']['p95_s']:>5.0f} s"
        )
    coverage = c.get("interval_coverage")
    print(
        f"  predictive vs reactive: {c['underprovisioned_reduction']:.1%} fewer under-provisioned minutes "
        f"({_mark(met['underprovisioned_reduction'])}), {c['replica_hours_increase']:+.1%} replica-hours "
        f"({_mark(met['replica_hours_increase'])}); bound coverage "
        f"{'n/a' if coverage is None else f'{coverage:.1%}'} ({_mark(met['interval_coverage'])}); acted on "
        f"{c['predictive_acted_fraction']:.0%} of runs; one run {summary['run_cost']['median_ms']} ms "
        f"(p95 {summary['run_cost']['p95_ms']} ms)"
    )
    models = c.get("run_models", {})
    total = sum(models.values()) or 1
    print("  runs by model chosen: " + ", ".join(f"{k} {v / total:.0%}" for k, v in models.items()))
    live = c.get("live_headroom")
    if live is not None:
        factor = live["mean_factor_when_published"]
        print(
            f"  live headroom: trusted on {live['trusted_fraction']:.0%} of runs, published (no seasonal count) on "
            f"{live['published_fraction']:.0%}"
            + (f" (mean factor {factor:.3f})" if factor else "")
            + f"; its multiple covered {live['coverage_at_chosen_level']} of the next 2-minute steps; levels "
            + ", ".join(f"{k} {v}" for k, v in live["levels"].items())
        )
    levels = c.get("acted_levels", {})
    acted = sum(levels.values()) or 1
    print("  acting runs by provisioning level: " + ", ".join(f"{k} {v / acted:.0%}" for k, v in levels.items()))
    print(
        f"  reactive under-provisioning while pods start: {summary['reactive_underprovisioning_from_pod_startup']:.1%}"
        " (the rest: too few replicas requested)"
    )
    if "predictive_windows_kept" in summary:
        kept = summary["predictive_windows_kept"]
        print(
            f"  with the windows kept as floors: {kept['underprovisioned_reduction']:.1%} fewer, "
            f"{kept['replica_hours_increase']:+.1%} replica-hours"
        )
    for note in summary["missed_because"]:
        print(f"  missed: {note}")


def _mark(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default="prod", help="stack name or stack file (default prod)")
    parser.add_argument(
        "--traces", nargs="+", choices=sorted(TRACES), help="traces to run (default: every trace of --sets)"
    )
    parser.add_argument(
        "--sets",
        nargs="+",
        choices=("tuning", "evaluation", "fresh", "fresh2", "fresh3", "fresh4", "fresh5"),
        default=["tuning", "evaluation", "fresh", "fresh2", "fresh3", "fresh4", "fresh5"],
        help="trace sets to run when --traces is not given (default: all seven)",
    )
    parser.add_argument(
        "--refit-check", default="taylor", help="trace to compare hourly and per-run refits on ('' skips)"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench" / "scaling.json")
    parser.add_argument(
        "--metrics-delay",
        type=int,
        default=0,
        help="seconds every load-driven metric lags (CPU, request rate, the live margin's rate) in every set-up (0)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="traces simulated at once (each is one process; figures unchanged)"
    )
    args = parser.parse_args(argv)
    args.traces = select_traces(args.traces, args.sets)
    try:
        service = load_service(args.stack, None)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = replace(options_for(service), metrics_delay_seconds=args.metrics_delay)
    scaling = service.scaling
    peak_rps = PEAK_SHARE * scaling.max_replicas * options.per_pod_rps
    settings = forecast_settings(scaling, options)
    report: dict[str, Any] = {
        "service": service.name,
        "stack": args.stack,
        "profile": scaling.model_dump(mode="json"),
        "forecaster": {
            "look_ahead_minutes": settings.look_ahead_minutes,
            "confidence": settings.confidence,
            "cover_minutes": settings.cover_minutes,
            "history_days": settings.history_days,
            "calibration_days": settings.calibration_days,
            "gate_days": settings.gate_days,
            "gate": vars(settings.gate),
        },
        "options": {k: v for k, v in vars(options).items() if isinstance(v, int | float)},
        "scaling_of_traces": f"linear, peak = {PEAK_SHARE} x max_replicas x per_pod_rps = {peak_rps:g} req/s",
        "targets": {
            "underprovisioned_reduction": TARGET_REDUCTION,
            "replica_hours_increase": TARGET_EXTRA_REPLICA_HOURS,
            "coverage_points": TARGET_COVERAGE_POINTS,
            "time_to_scale_up_p95_s": TARGET_SCALE_UP_SECONDS,
        },
        "sets": {
            "tuning": [t for t in args.traces if t in TUNING],
            "evaluation": [t for t in args.traces if t in EVALUATION],
            "fresh": [t for t in args.traces if t in FRESH],
            "fresh2": [t for t in args.traces if t in FRESH2],
            "fresh3": [t for t in args.traces if t in FRESH3],
            "fresh4": [t for t in args.traces if t in FRESH4],
            "fresh5": [t for t in args.traces if t in FRESH5],
        },
    }
    traces: dict[str, Any] = {}
    jobs = [(name, service, options, peak_rps) for name in args.traces]
    if args.jobs > 1:
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            for name, summary in zip(args.traces, pool.starmap(bench_trace, jobs), strict=True):
                traces[name] = summary
                print_trace(name, summary)
    else:
        for job in jobs:
            traces[job[0]] = bench_trace(*job)
            print_trace(job[0], traces[job[0]])
    report["traces"] = traces
    report["met_all_targets"] = {
        role: [name for name in report["sets"][role] if traces[name]["targets"]["all"]] for role in report["sets"]
    }
    if args.refit_check:
        report["refit_check"] = refit_check(args.refit_check, service, options, peak_rps)
        check = report["refit_check"]
        print(
            f"refit check on {check['trace']}: {check['identical_publications']:.1%} of {check['runs']} publications "
            f"identical with hourly refits vs every run (mean |difference| {check['mean_abs_replica_difference']} replicas)"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
