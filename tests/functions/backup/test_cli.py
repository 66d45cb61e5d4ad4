"""CLI behaviour on file:// targets: usage errors, incremental dedup, metrics, Lambda mapping, progress."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from functions.backup.cli import run
from functions.backup.handler import event_to_argv, lambda_handler
from functions.backup.report import Reporter
from tests.functions.backup.conftest import REPO


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "functions.backup", *argv], cwd=REPO, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--target", "ftp://host/x"], "unknown scheme 'ftp'"),
        (["list", "--target", "s3://"], "missing bucket"),
        (
            [
                "backup",
                "--class",
                "db",
                "--source-dir",
                "/nonexistent",
                "--target",
                "file:///tmp/x",
                "--key-file",
                "/nonexistent.key",
            ],
            "--key-file /nonexistent.key: no such file",
        ),
        (["backup", "--class", "nope"], "invalid choice: 'nope'"),
        (
            ["verify", "--target", "file:///tmp/x", "--azure-key-id", "https://kv.example.com/keys/k"],
            "--azure-key-id 'https://kv.example.com/keys/k': not a Key Vault key URL",
        ),
        (
            ["restore", "--to", "/tmp/x", "--target", "file:///tmp/x", "--gcp-kms-key", "projects/p/keyRings/r"],
            "--gcp-kms-key 'projects/p/keyRings/r': not a Cloud KMS CryptoKey name",
        ),
        (["verify", "--target", "file:///tmp/x", "--kms-key-id"], "--kms-key-id: expected one argument"),
        (["restore", "--target", "file:///tmp/x"], "--to"),
        (["prune", "--target", "file:///tmp/x", "--keep-days", "-1"], "--keep-days"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(argv: list[str], message: str) -> None:
    proc = _cli(*argv)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_source_dir_missing_and_pg_url_checked(tmp_path: Path, key_file: Path) -> None:
    code, result = run(
        [
            "backup",
            "--class",
            "state",
            "--source-dir",
            str(tmp_path / "none"),
            "--target",
            f"file://{tmp_path}/s",
            "--key-file",
            str(key_file),
        ]
    )
    assert code == 2 and "not a directory" in result["error"]
    code, result = run(
        [
            "backup",
            "--class",
            "state",
            "--source",
            "mysql://x/y",
            "--target",
            f"file://{tmp_path}/s",
            "--key-file",
            str(key_file),
        ]
    )
    assert code == 2 and "postgresql://" in result["error"]


def test_incremental_uploads_only_changed_pieces_and_restores_exactly(tmp_path: Path, key_file: Path) -> None:
    src = tmp_path / "chain"
    (src / "blocks").mkdir(parents=True)
    big = bytearray(os.urandom(5 << 20))
    (src / "blocks/blk00000.dat").write_bytes(big)
    (src / "blocks/blk00001.dat").write_bytes(os.urandom(100_000))
    (src / "CURRENT").write_text("MANIFEST-000001\n")
    target = ["--target", f"file://{tmp_path}/store", "--key-file", str(key_file)]
    code, full = run(["incremental", "--source-dir", str(src), "--chunk-mib", "1", *target])
    assert code == 0 and full["sizes"]["chunks"] == 5 + 1 + 1
    big[3 << 20] ^= 0xFF  # one piece of the big file changes
    (src / "blocks/blk00000.dat").write_bytes(big)
    (src / "blocks/blk00002.dat").write_bytes(b"new block")
    code, inc = run(["incremental", "--source-dir", str(src), *target])
    assert code == 0
    assert inc["parent"] == full["backup_id"] and inc["new_chunks"] == 2
    assert inc["sizes"]["stored_bytes"] < (1 << 20) + 4096
    code, checked = run(["verify", "--class", "chain", *target])
    assert code == 0 and checked[0]["ok"]
    code, _ = run(["restore", "--class", "chain", "--to", str(tmp_path / "out"), *target])
    assert code == 0
    for path in src.rglob("*"):
        twin = tmp_path / "out" / path.relative_to(src)
        assert twin.is_dir() if path.is_dir() else twin.read_bytes() == path.read_bytes()
    # The parent's chunks are part of the proof: losing one breaks the child too.
    parent_chunk = next((tmp_path / "store/chain" / full["backup_id"] / "chunks").iterdir())
    parent_chunk.unlink()
    code, checked = run(["verify", "--class", "chain", "--backup", inc["backup_id"], *target])
    assert code == 1 and "missing" in " ".join(checked[0]["problems"])


def test_metrics_textfile_counts_success_and_failure(tmp_path: Path, key_file: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"a" * 1000)
    metrics = tmp_path / "backup.prom"
    base = ["backup", "--class", "state", "--target", f"file://{tmp_path}/s", "--metrics-file", str(metrics)]
    assert run([*base, "--source-dir", str(src), "--key-file", str(key_file)])[0] == 0
    assert run([*base, "--source", "postgresql://postgres@127.0.0.1:1/x", "--key-file", str(key_file)])[0] == 1
    assert run([*base, "--source-dir", str(src), "--key-file", str(key_file)])[0] == 0
    text = metrics.read_text()
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert float(values['backup_failures_total{class="state"}']) == 1
    assert float(values['backup_bytes_total{class="state"}']) == 2000
    assert float(values['backup_completion_time{class="state"}']) > 1.7e9
    assert "# TYPE backup_duration_seconds gauge" in text


def test_lambda_handler_maps_events_to_the_cli(tmp_path: Path, key_file: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("hello")
    target = f"file://{tmp_path}/store"
    assert event_to_argv({"command": "list", "args": {"target": ["a", "b"], "all": True, "x": None}}) == [
        "list",
        "--target",
        "a",
        "--target",
        "b",
        "--all",
    ]
    answer = lambda_handler(
        {
            "command": "backup",
            "args": {"source_dir": str(src), "class": "state", "target": [target], "key_file": str(key_file)},
        }
    )
    assert answer["exit_code"] == 0
    listed = lambda_handler({"command": "list", "args": {"target": [target]}})
    assert [r["backup_id"] for r in listed["result"]] == [answer["result"]["backup_id"]]
    assert lambda_handler({"command": "restore", "args": {"target": [target]}})["exit_code"] == 2
    assert lambda_handler({})["exit_code"] == 2


def test_progress_line_on_a_terminal_and_json_logs_otherwise() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    reporter = Reporter(tty)
    reporter._last = -1.0
    reporter.progress(50 << 20, 100 << 20)
    assert "MiB" in tty.getvalue() and "ETA" in tty.getvalue()
    plain = io.StringIO()
    Reporter(plain).event("backup_finished", backup_id="x")
    assert json.loads(plain.getvalue())["event"] == "backup_finished"


def test_key_is_never_written_in_plaintext(tmp_path: Path, key_file: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_bytes(b"secret payload " * 100)
    assert (
        run(
            [
                "backup",
                "--source-dir",
                str(src),
                "--class",
                "state",
                "--target",
                f"file://{tmp_path}/s",
                "--key-file",
                str(key_file),
            ]
        )[0]
        == 0
    )
    master = key_file.read_bytes()
    for path in (tmp_path / "s").rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert master not in blob and master.hex().encode() not in blob
            assert b"secret payload" not in blob


def test_a_source_started_early_is_killed_when_a_later_check_fails(
    tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_dump starts right after parsing (its catalog phase overlaps our imports and target checks); a
    target or key that fails afterwards must not leave it running."""
    from functions.backup import sources

    started: list[sources.Child] = []

    def fake_pg_dump(url: str) -> sources.Child:
        child = sources.Child(["sleep", "30"], role="pg_dump")
        started.append(child)
        return child

    monkeypatch.setattr(sources, "pg_dump", fake_pg_dump)
    base = ["backup", "--class", "state", "--source", "postgresql://127.0.0.1:1/x"]
    code, result = run([*base, "--target", "ftp://host/x", "--key-file", str(key_file)])
    assert code == 2 and "unknown scheme 'ftp'" in result["error"]
    code, result = run([*base, "--target", f"file://{tmp_path}/s", "--key-file", str(tmp_path / "missing.key")])
    assert code == 2 and "missing.key" in result["error"]
    assert len(started) == 2 and all(c.proc.poll() is not None for c in started)
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").rglob("manifest.json"))


def test_keys_from_the_environment_name_the_variable_when_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BACKUP_KEY_FILE", "BACKUP_KMS_KEY_ID", "BACKUP_AZURE_KEY_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BACKUP_GCP_KMS_KEY", "projects/p/cryptoKeys/k")
    code, result = run(["verify", "--target", "file:///tmp/x"], Reporter(io.StringIO(), json_logs=True))
    assert code == 2 and result["error"].startswith("$BACKUP_GCP_KMS_KEY 'projects/p/cryptoKeys/k': not a Cloud KMS")
    monkeypatch.delenv("BACKUP_GCP_KMS_KEY")
    code, result = run(["verify", "--target", "file:///tmp/x"], Reporter(io.StringIO(), json_logs=True))
    assert code == 2 and "no key: pass --kms-key-id ARN, --azure-key-id URL, --gcp-kms-key NAME" in result["error"]
