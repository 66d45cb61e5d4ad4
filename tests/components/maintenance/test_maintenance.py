"""Maintenance CronJobs on the mock plan: seed schedules, safety settings, strict Kubernetes 1.30 schemas,
the SQL ConfigMap, and the config mistakes that must be refused with the key named."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from components.maintenance.component import job_argv, sql_script
from components.maintenance.config import MaintenanceJob
from components.platform.config import ConfigError, parse_config
from tests.plans import STACKS, deep_merge, manifests_of_kind, plan_of, plan_with, stack_values


def _cronjobs(stack: str) -> dict[str, dict[str, Any]]:
    return {
        m["metadata"]["name"]: m
        for m in manifests_of_kind(plan_of(stack), "CronJob")
        if m["metadata"]["name"].startswith("maintenance-")
    }


def test_prod_runs_the_seed_schedules_in_utc() -> None:
    jobs = _cronjobs("prod")
    assert {name: (m["spec"]["schedule"], m["spec"]["timeZone"]) for name, m in jobs.items()} == {
        "maintenance-daily": ("0 2 * * *", "UTC"),
        "maintenance-weekly": ("0 3 * * 0", "UTC"),
        "maintenance-monthly": ("0 4 1 * *", "UTC"),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_cronjobs_are_safe_and_validate_strict(stack: str) -> None:
    jobs = _cronjobs(stack)
    assert jobs
    for manifest in jobs.values():
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)
        spec = manifest["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        assert spec["successfulJobsHistoryLimit"] >= 0 and spec["failedJobsHistoryLimit"] >= 0
        job = spec["jobTemplate"]["spec"]
        assert job["activeDeadlineSeconds"] > 0 and job["backoffLimit"] >= 0
        pod = job["template"]["spec"]
        assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["requests"] and container["resources"]["limits"]
        url = next(e for e in container["env"] if e["name"] == "DATABASE_URL")
        assert set(url) == {"name", "valueFrom"} and url["valueFrom"]["secretKeyRef"]["name"] == "maintenance-db"


def test_sql_configmap_holds_each_jobs_statements() -> None:
    (configmap,) = [
        m for m in manifests_of_kind(plan_of("prod"), "ConfigMap") if m["metadata"]["name"] == "maintenance-sql"
    ]
    kubernetes_validate.validate(configmap, "1.30.0", strict=True)
    # Nothing of the application: prod configures no retention rule and no app SQL.
    assert configmap["data"]["daily.sql"] == "VACUUM (ANALYZE);\n"
    assert configmap["data"]["weekly.sql"] == 'REINDEX (VERBOSE) DATABASE CONCURRENTLY :"DBNAME";\n'
    assert configmap["data"]["monthly.sql"] == "VACUUM (FREEZE, ANALYZE);\n"
    for manifest in _cronjobs("prod").values():
        (container,) = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        script = container["command"][-1].rsplit("/", 1)[1]
        assert script in configmap["data"]


def test_psql_stops_at_the_first_error_and_never_sees_the_url_in_the_manifest() -> None:
    job = MaintenanceJob(name="x", schedule="0 2 * * *", sql=("SELECT 1", "VACUUM"))
    argv = job_argv(job)
    assert argv[:4] == ["psql", "-X", "-v", "ON_ERROR_STOP=1"] and "$(DATABASE_URL)" in argv
    assert sql_script(job) == "SELECT 1;\nVACUUM;\n"
    assert job_argv(MaintenanceJob(name="y", schedule="0 2 * * *", command=("cleanup", "--days", "30"))) == [
        "cleanup",
        "--days",
        "30",
    ]


def test_a_command_job_gets_no_sql_volume() -> None:
    plan = plan_with(
        "staging",
        {
            "maintenance": {
                "jobs": [{"name": "logs", "schedule": "30 2 * * *", "command": ["find", "/data", "-delete"]}]
            }
        },
    )
    (cronjob,) = [m for m in manifests_of_kind(plan, "CronJob") if m["metadata"]["name"] == "maintenance-logs"]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]
    assert not [m for m in manifests_of_kind(plan, "ConfigMap") if m["metadata"]["name"] == "maintenance-sql"]
    assert plan.outputs["maintenance"] == {"cronjobs": {"maintenance-logs": "30 2 * * *"}}


def test_disabled_maintenance_is_absent() -> None:
    plan = plan_with("staging", {"maintenance": {"enabled": False}})
    assert not [m for m in manifests_of_kind(plan, "CronJob") if m["metadata"]["name"].startswith("maintenance-")]
    assert "maintenance" not in plan.outputs


def _job(**changes: Any) -> dict[str, Any]:
    return {"maintenance": {"jobs": [{"name": "daily", "schedule": "0 2 * * *", "sql": ["VACUUM"], **changes}]}}


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("cron that does not parse", _job(schedule="0 25 * * *"), "maintenance.jobs[0].schedule: '0 25 * * *' is not"),
    ("cron with six fields", _job(schedule="0 0 2 * * *"), "maintenance.jobs[0].schedule"),
    ("unknown time zone", _job(timezone="Mars/Olympus"), "maintenance.jobs[0].timezone: 'Mars/Olympus'"),
    ("neither sql nor command", _job(sql=[]), "maintenance.jobs[0].tasks: give tasks and/or sql statements"),
    ("both sql and command", _job(command=["true"]), "maintenance.jobs[0].tasks: give tasks"),
    ("unknown task", _job(tasks=["vacuum_full"]), "maintenance.jobs[0].tasks[0]: 'vacuum_full' is not allowed"),
    ("task twice", _job(tasks=["analyze", "analyze"]), "maintenance.jobs[0].tasks: ['analyze', 'analyze'] lists"),
    ("both reindexes", _job(tasks=["reindex", "reindex_concurrently"]), "maintenance.jobs[0].tasks: reindex and"),
    (
        "retention nobody runs",
        {"maintenance": {**_job(tasks=["analyze"])["maintenance"], "retention": [{"table": "logs", "keep_days": 7}]}},
        "maintenance.retention: rules given but no job runs the retention task",
    ),
    (
        "retention table not an identifier",
        {"maintenance": {"retention": [{"table": "logs; DROP TABLE x", "keep_days": 7}]}},
        "maintenance.retention[0].table",
    ),
    (
        "retention keep 0 days",
        {"maintenance": {"retention": [{"table": "logs", "keep_days": 0}]}},
        "maintenance.retention[0].keep_days",
    ),
    ("trailing semicolon", _job(sql=["VACUUM;"]), "maintenance.jobs[0].sql[0]: one statement per entry"),
    ("deadline out of range", _job(deadline_seconds=5), "maintenance.jobs[0].deadline_seconds: 5 is below"),
    ("unpinned image", {"maintenance": {"image": "postgres:latest"}}, "maintenance.image: 'postgres:latest'"),
    ("root user", {"maintenance": {"run_as_user": 0}}, "maintenance.run_as_user: 0 is below the minimum 1"),
    (
        "limit below request",
        {"maintenance": {"resources": {"memory_request": "1Gi", "memory_limit": "256Mi"}}},
        "maintenance.resources.memory_limit: 256Mi is below memory_request 1Gi",
    ),
    (
        "duplicate job name",
        {"maintenance": {"jobs": [{"name": "a", "schedule": "0 2 * * *", "sql": ["VACUUM"]}] * 2}},
        "maintenance.jobs[1].name: 'a' is already used",
    ),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_maintenance_config_names_the_key(case: str, changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values("prod"), changes))
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_retention_statement_quotes_identifiers_and_batches() -> None:
    from components.maintenance.component import retention_sql
    from components.maintenance.config import RetentionRule

    sql = retention_sql(
        RetentionRule(table="app.request_log", timestamp_column="logged_at", keep_days=14, batch_size=500)
    )
    assert 'DELETE FROM "app"."request_log"' in sql and "\"logged_at\" < now() - interval '14 days'" in sql
    assert "LIMIT 500" in sql and "COMMIT" in sql
