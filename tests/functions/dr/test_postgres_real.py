"""The postgres backend against real PostgreSQL 15: a primary archiving WAL, a warm standby replaying it
through ``restore_command`` (``standby.signal``), the primary lost, the controller promoting the standby,
a real write on it, the endpoint published (SSM on moto's server) and a second run doing nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from functions.dr.cli import run
from tests.functions.backup.conftest import (
    PG_BIN,
    PgServer,
    free_port,
    initdb,
    start_postgres,
    stop_postgres,
    wait_until,
    world_dir,
)
from tests.functions.dr.conftest import Moto, make_config

pytestmark = pytest.mark.real


@dataclass
class Pair:
    primary: PgServer
    standby: PgServer
    root: Path


@pytest.fixture
def pair() -> Iterator[Pair]:
    """Primary archiving with ``cp`` into a directory, standby restoring from it (as production's standby
    restores with ``wal-fetch`` from the DR-region copy of the archive, proven in the backup PITR test)."""
    root = world_dir("dr-pg-")
    archive = root / "archive"
    archive.mkdir()
    shutil.chown(archive, "postgres", "postgres")
    initdb(root / "primary")
    primary = start_postgres(
        root,
        root / "primary",
        free_port(),
        [
            "-c wal_level=replica",
            "-c archive_mode=on",
            f"-c archive_command='cp %p {archive}/%f'",
            "-c fsync=off",
            "-c max_wal_senders=4",
        ],
    )
    standby: PgServer | None = None
    try:
        primary.psql("CREATE TABLE orders (id int PRIMARY KEY, note text)")
        primary.psql("INSERT INTO orders SELECT i, 'before' FROM generate_series(1, 100) i")
        standby_dir = root / "standby"
        subprocess.run(
            [str(PG_BIN / "pg_basebackup"), "-d", primary.url(), "-D", str(standby_dir), "-X", "fetch", "--no-sync"],
            check=True,
            capture_output=True,
        )
        (standby_dir / "standby.signal").touch()
        with (standby_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"restore_command = 'cp {archive}/%f %p'\n")
        standby = start_postgres(root, standby_dir, free_port(), ["-c archive_mode=off", "-c fsync=off"])
        primary.psql("INSERT INTO orders SELECT i, 'archived' FROM generate_series(101, 150) i")
        primary.psql("SELECT pg_switch_wal()")
        wait_until(
            lambda: _count(standby) == 150,  # type: ignore[arg-type]
            "standby replayed the archived WAL",
            detail=lambda: (root / f"pg-{standby.port}.log").read_text()[-1500:],  # type: ignore[union-attr]
        )
        yield Pair(primary, standby, root)
    finally:
        if standby is not None:
            stop_postgres(standby)
        stop_postgres(primary)
        shutil.rmtree(root, ignore_errors=True)


def _count(server: PgServer) -> int:
    try:
        return int(server.psql("SELECT count(*) FROM orders"))
    except subprocess.CalledProcessError:
        return -1


def _config(pair: Pair, moto: Moto, tmp_path: Path, *, auto_promote: bool) -> tuple[Path, str]:
    parameter = f"/platform/test/{tmp_path.name[-12:]}/db-writer"
    moto.client("ssm").put_parameter(Name=parameter, Value=f"127.0.0.1:{pair.primary.port}", Type="String")
    config = make_config(
        auto_promote=auto_promote,
        health={
            "interval_seconds": 1,
            "failure_threshold": 3,
            "timeout_seconds": 0.5,
            "primary_database": f"127.0.0.1:{pair.primary.port}",
        },
        database={
            "kind": "postgres",
            "writer_endpoint": f"127.0.0.1:{pair.standby.port}",
            "promotion_budget_seconds": 60,
            "poll_seconds": 0.2,
        },
        publish={"ssm_parameter": parameter},
        lock={"table": moto.table(), "owner": "pg-test"},
    )
    path = tmp_path / "dr.json"
    path.write_text(json.dumps(config.model_dump(mode="json")))
    return path, parameter


@pytest.fixture
def dsn_env(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DR_STANDBY_DSN", pair.standby.url())
    monkeypatch.setenv("DR_PRIMARY_DSN", pair.primary.url() + "?connect_timeout=2")


def test_lost_primary_is_detected_and_the_standby_promoted_and_published(
    pair: Pair, moto: Moto, tmp_path: Path, dsn_env: None
) -> None:
    path, parameter = _config(pair, moto, tmp_path, auto_promote=True)
    code, status = run(["--config", str(path), "status"])
    assert code == 0 and status["dr_database"]["role"] == "standby" and status["primary"]["up"] is True
    code, drill = run(["--config", str(path), "drill"])
    assert code == 0 and drill["ok"], drill
    assert pair.standby.psql("SELECT pg_is_in_recovery()") == "t", "a drill never promotes"

    stop_postgres(pair.primary)  # the primary region is gone
    started = time.monotonic()
    code, result = run(["--config", str(path), "watch", "--max-probes", "30"])
    elapsed = time.monotonic() - started
    assert code == 0 and result["action"] == "promoted", result
    assert result["fence"].startswith("unreachable")
    assert result["write_check"] == "write committed"
    # 3 probes 1 s apart (the last one times out at 0.5 s) then pg_promote: well under the 60 s budget
    assert result["rto_seconds"] < 3 * 1 + 60
    assert elapsed >= 2.0, "promotion must wait for three failed probes one interval apart"
    print(
        f"real failover: first failed probe to a committed write {result['rto_seconds']} s, "
        f"pg_promote to a committed write {result['promotion_seconds']} s"
    )

    assert pair.standby.psql("SELECT pg_is_in_recovery()") == "f"
    pair.standby.psql("INSERT INTO orders VALUES (151, 'after failover')")
    assert _count(pair.standby) == 151, "every archived row survived and the promoted standby takes writes"
    assert pair.standby.psql("SELECT count(*) FROM dr_controller_heartbeat") == "1"
    value = moto.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    assert value == f"127.0.0.1:{pair.standby.port}"

    code, again = run(["--config", str(path), "failover", "--scenario", "region", "--confirm"])
    assert code == 0 and again["action"] == "already_promoted" and again["republished"] == []
    log = (pair.root / f"pg-{pair.standby.port}.log").read_text()
    assert log.count("received promote request") == 1, "the second run must not promote again"


def test_confirmed_failover_fences_a_primary_that_still_answers(
    pair: Pair, moto: Moto, tmp_path: Path, dsn_env: None
) -> None:
    path, _ = _config(pair, moto, tmp_path, auto_promote=False)
    code, refused = run(["--config", str(path), "failover", "--scenario", "region"])
    assert code == 3 and refused["action"] == "held"
    assert pair.standby.psql("SELECT pg_is_in_recovery()") == "t"

    code, result = run(["--config", str(path), "failover", "--scenario", "region", "--confirm"])
    assert code == 0 and result["action"] == "promoted", result
    assert result["fence"].startswith("fenced"), result["fence"]
    with (
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
        psycopg.connect(pair.primary.url(), autocommit=True) as conn,
    ):
        conn.execute("INSERT INTO orders VALUES (999, 'split brain')")
    pair.standby.psql("INSERT INTO orders VALUES (999, 'the new writer')")


def test_corruption_pauses_the_standby_and_fences_without_promoting(
    pair: Pair, moto: Moto, tmp_path: Path, dsn_env: None
) -> None:
    path, _ = _config(pair, moto, tmp_path, auto_promote=True)
    code, result = run(["--config", str(path), "failover", "--scenario", "database-corruption", "--confirm"])
    assert code == 0 and result["action"] == "pitr_required", result
    assert result["standby"].startswith("replay paused")
    assert pair.standby.psql("SELECT pg_is_in_recovery()") == "t"
    assert pair.standby.psql("SELECT pg_get_wal_replay_pause_state()") in ("paused", "pause requested")
    assert pair.primary.psql("SHOW default_transaction_read_only") == "on"


def test_a_watch_run_commits_a_heartbeat_on_the_primary_and_reports_the_standbys_replay_age(
    pair: Pair, moto: Moto, tmp_path: Path, dsn_env: None
) -> None:
    """The stale-standby alarm's metric: one heartbeat per run on the primary (an idle primary would otherwise age
    the standby with nothing to replay), then the standby's replay age; the heartbeat reaches the standby through
    the archive like any commit."""
    from functions.dr.cli import build_controller
    from functions.dr.config import load_config

    path, _ = _config(pair, moto, tmp_path, auto_promote=True)
    controller = build_controller(load_config(str(path)))
    outcome = controller.watch(max_probes=1)
    assert outcome.action == "healthy"
    assert pair.primary.psql("SELECT count(*) FROM dr_controller_heartbeat") == "1"
    age = controller.metrics.sent["dr_controller_standby_replay_age_seconds"]
    assert age >= 0
    pair.primary.psql("SELECT pg_switch_wal()")
    wait_until(
        lambda: _heartbeats(pair.standby) == 1,
        "the heartbeat replayed on the standby",
        detail=lambda: (pair.root / f"pg-{pair.standby.port}.log").read_text()[-1500:],
    )
    assert pair.standby.psql("SELECT pg_is_in_recovery()") == "t", "a watch run on a healthy primary never promotes"


def _heartbeats(server: PgServer) -> int:
    try:
        return int(server.psql("SELECT count(*) FROM dr_controller_heartbeat"))
    except subprocess.CalledProcessError:
        return -1
