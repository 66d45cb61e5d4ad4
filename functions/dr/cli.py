"""``python -m functions.dr [--config PATH] COMMAND``: the failover controller's command line.

Results go to stdout as one JSON document, events to stderr as JSON lines. Exit status: 0 done (including
"nothing to do"), 1 runtime failure or a refused failover, 2 bad input, 3 a promotion is needed but held
(``auto_promote`` off, or ``--confirm`` missing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from functions.dr.bounds import EXPORTED_NUMBERS, rto_bound
from functions.dr.clock import RealClock
from functions.dr.config import ControllerConfig, PostgresDatabase, load_config
from functions.dr.controller import Controller
from functions.dr.errors import DrError, UsageError
from functions.dr.events import Events
from functions.dr.metrics import Metrics
from functions.dr.signals import parse_text

SCENARIOS = ("region", "database-corruption", "app-crash")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m functions.dr", description="DR failover controller")
    p.add_argument("--config", help="controller config, YAML or JSON (or $DR_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("status", help="primary probes, DR database role, publication, record, lock, RTO bound")
    sub.add_parser("bound", help="the RTO bound of the config and the numbers the stack exports (no network)")
    watch = sub.add_parser("watch", help="probe every interval; fail over when the primary is confirmed down")
    watch.add_argument("--max-probes", type=int, help="stop after N probes (default: until a failover finishes)")
    watch.add_argument(
        "--carry", action="store_true", help="continue the failure count of the previous run (scheduled short runs)"
    )
    signal = sub.add_parser("signal", help="a notification (CloudWatch alarm via SNS, Cloudflare webhook) arrived")
    signal.add_argument("--input", default="-", help="file holding the notification JSON, - for stdin")
    failover = sub.add_parser("failover", help="fail over now (see --scenario)")
    failover.add_argument("--scenario", required=True, choices=SCENARIOS)
    failover.add_argument("--confirm", action="store_true", help="a human decided: promote even if auto_promote is off")
    sub.add_parser("drill", help="every failover step short of promoting, plus a simulated failover")
    reset = sub.add_parser("reset", help="forget the failover record after a failback (guards the new primary)")
    reset.add_argument("--confirm", action="store_true", required=True)
    return p


def build_controller(config: ControllerConfig) -> Controller:
    """The controller wired to AWS (clients in the DR region; ``AWS_ENDPOINT_URL`` is honoured by boto3)."""
    import boto3.session

    from functions.dr.backends import Backend, PostgresBackend, RdsBackend
    from functions.dr.health import NetworkProber
    from functions.dr.lease import Lease
    from functions.dr.publish import Publisher

    session = boto3.session.Session(region_name=config.region)
    clock = RealClock()
    backend: Backend
    database = config.database
    named = [getattr(database, k, None) for k in ("standby_dsn_secret", "primary_dsn_secret", "writable_dsn_secret")]
    secrets = session.client("secretsmanager") if any(named) else None
    if isinstance(database, PostgresDatabase):
        backend = PostgresBackend(database, config.database_id, secrets=secrets)
    else:
        backend = RdsBackend(database, config.database_id, session.client("rds"), secrets=secrets)
    metrics_settings = config.metrics
    return Controller(
        config,
        clock=clock,
        prober=NetworkProber(config.health, clock),
        backend=backend,
        publisher=Publisher(
            config.publish,
            ssm=session.client("ssm") if config.publish.ssm_parameter else None,
            secrets=session.client("secretsmanager") if config.publish.secret_id else None,
        ),
        lease=Lease(
            session.client("dynamodb"),
            config.lock.table,
            config.database_id,
            owner=config.lock.owner,
            lease_seconds=config.lock.lease_seconds,
            clock=clock,
        ),
        events=Events(
            clock,
            config.database_id,
            sns=session.client("sns") if metrics_settings.sns_topic_arn else None,
            topic_arn=metrics_settings.sns_topic_arn,
        ),
        metrics=Metrics(
            config.database_id,
            pushgateway_url=metrics_settings.pushgateway_url,
            cloudwatch=session.client("cloudwatch") if metrics_settings.cloudwatch_namespace else None,
            namespace=metrics_settings.cloudwatch_namespace,
        ),
    )


def bound_of(config: ControllerConfig) -> dict[str, Any]:
    bound = rto_bound(
        interval_seconds=config.health.interval_seconds,
        failure_threshold=config.health.failure_threshold,
        dns_ttl_seconds=config.dns_ttl_seconds,
        promotion_budget_seconds=config.database.promotion_budget_seconds,
    )
    return {
        "rto_bound_seconds": bound.seconds,
        "detection_seconds": bound.detection_seconds,
        "promotion_budget_seconds": bound.promotion_seconds,
        "dns_ttl_seconds": bound.ttl_seconds,
        "rto_target_seconds": config.rto_target_seconds,
        "exported_numbers": list(EXPORTED_NUMBERS),
    }


def _read_input(where: str) -> str:
    if where == "-":
        return sys.stdin.read()
    try:
        return Path(where).read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"--input: cannot read {where}: {err.strerror or err}") from None


def execute(args: argparse.Namespace, controller: Controller) -> tuple[int, dict[str, Any]]:
    if args.command == "status":
        return 0, controller.status()
    if args.command == "bound":
        return 0, bound_of(controller.config)
    if args.command == "watch":
        outcome = controller.watch(max_probes=args.max_probes, carry=args.carry)
    elif args.command == "signal":
        outcome = controller.confirm(parse_text(_read_input(args.input), args.input))
    elif args.command == "failover":
        outcome = controller.failover(args.scenario, confirm=args.confirm)
    elif args.command == "drill":
        from functions.dr.drill import run_drill

        result = run_drill(controller)
        return (0 if result["ok"] else 1), result
    elif args.command == "reset":
        cleared = controller.lease.clear_record()
        controller.events.emit("record_cleared", notify=True, existed=cleared)
        return 0, {"cleared": cleared}
    else:  # pragma: no cover - argparse restricts the choices
        raise UsageError(f"unknown command {args.command}")
    return outcome.exit_code, outcome.as_dict()


def run(argv: list[str], controller: Controller | None = None) -> tuple[int, dict[str, Any]]:
    """Parses ``argv`` and runs it (``controller`` given: tests and the simulation; else built from the config)."""
    try:
        args = parser().parse_args(argv)
        if args.command == "bound" and controller is None:
            return 0, bound_of(load_config(args.config))
        if controller is None:
            controller = build_controller(load_config(args.config))
        code, result = execute(args, controller)
        warnings = [*controller.events.warnings, *controller.metrics.warnings]
        if warnings:
            result["warnings"] = warnings
        return code, result
    except UsageError as err:
        return 2, {"error": str(err)}
    except DrError as err:
        return 1, {"error": str(err)}
    except Exception as err:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(err, BotoCoreError | ClientError):  # refused credentials, throttling, an endpoint down
            return 1, {"error": f"AWS: {err}"}
        raise


def main(argv: list[str] | None = None) -> int:
    code, result = run(sys.argv[1:] if argv is None else argv)
    print(json.dumps(result, default=str, sort_keys=True, indent=2))
    return code
