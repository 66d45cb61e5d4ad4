"""Opening backups whose data key has several recipients (AWS KMS, Azure Key Vault, Cloud KMS, key file).

The cloud keys are the real SDKs against local fakes of each service (kms_fakes.py); the backups are real
ones on file:// targets, written and read by the commands the CLI runs.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from functions.backup import commands
from functions.backup.errors import BackupError, IntegrityError
from functions.backup.keys import KeyFileWrapper, KeyRing
from functions.backup.report import Reporter
from functions.backup.stores import FileStore, ObjectStore
from tests.functions.backup.conftest import CloudKeys

LEGACY = Path(__file__).parent / "data" / "single_key_v1"


def _reporter() -> Reporter:
    return Reporter(io.StringIO(), json_logs=True)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha\n" * 100)
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 64)
    return src


def _store(tmp_path: Path) -> FileStore:
    return FileStore(f"file://{tmp_path}/store", tmp_path / "store")


def _backup(stores: list[ObjectStore], keys: Any, src: Path, backup_class: str = "chain") -> dict[str, Any]:
    return commands.backup(
        stores=stores,
        wrapper=keys,
        reporter=_reporter(),
        backup_class=backup_class,
        source_url=None,
        source_dir=str(src),
    )


def _restore(stores: list[ObjectStore], keys: Any, dest: Path, backup_id: str | None = None) -> dict[str, bytes]:
    commands.restore(
        stores=stores, wrapper=keys, reporter=_reporter(), to=str(dest), backup_class="chain", backup_id=backup_id
    )
    return _tree(dest)


def _manifest_path(tmp_path: Path, backup_class: str, backup_id: str) -> Path:
    return tmp_path / "store" / backup_class / backup_id / "manifest.json"


def _edit_manifest(path: Path, edit: Any) -> None:
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def test_a_backup_for_three_clouds_restores_with_any_single_key(tmp_path: Path, cloud_keys: CloudKeys) -> None:
    src, store = _source(tmp_path), _store(tmp_path)
    ring = KeyRing([cloud_keys.aws, cloud_keys.azure, cloud_keys.gcp])
    result = _backup([store], ring, src)
    manifest = commands.manifest_of(store, "chain", result["backup_id"])
    assert [r["key_id"] for r in manifest["key"]["recipients"]] == ring.key_ids
    for n, single in enumerate((cloud_keys.aws, cloud_keys.azure, cloud_keys.gcp)):
        assert _restore([store], single, tmp_path / f"out{n}") == _tree(src)
        (verified,) = commands.verify_backups([store], single, "chain", None, _reporter())
        assert verified["ok"], verified
    (row,) = commands.list_backups([store], "chain", False)
    assert row["key_ids"] == ring.key_ids


def test_a_wrong_key_names_the_backups_keys_and_the_ones_supplied(
    tmp_path: Path, cloud_keys: CloudKeys, key_file: Path
) -> None:
    src, store = _source(tmp_path), _store(tmp_path)
    _backup([store], KeyRing([cloud_keys.azure, cloud_keys.gcp]), src)
    stranger = KeyFileWrapper(key_file)
    with pytest.raises(BackupError) as err:
        _restore([store], KeyRing([stranger, cloud_keys.aws]), tmp_path / "out")
    text = str(err.value)
    assert f"was wrapped for {cloud_keys.azure.key_id}, {cloud_keys.gcp.key_id}" in text
    assert f"you supplied {stranger.key_id}, {cloud_keys.aws.key_id} (wrong key" in text


@pytest.mark.parametrize("tamper", ["remove", "reorder", "duplicate", "first-only"])
def test_a_changed_recipient_list_fails_the_manifest_mac(
    tmp_path: Path, cloud_keys: CloudKeys, key_file: Path, tamper: str
) -> None:
    src, store = _source(tmp_path), _store(tmp_path)
    keyfile = KeyFileWrapper(key_file)
    result = _backup([store], KeyRing([cloud_keys.gcp, cloud_keys.azure, keyfile]), src)

    def edit(manifest: dict[str, Any]) -> None:
        recipients = manifest["key"]["recipients"]
        if tamper == "remove":  # e.g. drop the GCP recipient so only the attacker's copy of the key remains
            del recipients[0]
        elif tamper == "reorder":
            recipients.reverse()
        elif tamper == "duplicate":
            recipients.append(dict(recipients[-1]))
        else:  # back to the single-key layout: the MAC covers the block's shape too
            del manifest["key"]["recipients"]

    _edit_manifest(_manifest_path(tmp_path, "chain", result["backup_id"]), edit)
    reader = cloud_keys.gcp if tamper == "first-only" else keyfile  # "first-only" leaves the first (GCP) recipient
    with pytest.raises(IntegrityError, match="manifest MAC mismatch"):
        _restore([store], reader, tmp_path / "out")


def test_a_key_block_moved_from_another_backup_is_refused(tmp_path: Path, cloud_keys: CloudKeys) -> None:
    src, store = _source(tmp_path), _store(tmp_path)
    ring = KeyRing([cloud_keys.aws, cloud_keys.azure, cloud_keys.gcp])
    first = _backup([store], ring, src)["backup_id"]
    second = _backup([store], ring, src)["backup_id"]
    donor = commands.manifest_of(store, "chain", first)["key"]
    target = _manifest_path(tmp_path, "chain", second)
    pristine = target.read_text()

    # The whole block (with its context): the context names the other backup.
    _edit_manifest(target, lambda m: m.update(key=donor))
    with pytest.raises(IntegrityError, match=f"key block of backup {second} is bound to chain/{first}"):
        _restore([store], cloud_keys.azure, tmp_path / "out0")

    # Only the wrapped keys, under this backup's context: each service refuses, in its own words.
    def transplant(manifest: dict[str, Any]) -> None:
        manifest["key"]["recipients"] = donor["recipients"]

    target.write_text(pristine)
    _edit_manifest(target, transplant)
    expected = {
        "aws": "InvalidCiphertextException",
        "azure": f"not bound to backup_id={second}, class=chain",
        "gcp": "Decryption failed: the ciphertext is invalid",
    }
    for n, (cloud, message) in enumerate(expected.items()):
        with pytest.raises(BackupError, match=message):
            _restore([store], getattr(cloud_keys, cloud), tmp_path / f"out{n + 1}")


def test_a_single_key_manifest_written_before_recipients_still_restores(tmp_path: Path, cloud_keys: CloudKeys) -> None:
    """data/single_key_v1: a full + incremental chain and one archived WAL file, written by the code before
    recipients existed (commit in PRODUCED_BY), with its key file."""
    shutil.copytree(LEGACY / "store", tmp_path / "store")
    key = tmp_path / "legacy.key"
    shutil.copyfile(LEGACY / "key", key)
    key.chmod(0o600)
    store, legacy = _store(tmp_path), KeyFileWrapper(key)
    (full, child) = [r["backup_id"] for r in commands.list_backups([store], "chain", False)]
    assert "recipients" not in commands.manifest_of(store, "chain", child)["key"]
    expected = {"a.txt": b"hello old format\nchanged\n", "sub/b.txt": "".join(f"line {n}\n" for n in range(1, 2001))}
    expected["sub/b.txt"] = expected["sub/b.txt"].encode()  # type: ignore[union-attr]
    assert _restore([store], legacy, tmp_path / "out") == expected
    assert all(r["ok"] for r in commands.verify_backups([store], legacy, "chain", None, _reporter()))
    commands.wal_fetch([store], legacy, "000000010000000000000001", str(tmp_path / "wal"))
    assert (tmp_path / "wal").read_text() == "".join(f"wal record {n}\n" for n in range(1, 301))

    # An incremental on top, now also for Azure: the old chain's blocks gain an Azure recipient, so the new
    # backup opens with the Azure key alone.
    (tmp_path / "src").mkdir()
    for rel, data in expected.items():
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_bytes(data)  # type: ignore[arg-type]
    newest = commands.incremental(
        stores=[store],
        wrapper=KeyRing([legacy, cloud_keys.azure]),
        reporter=_reporter(),
        backup_class="chain",
        source_dir=str(tmp_path / "src"),
        max_chain_days=0,  # the stored chain is older than any chain limit: extend it anyway
    )
    assert newest["parent"] == child
    keys = commands.manifest_of(store, "chain", newest["backup_id"])["keys"]
    assert set(keys) == {full, child}
    assert all(
        [r["key_id"] for r in b["recipients"]] == [legacy.key_id, cloud_keys.azure.key_id] for b in keys.values()
    )
    assert _restore([store], cloud_keys.azure, tmp_path / "out-azure", newest["backup_id"]) == expected


def test_a_chain_copies_key_blocks_that_already_have_every_recipient(tmp_path: Path, cloud_keys: CloudKeys) -> None:
    src, store = _source(tmp_path), _store(tmp_path)
    ring = KeyRing([cloud_keys.gcp, cloud_keys.azure])
    base = _backup([store], ring, src)["backup_id"]

    def incremental() -> dict[str, Any]:
        (src / "a.txt").write_text((src / "a.txt").read_text() + "more\n")
        result = commands.incremental(
            stores=[store], wrapper=ring, reporter=_reporter(), backup_class="chain", source_dir=str(src)
        )
        return commands.manifest_of(store, "chain", result["backup_id"])

    first = incremental()
    second = incremental()
    assert first["keys"][base] == commands.manifest_of(store, "chain", base)["key"]  # not re-wrapped
    assert second["keys"][first["backup_id"]] == first["key"] and second["keys"][base] == first["keys"][base]
    assert _restore([store], cloud_keys.gcp, tmp_path / "out", second["backup_id"]) == _tree(src)


def test_wal_push_and_fetch_with_several_recipients(tmp_path: Path, cloud_keys: CloudKeys, key_file: Path) -> None:
    store = _store(tmp_path)
    wal = tmp_path / "000000010000000000000002"
    wal.write_bytes(b"wal bytes " * 1000)
    ring = KeyRing([KeyFileWrapper(key_file), cloud_keys.gcp])
    assert commands.wal_push([store], ring, _reporter(), str(wal))["status"] == "archived"
    assert commands.wal_push([store], ring, _reporter(), str(wal))["status"] == "already archived"
    commands.wal_fetch([store], cloud_keys.gcp, wal.name, str(tmp_path / "fetched"))
    assert (tmp_path / "fetched").read_bytes() == wal.read_bytes()


@pytest.mark.real
def test_each_clouds_copy_restores_with_that_clouds_key_alone(
    tmp_path: Path, cloud_keys: CloudKeys, cloud_env: dict[str, str], seaweedfs: Any, azurite: Any, gcs_emulator: Any
) -> None:
    """The point of recipients: one backup to S3, Azure Blob and GCS (SeaweedFS, Azurite, the GCS emulator),
    then each copy restored from its own store with only its own cloud's key, as after losing the others."""
    from functions.backup.stores import open_store

    tag = os.urandom(4).hex()
    uris = {
        "aws": f"s3://{seaweedfs.make_bucket(f'bk-rcpt-{tag}')}/p",
        "azure": f"azblob://{azurite.make_container(f'bk-rcpt-{tag}')}/p",
        "gcp": f"gs://{gcs_emulator.make_bucket(f'bk-rcpt-{tag}')}/p",
    }
    stores = {cloud: open_store(uri) for cloud, uri in uris.items()}
    src = _source(tmp_path)
    ring = KeyRing([cloud_keys.aws, cloud_keys.azure, cloud_keys.gcp])
    result = _backup(list(stores.values()), ring, src, backup_class="state")
    assert sorted(result["targets_ok"]) == sorted(uris.values())
    for cloud, store in stores.items():
        dest = tmp_path / f"from-{cloud}"
        commands.restore(
            stores=[store],
            wrapper=getattr(cloud_keys, cloud),
            reporter=_reporter(),
            to=str(dest),
            backup_class="state",
            backup_id=result["backup_id"],
        )
        assert _tree(dest) == _tree(src), cloud
