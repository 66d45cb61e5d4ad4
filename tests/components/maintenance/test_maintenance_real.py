"""The maintenance jobs' SQL, run the way the CronJob runs it, against a real PostgreSQL 15.

The container command and the ConfigMap script come from the prod plan; ``$(DATABASE_URL)`` is expanded
the way the kubelet expands it from the Secret-backed env var. The default jobs assume nothing about the
application: they run on a database whose tables they have never heard of, and the retention rule and the
app's SQL hook come from config.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.maintenance.component import sql_configmap_manifest
from components.platform.config import parse_config
from tests.plans import manifests_of_kind, plan_of, stack_values

pytestmark = pytest.mark.real

PG_BIN = Path("/usr/lib/postgresql/15/bin")

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.request_log (id serial PRIMARY KEY, logged_at timestamptz NOT NULL, line text);
CREATE INDEX request_log_logged ON app.request_log (logged_at);
CREATE TABLE sessions (id serial PRIMARY KEY, expires_at timestamptz NOT NULL);
INSERT INTO app.request_log (logged_at, line) SELECT now() - i * interval '1 hour', 'x' FROM generate_series(1, 2400) i;
INSERT INTO sessions (expires_at) SELECT now() + (i - 50) * interval '1 hour' FROM generate_series(1, 100) i;
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*argv: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="maint-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off"
    subprocess.run(
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "pg.log"), "-o", opts, "start"),
        check=True,
        capture_output=True,
    )
    pid = int((data / "postmaster.pid").read_text().split()[0])
    url = f"postgresql://postgres@127.0.0.1:{port}/app"
    try:
        subprocess.run(
            ["psql", "-X", "-q", "-d", f"postgresql://postgres@127.0.0.1:{port}/postgres", "-c", "CREATE DATABASE app"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
            input=SCHEMA,
            text=True,
            check=True,
            capture_output=True,
        )
        yield url
    finally:
        stopped = subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"),
            check=False,
            capture_output=True,
        )
        if stopped.returncode != 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        shutil.rmtree(root, ignore_errors=True)


def _scalar(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", "-X", "-At", "-d", url, "-c", sql], check=True, capture_output=True, text=True
    ).stdout.strip()


def run_job(
    name: str, url: str, tmp_path: Path, data: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run CronJob ``maintenance-<name>``'s container command with its ConfigMap mounted at tmp_path."""
    plan = plan_of("prod")
    (cronjob,) = [m for m in manifests_of_kind(plan, "CronJob") if m["metadata"]["name"] == f"maintenance-{name}"]
    (configmap,) = [m for m in manifests_of_kind(plan, "ConfigMap") if m["metadata"]["name"] == "maintenance-sql"]
    container: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    mount = next(v["mountPath"] for v in container["volumeMounts"] if v["name"] == "sql")
    for key, text in (data or configmap["data"]).items():
        (tmp_path / key).write_text(text)
    argv = [arg.replace("$(DATABASE_URL)", url).replace(mount, str(tmp_path)) for arg in container["command"]]
    env = {**os.environ, **{e["name"]: e["value"] for e in container["env"] if "value" in e}}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


def _configured_sql(changes: dict[str, Any]) -> dict[str, str]:
    """The ConfigMap data the prod stack would render with ``changes`` to its maintenance section."""
    values = stack_values("prod")
    values["maintenance"] = {**values["maintenance"], **changes}
    settings = parse_config(values).maintenance
    return sql_configmap_manifest(settings, "platform")["data"]


def test_default_jobs_name_no_application_table() -> None:
    (configmap,) = [
        m for m in manifests_of_kind(plan_of("prod"), "ConfigMap") if m["metadata"]["name"] == "maintenance-sql"
    ]
    text = "\n".join(configmap["data"].values()).lower()
    assert configmap["data"], "the prod plan renders maintenance SQL"
    for assumed in ("sessions", "app_logs", "archive_records", "delete from"):
        assert assumed not in text


def test_daily_job_vacuums_analyzes_on_any_database(database_url: str, tmp_path: Path) -> None:
    result = run_job("daily", database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    # VACUUM (ANALYZE) ran outside a transaction block and reached tables the stack knows nothing of.
    stats = "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = '{}'"
    assert _scalar(database_url, stats.format("request_log")) == "t"
    assert _scalar(database_url, stats.format("sessions")) == "t"
    assert _scalar(database_url, "SELECT count(*) FROM sessions") == "100"  # no app cleanup unless configured


def test_retention_and_app_hook_from_config(database_url: str, tmp_path: Path) -> None:
    old = "SELECT count(*) FROM app.request_log WHERE logged_at < now() - interval '30 days'"
    assert int(_scalar(database_url, old)) > 1000
    kept = _scalar(database_url, "SELECT count(*) FROM app.request_log WHERE logged_at >= now() - interval '30 days'")
    data = _configured_sql(
        {
            "retention": [{"table": "app.request_log", "timestamp_column": "logged_at", "keep_days": 30, "batch_size": 500}],
            "jobs": [
                {"name": "daily", "schedule": "0 2 * * *", "tasks": ["retention", "vacuum_analyze"],
                 "sql": ["DELETE FROM sessions WHERE expires_at < now()"]},
            ],
        }
    )  # fmt: skip
    result = run_job("daily", database_url, tmp_path, data=data)
    assert result.returncode == 0, result.stderr
    assert _scalar(database_url, old) == "0"
    assert _scalar(database_url, "SELECT count(*) FROM app.request_log") == kept  # newer rows untouched
    assert "retention app.request_log: 500 rows" in result.stderr  # batched: one NOTICE per committed batch
    assert _scalar(database_url, "SELECT count(*) FROM sessions WHERE expires_at < now()") == "0"


def test_weekly_job_reindexes_the_connected_database_concurrently(database_url: str, tmp_path: Path) -> None:
    before = _scalar(database_url, "SELECT relfilenode FROM pg_class WHERE relname = 'request_log_logged'")
    result = run_job("weekly", database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "REINDEX (VERBOSE) DATABASE CONCURRENTLY" in result.stdout + result.stderr  # --echo-queries
    after = _scalar(database_url, "SELECT relfilenode FROM pg_class WHERE relname = 'request_log_logged'")
    assert after != before  # a concurrent reindex builds a new file


def test_monthly_job_freezes(database_url: str, tmp_path: Path) -> None:
    result = run_job("monthly", database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    # FREEZE: every row of the table is frozen, so its relfrozenxid caught up with the current xid horizon.
    age = _scalar(database_url, "SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'request_log'")
    assert int(age) < 50


def test_a_failing_statement_fails_the_run_and_stops_it(database_url: str, tmp_path: Path) -> None:
    before = _scalar(database_url, "SELECT count(*) FROM sessions")
    broken = {"daily.sql": "DELETE FROM no_such_table;\nDELETE FROM sessions;\n"}
    result = run_job("daily", database_url, tmp_path, data=broken)
    assert result.returncode != 0 and "no_such_table" in result.stderr
    assert _scalar(database_url, "SELECT count(*) FROM sessions") == before
