"""The run the report describes: steady state, then every fault at once, each followed to its receivers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from . import servers as srv
from .plan import PlanView
from .processes import HANG_SECONDS, wait_until
from .run import (
    HTTP_FAULT,
    INTERVAL_S,
    LIVE_FOR_LIMIT_S,
    PROMETHEUS_INTERNAL,
    Cell,
    Fault,
    _seconds,
    amtool_routes,
    cell_of,
    free_closed_port,
    promtool_firing,
    rules_reading,
)
from .wiring import routed_receivers

FAULTED_SERVICE = "backend"


def _expect(cell: Cell, fault: Fault, rules: list[dict[str, Any]], matchers: dict[str, str]) -> None:
    for rule in rules:
        for_s = _seconds(rule.get("for"))
        labels = {**{k: str(v) for k, v in (rule.get("labels") or {}).items()}, "alertname": rule["alert"], **matchers}
        fault.expected.append(
            {
                "alert": rule["alert"],
                "matchers": matchers,
                "for_seconds": for_s,
                "severity": labels.get("severity", ""),
                "mode": "live" if for_s <= LIVE_FOR_LIMIT_S else "pending live, firing by promtool, routing by amtool",
                "routes_to": [r.rsplit("/", 1)[-1] for r in routed_receivers(cell.am_config, labels)],
                "rule": rule,
            }
        )


def _matches(labels: dict[str, str], alert: str, matchers: dict[str, str]) -> bool:
    return labels.get("alertname") == alert and all(labels.get(k) == v for k, v in matchers.items())


def inject(cell: Cell) -> list[Fault]:
    faults: list[Fault] = []
    assert cell.servers.redis is not None and cell.servers.postgres is not None
    # Redis: kill the process of a node serving slots.
    victim = srv.masters(cell.servers.redis)[0]
    cell.servers.redis.nodes[victim].kill()
    redis = Fault("redis-master-killed", f"SIGKILL to redis-server of {victim} (a master)")
    redis.observed["pod"] = victim
    rules = rules_reading(cell.plan, "redis_up")
    if rules:
        _expect(cell, redis, rules, {"pod": victim})
    else:
        redis.gap = (
            "no alerting rule of the plan reads redis_up (or any per-node Redis health series): the exporter reports "
            "redis_up 0 for the killed master, Redis fails over, and no one is told"
        )
    faults.append(redis)
    # A backup that cannot reach its target, and one that succeeds.
    closed = free_closed_port()
    failed = cell.backup(
        "chain",
        "s3://cell-unreachable/chain",
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed}",
            "AWS_ACCESS_KEY_ID": "cell",
            "AWS_SECRET_ACCESS_KEY": "cell",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_MAX_ATTEMPTS": "1",
        },
    )
    backup_fail = Fault("backup-failed", f"backup --class chain to s3:// at closed port 127.0.0.1:{closed}")
    backup_fail.observed["exit_status"] = failed.returncode
    _expect(cell, backup_fail, rules_reading(cell.plan, "backup_failures_total"), {"class": "chain"})
    faults.append(backup_fail)
    before = cell.query('backup_completion_time{class="db"}')
    ok = cell.backup("db", f"file://{cell.workdir / 'vault' / 'db'}")
    backup_ok = Fault("backup-succeeded", "backup --class db to a file:// vault")
    backup_ok.observed = {
        "exit_status": ok.returncode,
        "completion_time_before": before[0]["value"][1] if before else None,
    }
    faults.append(backup_ok)
    # The database exporters lose the database.
    cell.servers.postgres.stop()
    database = Fault("database-lost", "pg_ctl stop -m immediate under the running postgres_exporters")
    _expect(cell, database, rules_reading(cell.plan, "pg_up"), {})
    faults.append(database)
    # The stand-in service fails 10 % and slows down.
    service = cell.services[FAULTED_SERVICE]
    service.error_rate = HTTP_FAULT["error_rate"]
    service.latency = HTTP_FAULT["latency"]
    service.load(clients=24, pause=0.0)
    http = Fault("http-errors-and-latency", f"{FAULTED_SERVICE}: 10 % 5xx, every answer {HTTP_FAULT['latency']} s")
    http_rules = {
        id(r): r
        for s in ("http_requests_total", "http_request_duration_seconds_bucket")
        for r in rules_reading(cell.plan, s)
    }
    _expect(cell, http, list(http_rules.values()), {"service": FAULTED_SERVICE})
    faults.append(http)
    return faults


def follow(cell: Cell, faults: list[Fault], injected: float) -> None:
    """Wait until every expected alert is pending (or firing) and every live one delivered to its receivers."""

    def settled() -> bool:
        now = time.monotonic() - injected
        active = cell.alerts()
        delivered = list(cell.webhook.alerts())
        done = True
        for fault in faults:
            for e in fault.expected:
                mine = [a for a in active if _matches(a["labels"], e["alert"], e["matchers"])]
                if mine and "pending_after_s" not in e:
                    e["pending_after_s"] = round(now, 1)
                    e["pending_after_intervals"] = round(now / INTERVAL_S, 1)
                    e["live_labels"] = mine[0]["labels"]
                if any(a["state"] == "firing" for a in mine) and "firing_after_s" not in e:
                    e["firing_after_s"] = round(now, 1)
                got = sorted({r for r, a in delivered if _matches(a["labels"], e["alert"], e["matchers"])})
                if got:
                    e["delivered_to"] = got
                    e.setdefault("delivered_after_s", round(now, 1))
                if "pending_after_s" not in e:
                    done = False
                if e["for_seconds"] <= LIVE_FOR_LIMIT_S and set(e["routes_to"]) - set(got):
                    done = False
        redis_fault = next(f for f in faults if f.name == "redis-master-killed")
        if "redis_up_0_after_s" not in redis_fault.observed:
            if cell.query(f'redis_up{{pod="{redis_fault.observed["pod"]}"}} == 0'):
                redis_fault.observed["redis_up_0_after_s"] = round(now, 1)
            else:
                done = False
        return done

    try:
        wait_until(
            settled, "every expected alert pending and every live one delivered", timeout=HANG_SECONDS, interval=0.5
        )
    except TimeoutError as exc:
        for fault in faults:
            fault.observed.setdefault("timeout", str(exc))


def verdicts(cell: Cell, faults: list[Fault]) -> None:
    for fault in faults:
        for e in fault.expected:
            if e["for_seconds"] > LIVE_FOR_LIMIT_S and "live_labels" in e:
                e["firing_promtool"] = promtool_firing(cell, e["rule"], e["matchers"], e["live_labels"])
                routed = amtool_routes(cell, {k: v for k, v in e["live_labels"].items() if k != "alertstate"})
                e["routed_amtool"] = [r.rsplit("/", 1)[-1] for r in routed]
            e["ok"] = "pending_after_s" in e and (
                set(e["routes_to"]) <= set(e.get("delivered_to", []))
                if e["for_seconds"] <= LIVE_FOR_LIMIT_S
                else bool(e.get("firing_promtool", {}).get("passed"))
                and set(e["routes_to"]) <= set(e.get("routed_amtool", []))
            )
            e.pop("rule")
        if fault.name == "backup-succeeded":
            after = cell.query('backup_completion_time{class="db"}')
            fault.observed["completion_time_after"] = after[0]["value"][1] if after else None
            fault.observed["ok"] = (
                fault.observed["exit_status"] == 0
                and fault.observed["completion_time_after"] != fault.observed["completion_time_before"]
            )
        if fault.name == "backup-failed":
            fault.observed["ok"] = fault.observed["exit_status"] != 0


def run(plan: PlanView, workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {
        "stack": plan.stack,
        "interval_seconds": INTERVAL_S,
        "live_for_limit_seconds": LIVE_FOR_LIMIT_S,
    }
    with cell_of(plan, workdir) as cell:
        cell.start()
        report["startup_seconds"] = round(time.monotonic() - started, 1)
        report["monitors"] = {name: [t.address for t in targets] for name, targets in sorted(cell.targets.items())} | {
            name: why for name, why in cell.not_run.items() if name not in cell.targets
        }
        report["stand_ins"] = {name: why for name, why in cell.not_run.items() if name in cell.targets}
        report["steady_backups"] = cell.steady_backups()
        steady: dict[str, Any] = {}
        try:
            steady["seconds"] = round(cell.steady(), 1)
        except TimeoutError as exc:
            steady["timeout"] = str(exc)
        steady["alerts"] = [a["labels"] for a in cell.alerts()]
        missing = cell.missing()
        report["series"] = {
            "queried": sorted(plan.queried),
            "missing": missing,
            "external_fed_by_stand_in": sorted((plan.external & set(plan.queried)) - PROMETHEUS_INTERNAL),
            "prometheus_internal_checked_after_faults": sorted(PROMETHEUS_INTERNAL & set(plan.queried)),
        }
        report["steady_state"] = steady
        injected = time.monotonic()
        faults = inject(cell)
        follow(cell, faults, injected)
        verdicts(cell, faults)
        internal_missing = [
            n
            for n in report["series"]["prometheus_internal_checked_after_faults"]
            if not cell.query(f'count({{__name__="{n}"}})')
        ]
        report["series"]["missing"] = missing + internal_missing
        report["faults"] = [
            {"name": f.name, "how": f.how, "expected": f.expected, "observed": f.observed, "gap": f.gap} for f in faults
        ]
        report["alerts_pending"] = sorted({a["labels"]["alertname"] for a in cell.alerts()})
        per_receiver: dict[str, list[str]] = {}
        for receiver, alert in cell.webhook.alerts():
            per_receiver.setdefault(receiver, [])
            if alert["labels"]["alertname"] not in per_receiver[receiver]:
                per_receiver[receiver].append(alert["labels"]["alertname"])
        report["delivered_per_receiver"] = per_receiver
    report["faults_delivered"] = all(e["ok"] for f in report["faults"] for e in f["expected"]) and all(
        f["observed"].get("ok", True) for f in report["faults"]
    )
    report["faults_without_rule"] = [f["name"] for f in report["faults"] if f["gap"]]
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def write(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
