"""The restore drill on PostgreSQL 15 + SeaweedFS + the real Pushgateway.

A source database is dumped with --table-checksums (checksums in the dump's own snapshot), the cluster has a
base backup and archive_command ships WAL; rows are written before and after a target time T. The drill
restores the newest dump into a scratch database (checksums must match), replays the archive to T on a scratch
server (only the rows before T), and pushes dr_drill_*; a later drill whose newest dump carries no reference
fails, pushes dr_drill_success 0 and leaves the last success timestamp in place.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from functions.backup.cli import run
from tests.functions.backup.conftest import PgServer
from tests.functions.backup.test_pitr_real import _switch_and_wait_archived, archiving
from tests.functions.backup.test_report import pushgateway

pytestmark = pytest.mark.real
__all__ = ["archiving", "pushgateway"]  # fixtures used by name

SOURCE = "drillsrc"


def _drill_group(gateway: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{gateway}/api/v1/metrics", timeout=60) as resp:
        groups = json.loads(resp.read())["data"]
    found = [g for g in groups if g["labels"] == {"job": "dr_drill"}]
    assert found, groups
    values: dict[str, Any] = {}
    for name, entry in found[0].items():
        if name.startswith("dr_drill_"):
            for series in entry["metrics"]:
                labels = {k: v for k, v in series.get("labels", {}).items() if k not in ("job", "instance")}
                values[name + json.dumps(labels, sort_keys=True)] = float(series["value"])
    return values


def _dump(postgres: PgServer, target: str, key: str, *extra: str) -> dict[str, Any]:
    argv = ["backup", "--source", postgres.url(SOURCE), "--class", "db", *extra, "--target", target, "--key-file", key]
    code, result = run(argv)
    assert code == 0, result
    return result


def test_drill_restores_checks_and_reports(postgres: PgServer, archiving: dict[str, str], pushgateway: str) -> None:
    target, key = archiving["target"], archiving["key"]
    postgres.psql(f"DROP DATABASE IF EXISTS {SOURCE}")
    postgres.psql(f"CREATE DATABASE {SOURCE}")
    postgres.psql("CREATE TABLE accounts (id int primary key, balance numeric, note text)", SOURCE)
    postgres.psql("CREATE TABLE ledger (id bigserial primary key, at timestamptz default clock_timestamp())", SOURCE)
    postgres.psql("INSERT INTO accounts SELECT i, i * 1.5, md5(i::text) FROM generate_series(1, 500) i", SOURCE)
    postgres.psql("INSERT INTO ledger (id) SELECT generate_series(1, 100)", SOURCE)
    base_argv = ["backup", "--source", postgres.url("postgres"), "--pg-kind", "base", "--class", "db"]
    code, base = run([*base_argv, "--target", target, "--key-file", key])
    assert code == 0, base
    dumped = _dump(postgres, target, key, "--table-checksums")
    assert dumped["tables"] == 2
    postgres.psql("INSERT INTO ledger (id) SELECT generate_series(101, 150)", SOURCE)
    t = postgres.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    postgres.psql("INSERT INTO ledger (id) SELECT generate_series(151, 200)", SOURCE)
    _switch_and_wait_archived(postgres, target)

    drill = ["drill", "--to", postgres.url("postgres"), "--target", target, "--key-file", key]
    drill += ["--run-as", "postgres", "--restore-command", archiving["fetch"], "--pushgateway", pushgateway]
    code, result = run([*drill, "--pitr", t])
    assert code == 0 and result["ok"], result
    assert result["dump"]["backup_id"] == dumped["backup_id"] and result["dump"]["problems"] == []
    assert result["dump"]["rows"] == {"public.accounts": 500, "public.ledger": 100}
    pitr = result["pitr"]
    assert pitr["base_backup"] == base["backup_id"]
    assert pitr["rows"] == {"public.accounts": 500, "public.ledger": 150}, "exactly the rows committed before T"
    assert pitr["changed_since_dump"] == ["public.ledger"]
    assert pitr["last_replayed_commit"] is not None and pitr["last_replayed_commit"] <= pitr["target"]
    assert pitr["data_age_seconds"] > 0 and result["dump"]["data_age_seconds"] > 0
    assert postgres.psql("SELECT count(*) FROM pg_database WHERE left(datname, 6) = 'drill_'") == "0", (
        "scratch DB dropped"
    )
    pushed = _drill_group(pushgateway)
    success_at = pushed["dr_drill_last_success_timestamp_seconds{}"]
    assert pushed["dr_drill_success{}"] == 1 and success_at > 0
    assert pushed['dr_drill_restore_seconds{"path": "pitr"}'] == pytest.approx(pitr["restore_seconds"])
    assert pushed['dr_drill_data_age_seconds{"path": "dump"}'] == pytest.approx(result["dump"]["data_age_seconds"])

    # The newest dump now has no reference: the drill fails, and the last success survives for the alert.
    _dump(postgres, target, key)
    code, failed = run([*drill, "--pitr", t])
    assert code == 1 and not failed["ok"], failed
    assert any("no table checksums recorded" in p for p in failed["problems"]), failed
    after = _drill_group(pushgateway)
    assert after["dr_drill_success{}"] == 0
    assert after["dr_drill_last_success_timestamp_seconds{}"] == success_at
    assert after["dr_drill_last_run_timestamp_seconds{}"] >= success_at
