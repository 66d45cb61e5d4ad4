"""pg_dump backups on real PostgreSQL 15 to SeaweedFS, Azurite and the GCS emulator at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from functions.backup import commands
from functions.backup.cli import run
from tests.functions.backup.conftest import REPO, PgServer, S3Server, backup_argv, wait_until

pytestmark = pytest.mark.real


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def three_targets(cloud_env: dict[str, str], seaweedfs: S3Server, azurite, gcs_emulator) -> list[str]:
    bucket = seaweedfs.make_bucket(_name("bk-db"))
    container = azurite.make_container(_name("bk-db"))
    gbucket = gcs_emulator.make_bucket(_name("bk-db"))
    return [f"s3://{bucket}/nightly", f"azblob://{container}/nightly", f"gs://{gbucket}/nightly"]


def _cli_process(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, as a job runs it: the exit status and stderr are what a user sees."""
    return subprocess.run(
        [sys.executable, "-m", "functions.backup", *args], cwd=REPO, capture_output=True, text=True, check=False
    )


def test_backup_to_three_clouds_restores_identical_tables(
    postgres: PgServer, pgbench_db: str, three_targets: list[str], key_file: Path
) -> None:
    code, result = run(backup_argv(postgres.url(pgbench_db), "db", three_targets, key_file))
    assert code == 0, result
    assert sorted(result["targets_ok"]) == sorted(three_targets)
    assert result["sizes"]["source_bytes"] > 10_000_000
    original = postgres.table_fingerprint(pgbench_db)
    assert original["pgbench_accounts"][0] == 500_000
    for n, target in enumerate(three_targets):
        code, listed = run(["list", "--target", target])
        assert code == 0 and [r["backup_id"] for r in listed] == [result["backup_id"]]
        code, checked = run(["verify", "--target", target, "--key-file", str(key_file)])
        assert code == 0 and checked[0]["ok"], checked
        newdb = f"restored_{n}"
        code, restored = run(["restore", "--target", target, "--key-file", str(key_file), "--to", postgres.url(newdb)])
        assert code == 0, restored
        assert postgres.table_fingerprint(newdb) == original


def test_restore_refuses_an_existing_database(
    postgres: PgServer, pgbench_db: str, tmp_path: Path, key_file: Path
) -> None:
    target = f"file://{tmp_path}/store"
    assert run(backup_argv(postgres.url(pgbench_db), "state", [target], key_file))[0] == 0
    code, result = run(["restore", "--target", target, "--key-file", str(key_file), "--to", postgres.url(pgbench_db)])
    assert code == 1 and "already exists" in result["error"]


def test_test_restore_checks_and_drops_the_scratch_database(
    postgres: PgServer, pgbench_db: str, tmp_path: Path, key_file: Path
) -> None:
    target = f"file://{tmp_path}/store"
    assert run(backup_argv(postgres.url(pgbench_db), "state", [target], key_file))[0] == 0
    code, result = run(
        ["test-restore", "--target", target, "--key-file", str(key_file), "--to", postgres.url("postgres")]
    )
    assert code == 0 and result["tables"] == 6, result
    assert "restoretest" not in postgres.psql("SELECT string_agg(datname, ' ') FROM pg_database")


def test_test_restore_kind_picks_the_dump_even_when_a_base_backup_is_newer(
    postgres: PgServer, tmp_path: Path, key_file: Path
) -> None:
    """In archive_command mode the db class holds dumps and (newer) base backups: --kind dump decides."""
    postgres.psql("CREATE DATABASE kinds")
    postgres.psql(
        "CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT i, 'v' FROM generate_series(1, 50) i",
        "kinds",
    )
    target = f"file://{tmp_path}/store"
    common = ["--target", target, "--key-file", str(key_file)]
    code, dump = run(backup_argv(postgres.url("kinds"), "db", [target], key_file, "--no-require-versioning"))
    assert code == 0, dump
    code, base = run(
        backup_argv(postgres.url("kinds"), "db", [target], key_file, "--pg-kind", "base", "--no-require-versioning")
    )
    assert code == 0, base
    stores = commands.open_stores([target])
    assert commands.pick_backup(stores, "db", None, None).backup_id == base["backup_id"], "newest of any kind"
    assert commands.pick_backup(stores, "db", None, "base").backup_id == base["backup_id"]

    code, result = run(["test-restore", "--class", "db", "--kind", "dump", *common, "--to", postgres.url("postgres")])
    assert code == 0, result
    assert result == {"backup_id": dump["backup_id"], "kind": "pg_dump", "ok": True, "tables": 1}
    assert "restoretest" not in postgres.psql("SELECT string_agg(datname, ' ') FROM pg_database")

    code, result = run(["test-restore", "--class", "db", "--kind", "dump", "--backup", base["backup_id"], *common])
    assert code == 2 and "is a pg_basebackup backup, not --kind dump" in result["error"]
    code, result = run(["test-restore", "--class", "db", "--kind", "dir", *common])
    assert code == 1 and result["error"] == f"no complete db dir backup on {target}"
    code, result = run(["restore", "--class", "db", "--kind", "dump", *common, "--to", postgres.url("kinds_copy")])
    assert code == 0 and result["backup_id"] == dump["backup_id"]
    assert postgres.table_fingerprint("kinds_copy") == postgres.table_fingerprint("kinds")


