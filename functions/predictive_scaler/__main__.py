"""``python -m functions.predictive_scaler run``: one forecaster run (what the CronJob executes).

Settings come from flags (the CronJob passes them, rendered from the stack) or, with ``--stack``, from
the stack file; explicit flags win. Exit status: 0 published (acted or abstained), 1 runtime failure
(Prometheus or the Kubernetes API), 2 bad usage or configuration. When the history cannot be read and
the target is the ConfigMap, an abstaining document (``replicas: 0``) is published first, so KEDA never
keeps acting on a forecast that can no longer be refreshed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.predictive_scaler.decision import Decision, ForecastSettings, Gate, decide, fit_last
from functions.predictive_scaler.forecast import NaiveParams, look_ahead_steps, steps_per_day
from functions.predictive_scaler.headroom import (
    LIVE_STEP_SECONDS,
    NO_HEADROOM,
    Headroom,
    HeadroomSettings,
    fit_headroom_last,
    one_mechanism,
)
from functions.predictive_scaler.hpa import TOLERANCE
from functions.predictive_scaler.profile import Prediction, ProfileError, Scaling, load_service
from functions.predictive_scaler.prometheus import PrometheusError, query_range
from functions.predictive_scaler.publish import (
    KubeTarget,
    PublishError,
    configmap_name,
    document,
    headroom_document,
    log,
    publish_configmap,
    publish_file,
    publish_stdout,
)
from functions.predictive_scaler.series import (
    Series,
    TraceError,
    format_timestamp,
    parse_timestamp,
    read_trace_csv,
    resample_mean,
)


class UsageError(ValueError):
    """Flags that do not fit together; exit status 2."""


@dataclass(frozen=True)
class RunSettings:
    service: str
    min_replicas: int
    max_replicas: int
    target_rps_per_pod: float
    prediction: Prediction
    forecast: ForecastSettings
    scale_down_window_seconds: int = 300
    """The HPA's scale-down stabilization window: the live margin's backtest keeps its highest proposal."""


def _number(kind: type[int] | type[float], low: float, high: float | None = None) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {bound}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m functions.predictive_scaler",
        description="Forecast a service's request rate and publish the replicas it will need.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="forecast and publish the replicas one service needs")
    run.add_argument("--service", required=True, help="service name (names the query and the ConfigMap)")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--prometheus", metavar="URL", help="Prometheus base URL (query_range over HTTP)")
    source.add_argument("--history", type=Path, metavar="FILE.csv", help="offline history, header timestamp,value")
    run.add_argument("--stack", help="read the service's settings from this stack (name or stack file)")
    run.add_argument("--query", help="PromQL request rate (default: prediction.query with {service} filled in)")
    run.add_argument(
        "--live-query",
        help="PromQL total request rate KEDA's rps trigger reads (a 2-minute rate): the live margin is calibrated "
        "on it at a 2-minute step; without it (and without --history) the run publishes headroom 1",
    )
    run.add_argument(
        "--scale-down-window-seconds",
        type=_number(int, 0, 3600),
        help="the HPA's scale-down stabilization window (default: the stack's, else Kubernetes' 300)",
    )
    run.add_argument("--min-replicas", type=_number(int, 1))
    run.add_argument("--max-replicas", type=_number(int, 1))
    run.add_argument("--target-rps-per-pod", type=_number(float, 1e-9))
    run.add_argument("--look-ahead-minutes", type=_number(int, 5, 240), help="forecast horizon (30)")
    run.add_argument(
        "--confidence-threshold",
        type=_number(float, 0.5, 0.99),
        help="stated confidence of the provisioned upper bound, e.g. 0.8: it is meant to cover 80 %% of demand",
    )
    run.add_argument("--history-days", type=_number(int, 2, 90), help="history read per run (14)")
    run.add_argument(
        "--interval-minutes",
        type=_number(int, 1, 60),
        help="the CronJob's period; with --lead-minutes sets what one run covers (5)",
    )
    run.add_argument(
        "--lead-minutes",
        type=_number(float, 0, 60),
        default=5.0,
        help="from a run to its pods being ready: job, query, patch, KEDA poll, pod start-up (5)",
    )
    run.add_argument("--step", type=_number(int, 60, 3600), default=300, help="history resolution in s (300)")
    run.add_argument("--calibration-days", type=_number(float, 1, 60), default=7.0, help="errors behind the bound (7)")
    run.add_argument("--gate-days", type=_number(float, 0.5, 30), default=2.0, help="backtest the gate judges (2)")
    gate = Gate()
    run.add_argument(
        "--coverage-tolerance",
        type=_number(float, 0.0, 0.5),
        default=gate.coverage_tolerance,
        help=f"act while backtested coverage >= threshold minus this ({gate.coverage_tolerance:g})",
    )
    run.add_argument(
        "--max-error-ratio",
        type=_number(float, 0.01, 10.0),
        default=gate.max_error_ratio,
        help=f"a seasonal model is chosen and acted on while its error <= this x the last value's "
        f"({gate.max_error_ratio:g})",
    )
    run.add_argument(
        "--max-width",
        type=_number(float, 0.0, 10.0),
        default=gate.max_width,
        help=f"act while the bound is at most this share above the forecast ({gate.max_width:g})",
    )
    run.add_argument(
        "--hpa-tolerance", type=_number(float, 0.0, 0.5), default=TOLERANCE, help="HPA dead band to clear (0.1)"
    )
    run.add_argument("--now", help="ISO 8601 time of the run (default: now; with --history: its last sample)")
    run.add_argument("--publish", choices=("configmap", "stdout", "file"), default="configmap")
    run.add_argument("--output", type=Path, help="file for --publish file")
    run.add_argument("--configmap", help="ConfigMap name (default: predictive-scaler-<service>)")
    run.add_argument("--namespace", help="ConfigMap namespace (default: the pod's own)")
    run.add_argument("--kube-api", help="API server URL (default: in-cluster https://$KUBERNETES_SERVICE_HOST)")
    run.add_argument("--token-file", type=Path, help="bearer token file (default: the pod's service-account token)")
    run.add_argument("--ca-file", type=Path, help="CA bundle for the API server (default: the pod's ca.crt)")
    run.add_argument("--timeout", type=_number(float, 0.1, 300), default=10.0, help="HTTP timeout in s (10)")
    return parser


def resolve_settings(args: argparse.Namespace) -> RunSettings:
    stack = load_service(args.stack, args.service, need_prediction=False) if args.stack else None
    scaling = stack.scaling if stack is not None else Scaling()
    overrides = {
        "look_ahead_minutes": args.look_ahead_minutes,
        "confidence_threshold": args.confidence_threshold,
        "history_days": args.history_days,
        "interval_minutes": args.interval_minutes,
        "query": args.query,
    }
    prediction = scaling.prediction.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    minimum = args.min_replicas if args.min_replicas is not None else scaling.min_replicas
    maximum = args.max_replicas if args.max_replicas is not None else scaling.max_replicas
    if maximum < minimum:
        raise UsageError(f"--max-replicas {maximum} is below --min-replicas {minimum}")
    target = args.target_rps_per_pod or scaling.target_rps_per_pod
    if target is None:
        raise UsageError("--target-rps-per-pod: the service has no request-rate target; give one")
    if args.publish == "file" and args.output is None:
        raise UsageError("--output: required with --publish file")
    if not 0.5 <= prediction.confidence_threshold < 1:
        raise UsageError(
            f"--confidence-threshold: {prediction.confidence_threshold:g} from the stack is not a usable bound level "
            "(0.5 to 0.99)"
        )
    if steps_per_day(args.step) <= look_ahead_steps(prediction.look_ahead_minutes, args.step):
        raise UsageError("--step: too coarse for the look-ahead")
    try:
        forecast = ForecastSettings(
            look_ahead_minutes=prediction.look_ahead_minutes,
            confidence=prediction.confidence_threshold,
            cover_minutes=min(prediction.look_ahead_minutes, prediction.interval_minutes + args.lead_minutes),
            history_days=prediction.history_days,
            calibration_days=args.calibration_days,
            gate_days=args.gate_days,
            gate=Gate(
                coverage_tolerance=args.coverage_tolerance,
                max_error_ratio=args.max_error_ratio,
                max_width=args.max_width,
            ),
        )
    except ValueError as exc:
        raise UsageError(f"--history-days / --gate-days: {exc}") from None
    window = args.scale_down_window_seconds
    if window is None:
        window = scaling.scale_down.stabilization_window_seconds if stack is not None else 300
    return RunSettings(args.service, minimum, maximum, float(target), prediction, forecast, window)


def read_history(args: argparse.Namespace, settings: RunSettings, now: int | None) -> tuple[Series, int]:
    """The history window ending at the run time, and that time."""
    days = settings.prediction.history_days
    if args.history is not None:
        series = read_trace_csv(args.history)
        if now is not None:
            keep = (now - series.start) // series.step_seconds + 1
            if keep < 2:
                raise TraceError(f"{args.history}: no samples at or before --now")
            series = Series(series.start, series.step_seconds, series.values[:keep])
        steps = days * 86_400 // series.step_seconds
        return series.tail(steps + 1), series.end
    end = now if now is not None else int(time.time())
    end -= end % args.step
    query = promql(settings.prediction.query, settings.service)
    series = query_range(
        args.prometheus, query, start=end - days * 86_400, end=end, step=args.step, timeout=args.timeout
    )
    return series, end


def promql(template: str, service: str) -> str:
    """Fill ``{service}`` in the configured query (literal braces are doubled, as in str.format)."""
    try:
        return template.format(service=service)
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(
            f"--query: {template!r} is not a valid template ({exc}); write literal braces as {{{{ and }}}}"
        ) from None


def read_live(args: argparse.Namespace, settings: RunSettings, run_at: int, history: Series) -> Headroom:
    """The live margin: from ``--live-query`` at a 2-minute step, or an offline history fine enough for it.

    Raises PrometheusError when the live query fails (the caller publishes without a margin and exits 1).
    """
    if not settings.prediction.live_headroom:
        return Headroom(1.0, "live_headroom is off for this service")
    live_settings = HeadroomSettings.like(settings.forecast, args.hpa_tolerance, settings.scale_down_window_seconds)
    if args.history is not None:
        if LIVE_STEP_SECONDS % history.step_seconds:
            return Headroom(
                1.0, f"history step {history.step_seconds} s does not divide the live {LIVE_STEP_SECONDS} s"
            )
        live = resample_mean(history, LIVE_STEP_SECONDS) if history.step_seconds < LIVE_STEP_SECONDS else history
        return fit_headroom_last(live.values, LIVE_STEP_SECONDS, live_settings)
    if not args.live_query:
        return Headroom(1.0, "no --live-query given")
    end = run_at - run_at % LIVE_STEP_SECONDS
    span = math.ceil(live_settings.history_days * 86_400 / LIVE_STEP_SECONDS) * LIVE_STEP_SECONDS
    series = query_range(
        args.prometheus, args.live_query, start=end - span, end=end, step=LIVE_STEP_SECONDS, timeout=args.timeout
    )
    return fit_headroom_last(series.values, LIVE_STEP_SECONDS, live_settings)


def publish(args: argparse.Namespace, doc: dict[str, Any], service: str) -> None:
    if args.publish == "stdout":
        publish_stdout(doc)
    elif args.publish == "file":
        publish_file(doc, args.output)
    else:
        target = KubeTarget.in_cluster(
            name=args.configmap or configmap_name(service),
            api_url=args.kube_api,
            namespace=args.namespace,
            token_file=args.token_file,
            ca_file=args.ca_file,
        )
        publish_configmap(doc, target, timeout=args.timeout)


def abstain_document(settings: RunSettings, reason: str, generated_at: str) -> dict[str, Any]:
    return {
        "service": settings.service,
        "replicas": 0,
        "acted": False,
        "reason": reason,
        "threshold": settings.forecast.confidence,
        "confidence": None,
        "error_ratio": None,
        "last_value_coverage": None,
        "width": None,
        "forecast_rps": 0.0,
        "upper_rps": 0.0,
        "provision_level": None,
        "provision_rps": 0.0,
        "forecast_replicas": 0,
        "cover_minutes": settings.forecast.cover_minutes,
        "look_ahead_minutes": settings.forecast.look_ahead_minutes,
        "path": [],
        "model": None,
        "headroom": headroom_document(NO_HEADROOM),
        "generated_at": generated_at,
    }


def run(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    try:
        now = parse_timestamp(args.now) if args.now else None
    except ValueError:
        raise UsageError(f"--now: {args.now!r} is not an ISO 8601 timestamp (e.g. 2024-01-01T08:00:00Z)") from None
    try:
        history, run_at = read_history(args, settings, now)
    except PrometheusError as exc:
        log(f"error: {exc}")
        if args.publish == "configmap":
            stamp = format_timestamp(now if now is not None else time.time())
            try:
                publish(args, abstain_document(settings, f"no history: {exc}", stamp), settings.service)
                log("published an abstaining document (replicas 0) so KEDA stops using the last forecast")
            except PublishError as publish_exc:
                log(f"error: {publish_exc}")
        return 1
    started = time.perf_counter()
    bank, fit = fit_last(history, settings.forecast)
    decision: Decision = decide(
        fit,
        bank.cover,
        confidence=settings.forecast.confidence,
        target_rps_per_pod=settings.target_rps_per_pod,
        min_replicas=settings.min_replicas,
        max_replicas=settings.max_replicas,
        hpa_tolerance=args.hpa_tolerance,
    )
    fit_ms = 1000 * (time.perf_counter() - started)
    live_failed: PrometheusError | None = None
    try:
        headroom = read_live(args, settings, run_at, history)
    except PrometheusError as exc:
        live_failed, headroom = exc, Headroom(1.0, f"no live history: {exc}")
    seasonal = fit.params is not None and not isinstance(fit.params, NaiveParams)
    counts, margins = one_mechanism(decision.replicas, seasonal, headroom.factor, settings.min_replicas)
    if float(margins) != headroom.factor:
        headroom = Headroom(1.0, "a trusted seasonal count is published instead", headroom.level, headroom.multiple,
                            headroom.coverage, headroom.last_value_coverage)  # fmt: skip
    generated_at = format_timestamp(run_at if args.history is not None or now is not None else time.time())
    doc = document(
        decision,
        service=settings.service,
        generated_at=generated_at,
        look_ahead_minutes=settings.forecast.look_ahead_minutes,
        step_minutes=history.step_seconds / 60,
        cover_minutes=settings.forecast.cover_minutes,
        headroom=headroom,
        replicas=int(counts),
    )
    publish(args, doc, settings.service)
    log(
        f"{settings.service}: {'acted' if decision.acted else 'abstained'}: replicas={decision.replicas} "
        f"(bound asks {decision.bound_replicas}), forecast {decision.forecast_rps:.1f} req/s, "
        f"bound {decision.upper_rps:.1f} req/s at {settings.forecast.confidence:.0%}, sized from "
        f"{decision.provision_rps:.1f} req/s at level {_show(fit.level)}; backtest: coverage "
        f"{_show(fit.coverage)}, error ratio {_show(fit.error_ratio)}, "
        f"width {_show(fit.width)}; fit {fit_ms:.0f} ms on {len(history)} samples; {decision.reason}; "
        f"published replicas {int(counts)}, live headroom {headroom.factor:.4f} ({headroom.reason or 'trusted'})"
    )
    if live_failed is not None:
        log(f"error: live request rate: {live_failed}")
        return 1
    return 0


def _show(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (UsageError, ProfileError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
