"""Point-in-time recovery: base backup + WAL archived by archive_command through our pipeline."""

from __future__ import annotations

import os
import shlex
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.backup.cli import run
from tests.functions.backup.conftest import (
    PgServer,
    S3Server,
    cli_for_postgres,
    free_port,
    start_postgres,
    stop_postgres,
    wait_until,
    world_dir,
)

pytestmark = pytest.mark.real


@pytest.fixture
def archiving(postgres: PgServer, seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Points the server's archive_command at ``wal-push`` into a fresh SeaweedFS bucket."""
    for key, value in seaweedfs.env().items():
        monkeypatch.setenv(key, value)
    bucket = seaweedfs.make_bucket(f"bk-wal-{uuid.uuid4().hex[:8]}")
    target = f"s3://{bucket}/pg"
    keydir = world_dir("bk-key-")
    key = keydir / "backup.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    shutil.chown(key, "postgres", "postgres")
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in seaweedfs.env().items())
    cli = " ".join(cli_for_postgres())
    common = f"--target {target} --key-file {key} --log-format json"
    push = f"env {env} {cli} wal-push %p {common}"
    postgres.psql(f"ALTER SYSTEM SET archive_command = '{push}'")
    postgres.reload_conf()
    _switch_and_wait_archived(postgres, target)  # the archiver has the new command before the test makes WAL
    yield {"target": target, "key": str(key), "fetch": f"env {env} {cli} wal-fetch %f %p {common}"}
    postgres.psql("ALTER SYSTEM RESET archive_command")
    postgres.reload_conf()
    shutil.rmtree(keydir, ignore_errors=True)


def _archived_wal(target: str) -> set[str]:
    code, rows = run(["list", "--class", "wal", "--target", target])
    assert code == 0, rows
    return {row["backup_id"] for row in rows}


def _switch_and_wait_archived(postgres: PgServer, target: str) -> None:
    """Closes the current WAL segment and waits until it is in ``target`` itself.

    pg_stat_archiver is not enough: ``pg_reload_conf()`` only signals, and the archiver picks the new
    archive_command up when it gets to it, so a segment can still go out through the previous command
    (another bucket, or none). When the archiver reports a segment at or past ours but the target lacks it,
    ours went out that way: close another one, which the reloaded archiver ships here.
    """
    segment = ""

    def next_segment() -> None:
        nonlocal segment
        postgres.psql("SELECT pg_logical_emit_message(false, 'backup-test', 'wal')")  # never an empty segment
        segment = postgres.psql("SELECT pg_walfile_name(pg_switch_wal())")

    def archived_here() -> bool:
        # The archiver records a segment only after its command returned: read it before the store.
        last = postgres.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        if segment in _archived_wal(target):
            return True
        if last[:24] >= segment:
            next_segment()
        return False

    next_segment()
    wait_until(
        archived_here,
        f"the last closed WAL segment in {target}",
        detail=lambda: f"{segment}; {postgres.psql('SELECT * FROM pg_stat_archiver')}",
        interval=0.5,
    )


def test_pitr_restores_exactly_the_rows_before_t(postgres: PgServer, archiving: dict[str, str]) -> None:
    target, key = archiving["target"], archiving["key"]
    postgres.psql("DROP DATABASE IF EXISTS pitr")
    postgres.psql("CREATE DATABASE pitr")
    postgres.psql("CREATE TABLE events (id int primary key, at timestamptz default clock_timestamp())", "pitr")
    code, base = run(
        [
            "backup",
            "--source",
            postgres.url("postgres"),
            "--pg-kind",
            "base",
            "--class",
            "db",
            "--target",
            target,
            "--key-file",
            key,
        ]
    )
    assert code == 0, base
    postgres.psql("INSERT INTO events (id) SELECT generate_series(1, 100)", "pitr")
    # t is read after the first insert committed and before the second starts: the server's own clock
    # orders them (checked below), no sleep needed.
    t = postgres.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    postgres.psql("INSERT INTO events (id) SELECT generate_series(101, 250)", "pitr")
    postgres.psql("DELETE FROM events WHERE id <= 10", "pitr")
    order = f"SELECT bool_and(at < '{t}') = (id <= 100) FROM events GROUP BY id <= 100"
    assert postgres.psql(order, "pitr").split() == ["t", "t"], "rows 1-100 before t, 101-250 after"
    _switch_and_wait_archived(postgres, target)

    root = world_dir("bk-pitr-")
    restored = root / "data"
    try:
        code, result = run(
            [
                "restore",
                "--pitr",
                t,
                "--to",
                str(restored),
                "--target",
                target,
                "--key-file",
                key,
                "--restore-command",
                archiving["fetch"],
            ]
        )
        assert code == 0, result
        assert result["base_backup"] == base["backup_id"]
        assert (restored / "recovery.signal").exists()
        server = start_postgres(root, restored, free_port(), ["-c archive_mode=off"])
        try:
            wait_until(lambda: server.psql("SELECT pg_is_in_recovery()") == "f", "recovery to t promoted")
            ids = server.psql("SELECT min(id) || ' ' || max(id) || ' ' || count(*) FROM events", "pitr")
            assert ids == "1 100 100"
        finally:
            stop_postgres(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_wal_fetch_of_an_unarchived_file_fails_quietly(archiving: dict[str, str], tmp_path: Path) -> None:
    code, result = run(
        [
            "wal-fetch",
            "00000001000000FF000000FF",
            str(tmp_path / "x"),
            "--target",
            archiving["target"],
            "--key-file",
            archiving["key"],
        ]
    )
    assert code == 1 and "not archived" in result["error"]
    assert not (tmp_path / "x").exists()