def test_sigkill_mid_stream_leaves_no_complete_backup_and_next_run_succeeds(
    postgres: PgServer, pgbench_db: str, tmp_path: Path, key_file: Path
) -> None:
    target = f"file://{tmp_path}/store"
    args = backup_argv(postgres.url(pgbench_db), "state", [target], key_file, "--chunk-mib", "1", "--threads", "1")
    argv = [sys.executable, "-m", "functions.backup", *args]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chunks = tmp_path / "store/state"
    wait_until(
        lambda: proc.poll() is not None or len(list(chunks.rglob("chunks/*"))) >= 3,
        "three chunks written or the backup ended",
        interval=0.01,
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(chunks.rglob("chunks/*"))) >= 3, "backup finished before it could be killed"
    assert not list(chunks.rglob("manifest.json"))
    assert run(["list", "--target", target])[1] == []
    code, everything = run(["list", "--target", target, "--all"])
    assert [r["status"] for r in everything] == ["incomplete"]
    code, result = run(backup_argv(postgres.url(pgbench_db), "state", [target], key_file))
    assert code == 0
    assert [r["backup_id"] for r in run(["list", "--target", target])[1]] == [result["backup_id"]]
    assert run(["verify", "--target", target, "--key-file", str(key_file)])[0] == 0


def test_unreachable_source_fails_without_a_manifest(tmp_path: Path, key_file: Path) -> None:
    target = f"file://{tmp_path}/store"
    proc = _cli_process(backup_argv("postgresql://postgres@127.0.0.1:1/nope", "state", [target], key_file))
    assert proc.returncode == 1
    assert "pg_dump failed" in proc.stderr and "Traceback" not in proc.stderr
    assert not list((tmp_path / "store").rglob("manifest.json"))


def test_wrong_password_is_a_clear_error(postgres: PgServer, pgbench_db: str, tmp_path: Path, key_file: Path) -> None:
    postgres.psql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='pwuser') THEN "
        "CREATE ROLE pwuser LOGIN PASSWORD 'right'; END IF; END $$"
    )
    hba = postgres.datadir / "pg_hba.conf"
    if "pwuser" not in hba.read_text():
        hba.write_text("host all pwuser 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        postgres.reload_conf()
    url = f"postgresql://pwuser:wrong@127.0.0.1:{postgres.port}/{pgbench_db}"
    code, result = run(backup_argv(url, "state", [f"file://{tmp_path}/s"], key_file))
    assert code == 1
    assert "password authentication failed" in result["error"]
    assert "wrong" not in result["error"].replace("wrong key", "")


def test_bad_s3_credentials_and_unversioned_bucket(
    postgres: PgServer, pgbench_db: str, seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch, key_file: Path
) -> None:
    for key, value in seaweedfs.env().items():
        monkeypatch.setenv(key, value)
    plain = seaweedfs.make_bucket(_name("bk-plain"), versioning=False)
    source, target = postgres.url(pgbench_db), [f"s3://{plain}/x"]
    code, result = run(backup_argv(source, "db", target, key_file))
    assert code == 1 and "requires versioning" in result["error"]
    code, result = run(backup_argv(source, "state", target, key_file, "--lock-days", "1"))
    assert code == 1 and "no object lock" in result["error"]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    code, result = run(backup_argv(source, "state", target, key_file))
    assert code == 1 and "credentials rejected" in result["error"]


def test_disk_full_during_restore_keeps_nothing(tmp_path: Path, key_file: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(os.urandom(3 << 20))
    target = f"file://{tmp_path}/store"
    assert (
        run(["backup", "--source-dir", str(src), "--class", "state", "--target", target, "--key-file", str(key_file)])[
            0
        ]
        == 0
    )
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], capture_output=True, check=False
    )
    assert mounted.returncode == 0, mounted.stderr
    try:
        proc = _cli_process(
            ["restore", "--target", target, "--key-file", str(key_file), "--to", str(small / "restored")]
        )
        assert proc.returncode == 1
        assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
        assert list(small.iterdir()) == []
        assert json.loads(proc.stdout or "{}") == {} or "restored_to" not in proc.stdout
    finally:
        subprocess.run(["umount", str(small)], check=False)
