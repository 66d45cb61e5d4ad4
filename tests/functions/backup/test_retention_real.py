"""Prune on SeaweedFS: retention per class, dry-run by default, object locks honoured (and enforced)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest

from functions.backup import retention
from functions.backup.cli import run
from functions.backup.stores import open_store
from tests.functions.backup.conftest import S3Server

pytestmark = pytest.mark.real


def _backup(src: Path, target: str, key: Path, *extra: str) -> str:
    code, result = run(
        ["backup", "--source-dir", str(src), "--class", "state", "--target", target, "--key-file", str(key), *extra]
    )
    assert code == 0, result
    return str(result["backup_id"])


def test_prune_keeps_locked_backups_and_deletes_expired_ones(
    seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_file: Path
) -> None:
    for k, v in seaweedfs.env().items():
        monkeypatch.setenv(k, v)
    bucket = seaweedfs.make_bucket(f"bk-lock-{uuid.uuid4().hex[:8]}", lock=True)
    target = f"s3://{bucket}/state"
    src = tmp_path / "src"
    src.mkdir()
    (src / "state.json").write_text('{"height": 1}')
    locked = _backup(src, target, key_file, "--lock-days", "1")
    loose = _backup(src, target, key_file)
    newest = _backup(src, target, key_file)

    code, rows = run(["prune", "--target", target, "--class", "state"])
    assert code == 0 and {r["action"] for r in rows} == {"keep"}, "everything is inside 7 days"

    code, rows = run(["prune", "--target", target, "--class", "state", "--keep-days", "0"])
    plan = {r["backup_id"]: r for r in rows}
    assert plan[loose]["action"] == "delete" and not plan[loose]["deleted"], "dry-run deletes nothing"
    assert plan[locked]["action"] == "keep" and "object lock" in plan[locked]["reason"]
    assert plan[newest]["action"] == "keep", "the newest backup is always kept"
    assert len(run(["list", "--target", target])[1]) == 3

    code, rows = run(["prune", "--target", target, "--class", "state", "--keep-days", "0", "--apply"])
    assert code == 0
    assert [r["backup_id"] for r in run(["list", "--target", target])[1]] == [locked, newest]
    assert not list(open_store(target).list(f"state/{loose}/")), "every object of the pruned backup is gone"

    s3 = seaweedfs.client()
    manifest = f"state/state/{locked}/manifest.json"
    version = s3.head_object(Bucket=bucket, Key=manifest)["VersionId"]
    with pytest.raises(s3.exceptions.ClientError):
        s3.delete_object(Bucket=bucket, Key=manifest, VersionId=version)
    assert run(["verify", "--target", target, "--backup", locked, "--key-file", str(key_file)])[0] == 0


def test_retention_windows_per_class_and_incremental_references(tmp_path: Path, key_file: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "blocks.dat").write_bytes(b"block" * 1000)
    target = f"file://{tmp_path}/store"
    base = run(["incremental", "--source-dir", str(src), "--target", target, "--key-file", str(key_file)])[1]
    (src / "new.dat").write_bytes(b"more")
    child = run(["incremental", "--source-dir", str(src), "--target", target, "--key-file", str(key_file)])[1]
    store = open_store(target)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=80)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    assert {
        d.action for d in retention.plan(store, ["chain"], keep_days=retention.RETENTION_DAYS, keep_last=1, now=soon)
    } == {"keep"}
    decisions = retention.plan(store, ["chain"], keep_days=retention.RETENTION_DAYS, keep_last=1, now=later)
    by_id = {d.info.backup_id: d for d in decisions}
    assert by_id[child["backup_id"]].action == "keep"
    assert by_id[base["backup_id"]].action == "keep"
    assert "referenced" in by_id[base["backup_id"]].reason
    assert retention.RETENTION_DAYS == {"db": 30, "chain": 90, "state": 7}


def test_lock_modes_governance_and_compliance_on_seaweedfs(
    seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_file: Path
) -> None:
    """Staging writes GOVERNANCE (removable with the bypass permission), prod COMPLIANCE (the default).

    Prune keeps both while they hold, never uses the governance bypass itself, and SeaweedFS enforces
    each mode: a bypass deletes a GOVERNANCE object version but not a COMPLIANCE one.
    """
    for k, v in seaweedfs.env().items():
        monkeypatch.setenv(k, v)
    bucket = seaweedfs.make_bucket(f"bk-mode-{uuid.uuid4().hex[:8]}", lock=True)
    target = f"s3://{bucket}/db"
    src = tmp_path / "src"
    src.mkdir()
    (src / "state.json").write_text('{"height": 2}')
    governance = _backup(src, target, key_file, "--lock-days", "1", "--lock-mode", "GOVERNANCE")
    compliance = _backup(src, target, key_file, "--lock-days", "1")
    newest = _backup(src, target, key_file)

    s3 = seaweedfs.client()
    for bid, mode in ((governance, "GOVERNANCE"), (compliance, "COMPLIANCE")):
        keys = list(open_store(target).list(f"state/{bid}/"))
        assert len(keys) >= 3, "chunks, SHA256SUMS and manifest"
        for key in keys:
            head = s3.head_object(Bucket=bucket, Key=f"db/{key}")
            assert head["ObjectLockMode"] == mode, key
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"db/state/{bid}/manifest.json")["Body"].read())
        assert manifest["lock_mode"] == mode and manifest["lock_until"]

    code, rows = run(["prune", "--target", target, "--class", "state", "--keep-days", "0", "--apply"])
    assert code == 0
    plan = {r["backup_id"]: r for r in rows}
    assert plan[governance]["action"] == "keep" and "object lock" in plan[governance]["reason"]
    assert plan[compliance]["action"] == "keep" and "object lock" in plan[compliance]["reason"]
    assert [r["backup_id"] for r in run(["list", "--target", target])[1]] == [governance, compliance, newest]

    def version(bid: str) -> tuple[str, str]:
        key = f"db/state/{bid}/manifest.json"
        return key, s3.head_object(Bucket=bucket, Key=key)["VersionId"]

    for bid in (governance, compliance):
        key, ver = version(bid)
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            s3.delete_object(Bucket=bucket, Key=key, VersionId=ver)
    key, ver = version(compliance)
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=ver, BypassGovernanceRetention=True)
    key, ver = version(governance)
    s3.delete_object(Bucket=bucket, Key=key, VersionId=ver, BypassGovernanceRetention=True)  # staging teardown
    assert [r["backup_id"] for r in run(["list", "--target", target])[1]] == [compliance, newest]
