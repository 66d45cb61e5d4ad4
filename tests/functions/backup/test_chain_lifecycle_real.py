"""Incremental chains against the vault lifecycle, on SeaweedFS with the clock moved forward by months.

The S3 lifecycle rule the infrastructure program renders for the chain class (``components.backup.aws``)
is applied the way S3 applies it on a versioned bucket: every current object whose age exceeds the rule's
expiry gets a delete marker. An object's age is taken from the backup it belongs to (its id is its start
time on the moved clock), which is how old S3 would find it. The job's chain length comes from the same
settings (``full_interval_days``, passed as ``--max-chain-days``).

With the chain rebased every ``full_interval_days`` the newest backup and every backup within retention still
restores after the lifecycle has run for months; with the limit off (the behaviour before rebasing existed)
the lifecycle deletes the chain's first chunks while every newer manifest still references them, and the
newest backup no longer restores.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from components.backup.aws import lifecycle_rules
from components.backup.config import BackupSettings
from functions.backup import clock
from functions.backup.cli import run
from functions.backup.reader import id_time
from tests.functions.backup.conftest import S3Server

pytestmark = pytest.mark.real

START = dt.datetime(2026, 1, 1, 3, 0, tzinfo=dt.UTC)
STEP_DAYS = 4
RUNS = 30  # 116 days: past the chain rule's expiry (97 d) and the retention (90 d)


def chain_rule(settings: BackupSettings) -> dict[str, Any]:
    """The rendered S3 lifecycle rule that governs ``chain/``."""
    rules = [r for r in lifecycle_rules(settings) if r["filter"].get("prefix") == "chain/"]
    assert len(rules) == 1, rules
    return rules[0]


def expire(s3: Any, bucket: str, rule: dict[str, Any], now: dt.datetime) -> int:
    """S3's expiration action on a versioned bucket: a delete marker for each current object under the rule's
    prefix older than its days. Returns how many objects it expired."""
    cutoff = now - dt.timedelta(days=rule["expiration"]["days"])
    expired = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=rule["filter"]["prefix"]):
        for obj in page.get("Contents", []):
            written = id_time(obj["Key"].split("/")[1])
            assert written is not None, obj["Key"]
            if written < cutoff:
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
                expired += 1
    return expired


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def simulate(
    seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_file: Path, max_chain_days: int
) -> dict[str, Any]:
    """Months of incrementals every STEP_DAYS with the lifecycle applied after each run; the source keeps one
    file that never changes (its chunk is the one an endless chain keeps pointing at)."""
    for key, value in seaweedfs.env().items():
        monkeypatch.setenv(key, value)
    bucket = seaweedfs.make_bucket(f"bk-chain-{uuid.uuid4().hex[:8]}")
    target = f"s3://{bucket}"
    rule = chain_rule(BackupSettings())
    src = tmp_path / f"src-{max_chain_days}"
    src.mkdir()
    (src / "genesis.dat").write_bytes(b"genesis block " * 5000)
    s3 = seaweedfs.client()
    kinds: list[str] = []
    expired = 0
    now = START
    for step in range(RUNS):
        now = START + dt.timedelta(days=STEP_DAYS * step)
        monkeypatch.setattr(clock, "now", lambda at=now: at)
        (src / f"block-{step:04d}.dat").write_bytes(f"block {step} ".encode() * 400)
        code, result = run(
            [
                "incremental",
                "--source-dir",
                str(src),
                "--target",
                target,
                "--key-file",
                str(key_file),
                "--max-chain-days",
                str(max_chain_days),
            ]
        )
        assert code == 0, result
        kinds.append(result["chain"])
        expired += expire(s3, bucket, rule, now)
    return {"target": target, "src": src, "now": now, "kinds": kinds, "expired": expired, "rule": rule}


def _restore(target: str, key_file: Path, to: Path, *extra: str) -> tuple[int, Any]:
    return run(
        ["restore", "--to", str(to), "--class", "chain", "--target", target, "--key-file", str(key_file), *extra]
    )


def test_rebased_chains_restore_after_the_lifecycle_expired_their_first_backups(
    seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_file: Path
) -> None:
    settings = BackupSettings()
    chain_days = settings.classes["chain"].full_interval_days
    assert chain_days >= 1 and chain_rule(settings)["expiration"]["days"] == settings.classes["chain"].expiry_days
    sim = simulate(seaweedfs, monkeypatch, tmp_path, key_file, chain_days)
    assert sim["expired"] > 0, "the lifecycle must have expired something, or nothing was tested"
    assert sim["kinds"].count("rebased") >= RUNS * STEP_DAYS // (chain_days + STEP_DAYS) - 1, sim["kinds"]

    code, out = _restore(sim["target"], key_file, tmp_path / "restored")
    assert code == 0, out
    assert tree_digest(tmp_path / "restored") == tree_digest(sim["src"])

    code, listed = run(["list", "--target", sim["target"], "--class", "chain"])
    retention = settings.classes["chain"].retention_days
    within = [
        r["backup_id"]
        for r in listed
        if sim["now"] - (id_time(r["backup_id"]) or sim["now"]) <= dt.timedelta(days=retention)
    ]
    assert len(within) >= retention // STEP_DAYS, "every backup within retention must still be listed"
    for backup_id in within:
        code, checked = run(
            [
                "verify",
                "--target",
                sim["target"],
                "--class",
                "chain",
                "--backup",
                backup_id,
                "--key-file",
                str(key_file),
            ]
        )
        assert code == 0, (backup_id, checked)


def test_an_endless_chain_loses_its_newest_backup_to_the_lifecycle(
    seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_file: Path
) -> None:
    """The behaviour without rebasing (``--max-chain-days 0``): the same months, the same lifecycle."""
    sim = simulate(seaweedfs, monkeypatch, tmp_path, key_file, 0)
    assert sim["kinds"][0] == "new" and set(sim["kinds"][1:]) == {"extended"}
    assert sim["expired"] > 0
    code, out = _restore(sim["target"], key_file, tmp_path / "restored")
    assert code == 1, out
    assert "chunks/00000000" in out["error"] and "missing" in out["error"], out
