"""The weekly restore drill in the plan: staging runs it (prod does not by default); its arguments parse with
the backup function's own CLI; the db dumps record the checksums it compares with; the Pushgateway monitor
declares what it pushes and the staleness alert reads exactly that."""

from __future__ import annotations

import json
from typing import Any

from components.lib.scrape import PUSHED_ANNOTATION
from components.monitoring.sources import DRILL_PUSHED_METRICS
from functions.backup.cli import build_parser
from functions.backup.drill import METRICS
from tests.plans import manifests_of_kind, plan_of


def _cronjobs(stack: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests_of_kind(plan_of(stack), "CronJob")}


def _pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_staging_drill_cronjob_runs_the_functions_drill() -> None:
    jobs = _cronjobs("staging")
    drill = jobs["backup-drill"]
    assert drill["spec"]["schedule"] == "0 6 * * 1" and drill["spec"]["concurrencyPolicy"] == "Forbid"
    pod = _pod(drill)
    (container,) = pod["containers"]
    ns = build_parser().parse_args(container["args"])
    assert ns.command == "drill" and ns.to == "$(SCRATCH_DATABASE_URL)" and ns.pitr_age_seconds == 300
    assert ns.work_dir == "/drill" and ns.pushgateway and ns.target and ns.kms_key_id
    assert {e["name"] for e in container["env"]} >= {"SCRATCH_DATABASE_URL"}
    work = next(v for v in pod["volumes"] if v["name"] == "drill-work")
    assert work["emptyDir"]["sizeLimit"] == "20Gi"
    assert {"name": "drill-work", "mountPath": "/drill"} in container["volumeMounts"]
    dump = build_parser().parse_args(_pod(jobs["backup-db"])["containers"][0]["args"])
    assert dump.table_checksums, "the drill's reference: dumps record per-table checksums"
    base = build_parser().parse_args(_pod(jobs["backup-db-base"])["containers"][0]["args"])
    assert not base.table_checksums


def test_prod_has_no_drill_by_default() -> None:
    jobs = _cronjobs("prod")
    assert "backup-drill" not in jobs
    assert "--table-checksums" not in _pod(jobs["backup-db"])["containers"][0]["args"]


def test_the_pushgateway_declares_what_the_drill_pushes_and_the_alert_reads_it() -> None:
    assert set(DRILL_PUSHED_METRICS) == set(METRICS)
    monitors = manifests_of_kind(plan_of("staging"), "ServiceMonitor")
    pushed = {
        job: metrics
        for m in monitors
        if PUSHED_ANNOTATION in m["metadata"].get("annotations", {})
        for job, metrics in json.loads(m["metadata"]["annotations"][PUSHED_ANNOTATION]).items()
    }
    assert set(pushed["dr_drill"]) == set(METRICS)
    rules = [
        r
        for m in manifests_of_kind(plan_of("staging"), "PrometheusRule")
        for g in m["spec"]["groups"]
        for r in g["rules"]
    ]
    by_name = {r["alert"]: r for r in rules}
    assert by_name["DrillStale"]["expr"] == "time() - max(dr_drill_last_success_timestamp_seconds) > 691200"
    assert by_name["DrillNeverSucceeded"]["for"] == "192h"
    assert by_name["WalPushSlow"]["expr"] == 'backup_duration_seconds{class="wal"} > 10'
    prod_alerts = {
        r["alert"]
        for m in manifests_of_kind(plan_of("prod"), "PrometheusRule")
        for g in m["spec"]["groups"]
        for r in g["rules"]
    }
    assert "WalPushSlow" in prod_alerts and "DrillStale" not in prod_alerts
