"""Tampering with a real pg_dump backup: each change is found by verify and refused by restore."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from functions.backup.cli import run
from tests.functions.backup.conftest import PgServer, backup_argv

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, postgres: PgServer, pgbench_db: str) -> dict[str, object]:
    """Two real backups (A, B) of the same database with 1 MiB chunks, made once for the module."""
    root = tmp_path_factory.mktemp("tamper")
    key = root / "k"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    ids = []
    for _ in range(2):
        code, result = run(
            backup_argv(postgres.url(pgbench_db), "db", [f"file://{root}/store"], key, "--chunk-mib", "1")
        )
        assert code == 0, result
        ids.append(result["backup_id"])
    return {"root": root, "key": key, "a": ids[0], "b": ids[1]}


def _chunk(store: Path, bid: str, i: int) -> Path:
    return store / "db" / bid / "chunks" / f"{i:08d}"


def _flip_bit(store: Path, a: str, b: str) -> str:
    path = _chunk(store, a, 3)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0x01
    path.write_bytes(bytes(data))
    return "chunk 3"


def _truncate(store: Path, a: str, b: str) -> str:
    path = _chunk(store, a, 2)
    path.write_bytes(path.read_bytes()[:-100])
    return "chunk 2"


def _reorder(store: Path, a: str, b: str) -> str:
    one, two = _chunk(store, a, 4), _chunk(store, a, 5)
    first, second = one.read_bytes(), two.read_bytes()
    one.write_bytes(second)
    two.write_bytes(first)
    return "chunk 4"


def _missing(store: Path, a: str, b: str) -> str:
    _chunk(store, a, 6).unlink()
    return "chunk 6"


def _other_manifest(store: Path, a: str, b: str) -> str:
    shutil.copy(store / "db" / b / "manifest.json", store / "db" / a / "manifest.json")
    return "manifest from another backup"


def _edited_manifest(store: Path, a: str, b: str) -> str:
    path = store / "db" / a / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["chunks"][1]["sha256"], manifest["chunks"][2]["sha256"] = (
        manifest["chunks"][2]["sha256"],
        manifest["chunks"][1]["sha256"],
    )
    path.write_text(json.dumps(manifest))
    return "Merkle root"


def _chunk_from_b(store: Path, a: str, b: str) -> str:
    shutil.copy(_chunk(store, b, 1), _chunk(store, a, 1))
    return "chunk 1"


CASES: dict[str, Callable[[Path, str, str], str]] = {
    "flipped_bit": _flip_bit,
    "truncated_chunk": _truncate,
    "reordered_chunks": _reorder,
    "missing_chunk": _missing,
    "manifest_from_other_backup": _other_manifest,
    "edited_manifest": _edited_manifest,
    "chunk_from_other_backup": _chunk_from_b,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_detected_and_refused(
    case: str, pristine: dict[str, object], tmp_path: Path, postgres: PgServer
) -> None:
    store = tmp_path / "store"
    shutil.copytree(Path(str(pristine["root"])) / "store", store)
    a, b = str(pristine["a"]), str(pristine["b"])
    expected = CASES[case](store, a, b)
    target = ["--target", f"file://{store}", "--key-file", str(pristine["key"])]
    code, result = run(["verify", "--backup", a, *target])
    assert code == 1
    problems = " ".join(result[0]["problems"])
    assert expected in problems, problems
    newdb = f"tamper_{case}"
    code, refused = run(["restore", "--backup", a, "--to", postgres.url(newdb), *target])
    assert code == 1 and expected in refused["error"], refused
    assert postgres.psql(f"SELECT count(*) FROM pg_database WHERE datname LIKE '{newdb}%'") == "0"


def test_wrong_key_is_refused(pristine: dict[str, object], tmp_path: Path, postgres: PgServer) -> None:
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    target = ["--target", f"file://{pristine['root']}/store", "--key-file", str(other)]
    code, result = run(["verify", "--backup", str(pristine["a"]), *target])
    assert code == 1 and "wrong key" in result[0]["problems"][0]
    code, refused = run(["restore", "--backup", str(pristine["a"]), "--to", postgres.url("wrongkey"), *target])
    assert code == 1 and "wrong key" in refused["error"]


def test_untouched_backup_verifies(pristine: dict[str, object]) -> None:
    code, result = run(
        [
            "verify",
            "--backup",
            str(pristine["a"]),
            "--target",
            f"file://{pristine['root']}/store",
            "--key-file",
            str(pristine["key"]),
        ]
    )
    assert code == 0 and result[0]["ok"]
