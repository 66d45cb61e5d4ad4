"""Benchmark: the failover controller's RTO per scenario on a simulated clock, and the RPO per destination of
the mechanism each stack declares, each beside its target.

RTO: the real controller loop (functions/dr) runs through an outage on a simulated clock with the numbers
the stack exports (dr.health_check.interval_seconds, failure_threshold, the DNS TTL term: 0 for prod's
proxied Cloudflare hostname, dr.database.promotion_seconds), from the first failed probe to a writable
promoted database, plus that TTL.
The promotion takes its whole budget (the worst case the bound allows), once blocking like pg_promote and
once returning early like RDS. The baseline in the same run is the closed-form bound of the same numbers.
Tuning set (where the loop's timing was checked): prod's numbers, the promotion taking its whole budget,
outages starting at 20 phases of one probe interval. Evaluation set: prod's numbers with seeded random phases
and promotion times, and another legal config (30 s x 2, TTL 30 s, budget 120 s) the loop was never tuned on.

RPO: per destination (S3, Azure Blob, GCS, the DR database) and per failure (region loss, cloud loss,
corruption) from the WAL mechanism the stack file declares (backup_jobs.wal_archive.mode), computed by the same
function as the stack outputs (components.disaster_recovery.rpo through recovery_bounds): archive_command ships
every segment to the three clouds within archive_timeout + the wal-push bound; rds leaves the clouds to the
periodic dumps and S3 to RDS's own log upload (5 minutes).

Writes build/bench/dr.json. Runs in about a second.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from functions.dr.config import ControllerConfig, parse_config  # noqa: E402
from functions.dr.sim import simulate_rto  # noqa: E402

OUT = REPO / "build/bench/dr.json"


def stack(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((REPO / f"Pulumi.{name}.yaml").read_text())
    return {
        key.split(":", 1)[1]: value for key, value in (doc.get("config") or {}).items() if key.startswith("platform:")
    }


def controller_config(sections: dict[str, Any]) -> ControllerConfig:
    """The controller config the stack's dr section implies, with the numbers the stack exports
    (components.disaster_recovery renders the same ones into the deployed controller)."""
    from components.disaster_recovery.config import DrSettings

    dr = DrSettings.model_validate({**(sections.get("dr") or {}), "enabled": True})
    hc = dr.health_check
    return parse_config(
        {
            "auto_promote": True,
            "region": dr.region,
            "database_id": "bench",
            "health": {
                "interval_seconds": hc.interval_seconds,
                "failure_threshold": hc.failure_threshold,
                "timeout_seconds": hc.timeout_seconds,
                "primary_url": f"https://{dr.primary_target}{hc.path}",
                "primary_database": "db-rw.primary.internal:5432",
            },
            "database": {
                "kind": "postgres",
                "writer_endpoint": "db-rw.dr.internal:5432",
                "promotion_budget_seconds": dr.database.promotion_seconds,
            },
            "publish": {"ssm_parameter": "/platform/bench/db/writer"},
            "lock": {"table": "bench-dr"},
            "dns_ttl_seconds": dr.rto_ttl_seconds,
            "rto_target_seconds": dr.rto_target_seconds,
        },
        "stack dr section",
    )


def rto_runs(config: ControllerConfig, cases: list[tuple[float, float]]) -> dict[str, Any]:
    """Every scenario for every (outage phase, promotion seconds) case, blocking and not; the worst and median
    RTO (from the first failed probe, and from the outage's start) beside the bound and the target."""
    result: dict[str, Any] = {}
    interval = config.health.interval_seconds
    for scenario in ("region", "app-crash"):
        runs = []
        for phase, promotion in cases:
            fail_at = 5 * interval + phase
            for blocking in (True, False):
                run = simulate_rto(config, scenario, promotion_seconds=promotion, blocking=blocking, fail_at=fail_at)
                run["from_outage_start_seconds"] = run["first_failed_probe_at"] - fail_at + run["rto_seconds"]
                runs.append(run)
        rtos = [r["rto_seconds"] for r in runs]
        worst, bound, target = max(rtos), runs[0]["rto_bound_seconds"], runs[0]["rto_target_seconds"]
        result[scenario] = {
            "runs": len(runs),
            "rto_seconds_worst": worst,
            "rto_seconds_median": statistics.median(rtos),
            "from_outage_start_seconds_worst": round(max(r["from_outage_start_seconds"] for r in runs), 3),
            "rto_bound_seconds": bound,
            "rto_target_seconds": target,
            "within_bound": worst <= bound,
            "meets_target": worst <= target,
            "promote_calls_per_run": sorted({r["promote_calls"] for r in runs}),
        }
    result["database-corruption"] = {
        "rto_seconds_worst": None,
        "rto_target_seconds": config.rto_target_seconds,
        "meets_target": None,
        "why": "no promotion: the standby replays the same WAL as the primary; the controller fences the primary "
        "and pauses replay, recovery is a point-in-time restore whose time the restore drills measure",
    }
    return result


def rpo_by_destination(sections: dict[str, Any]) -> dict[str, Any]:
    """The RPO per destination and per failure beside the target, computed by the function the stack outputs use
    (components.disaster_recovery.config.recovery_bounds over the WAL mechanism the stack file declares)."""
    from components.platform.config import parse_config

    config = parse_config(sections)
    from components.disaster_recovery.config import recovery_bounds
    from components.disaster_recovery.rpo import rpo_by_destination as by_destination
    from components.disaster_recovery.rpo import rpo_by_failure, wal_mechanism

    wal = wal_mechanism(config.backup, config.backup_jobs)
    target = config.dr.rpo_target_seconds
    destinations = by_destination(wal, config.dr)
    rtc = config.dr.enabled and config.dr.replication_time_control  # the DR bucket exists only with dr.enabled
    failures = rpo_by_failure(destinations, replication_time_control=rtc)
    if config.dr.enabled:
        bounds = recovery_bounds(config.dr, config.backup.wal_archive_timeout_seconds, wal)
        assert bounds.rpo_destinations == destinations and bounds.rpo_failures == failures  # the outputs' figures
    result: dict[str, Any] = {"wal_mode": wal.mode, "rpo_target_seconds": target}
    for name, rpo in destinations.items():
        result[name] = {
            "rpo_seconds": rpo.seconds,
            "rpo_target_seconds": target,
            "meets_target": rpo.seconds is not None and rpo.seconds <= target,
            "mechanism": rpo.mechanism,
        }
    result["by_failure"] = {
        failure: {
            "rpo_seconds": rpo.seconds,
            "via": rpo.via,
            "rpo_target_seconds": target,
            "meets_target": rpo.seconds is not None and rpo.seconds <= target,
        }
        for failure, rpo in failures.items()
    }
    return result


SLOW_LEGAL = {"interval_seconds": 30, "failure_threshold": 2, "dns_ttl_seconds": 30, "promotion_seconds": 120}
"""An evaluation config unlike prod's: a 30 s probe interval, fewer failures, an unproxied hostname with a
30 s TTL, a longer promotion budget."""


def _with_numbers(sections: dict[str, Any], numbers: dict[str, int]) -> dict[str, Any]:
    dr = dict(sections.get("dr") or {})
    dr["health_check"] = {
        **(dr.get("health_check") or {}),
        "interval_seconds": numbers["interval_seconds"],
        "failure_threshold": numbers["failure_threshold"],
    }
    dr["dns_ttl_seconds"] = numbers["dns_ttl_seconds"]
    dr["proxied"] = False
    dr["database"] = {**(dr.get("database") or {}), "promotion_seconds": numbers["promotion_seconds"]}
    return {**sections, "dr": dr}


def _numbers(config: ControllerConfig) -> dict[str, int]:
    return {
        "interval_seconds": config.health.interval_seconds,
        "failure_threshold": config.health.failure_threshold,
        "dns_ttl_seconds": config.dns_ttl_seconds,
        "promotion_budget_seconds": config.database.promotion_budget_seconds,
    }


def main() -> None:
    rng = random.Random(20261206)
    prod_sections = stack("prod")
    prod = controller_config(prod_sections)
    interval, budget = prod.health.interval_seconds, prod.database.promotion_budget_seconds
    slow = controller_config(_with_numbers(prod_sections, SLOW_LEGAL))
    slow_budget = slow.database.promotion_budget_seconds
    report: dict[str, Any] = {
        "tuning": {
            "what": "prod's numbers, promotion taking its whole budget, outages starting at 20 phases of one interval",
            "numbers": _numbers(prod),
            "rto": rto_runs(prod, [(interval * i / 20, budget) for i in range(20)]),
        },
        "evaluation": {
            "prod_random": {
                "what": "prod's numbers, 20 seeded random (phase, promotion time <= budget) cases",
                "numbers": _numbers(prod),
                "rto": rto_runs(prod, [(rng.uniform(0, interval), rng.uniform(0.2, budget)) for _ in range(20)]),
            },
            "slow_config": {
                "what": "another legal config (30 s x 2, TTL 30, budget 120), 20 seeded random cases",
                "numbers": _numbers(slow),
                "rto": rto_runs(
                    slow,
                    [(rng.uniform(0, slow.health.interval_seconds), rng.uniform(0.2, slow_budget)) for _ in range(20)],
                ),
            },
        },
        "rpo": {name: rpo_by_destination(stack(name)) for name in ("prod", "staging")},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    sets = [("tuning", report["tuning"]), *report["evaluation"].items()]
    for name, entry in sets:
        for scenario, figures in entry["rto"].items():
            print(
                f"RTO {name:12} {scenario:20} worst {figures['rto_seconds_worst']} s "
                f"(bound {figures.get('rto_bound_seconds')}, target {figures['rto_target_seconds']})"
            )
    for name, destinations in report["rpo"].items():
        for destination, figures in destinations.items():
            if isinstance(figures, dict) and "mechanism" in figures:
                print(
                    f"RPO {name:12} {destination:20} {figures['rpo_seconds']} s (target {figures['rpo_target_seconds']}): "
                    f"{figures['mechanism']}"
                )
        for failure, figures in destinations["by_failure"].items():
            print(
                f"RPO {name:12} {failure:20} {figures['rpo_seconds']} s via {figures['via']} "
                f"(target {figures['rpo_target_seconds']})"
            )
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
