"""CLI: a batch with hostile files keeps going, reports per file, exits 1; metrics pass promtool."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import pyvips

from functions.optimizer.calibrate import MATE_NATURE
from functions.optimizer.settings import QUALITY_TABLE

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "functions.optimizer", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(MATE_NATURE / "GreenMeadow.jpg", folder / "meadow.jpg")
    data = (MATE_NATURE / "Dune.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 4])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "readme.png").write_bytes(b"# not a png\n")
    (folder / "bomb.png").write_bytes(pyvips.Image.black(40000, 40000).pngsave_buffer(compression=9))
    return folder


@pytest.mark.real
def test_batch_with_hostile_files(batch: Path, tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.prom"
    done = _cli("image", str(batch), "--out", str(tmp_path / "out"), "--json", "--widths", "320,640",
                "--metrics-file", str(metrics))  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    by_name = {Path(f["source"]).name: f for f in report["files"]}
    assert by_name["meadow.jpg"]["ok"] and by_name["meadow.jpg"]["compression_ratio"] > 5
    assert "premature end" in by_name["truncated.jpg"]["error"]
    assert "empty file" in by_name["empty.jpg"]["error"]
    assert "not a supported image" in by_name["readme.png"]["error"]
    assert "decompression-bomb" in by_name["bomb.png"]["error"]
    assert report["summary"]["files"] == 5 and report["summary"]["failures"] == 4
    assert (tmp_path / "out" / "meadow" / "meadow-640.avif").is_file()
    assert done.stderr.count("error: ") == 4 and "Traceback" not in done.stderr
    exposition = metrics.read_text()
    assert 'optimizer_failures_total{kind="image"} 4' in exposition
    assert 'optimizer_files_total{kind="image"} 5' in exposition
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with the Debian prometheus package in CI"
    checked = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, text=True,
                             check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_text_batch_succeeds_with_exit_zero(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("body {\n  color: red;\n}\n" * 50)
    done = _cli("text", str(tmp_path / "a.css"), "--out", str(tmp_path / "out"), "--gzip-level", "6")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "a.css.gz").is_file() and (tmp_path / "out" / "a.css.br").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["image", "missing.jpg", "--out", "o"], "missing.jpg: no such file"),
        (["image", "x", "--out", "o", "--quality", "best"], "invalid choice: 'best'"),
        (["image", "x", "--out", "o", "--formats", "gif"], "formats must be among"),
        (["text", "x", "--out", "o", "--gzip-level", "12"], "from 1 to 9"),
        (["video", "x", "--out", "o", "--heights", "2160"], "not in the ladder"),
        (["job", "--source", "ftp://x/y", "--dest", "file:///tmp/o"], None),
    ],
)
def test_usage_errors(args: list[str], message: str | None, tmp_path: Path) -> None:
    done = _cli(*args)
    assert "Traceback" not in done.stderr
    if message is None:
        assert done.returncode == 1 and "unsupported scheme 'ftp'" in done.stderr
    else:
        assert done.returncode == 2 and message in done.stderr


def test_pushgateway_receives_the_exposition(tmp_path: Path) -> None:
    received: list[tuple[str, str, bytes]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.command, self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (tmp_path / "a.js").write_text("let x = 1;\n" * 100)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        done = _cli("text", str(tmp_path / "a.js"), "--out", str(tmp_path / "out"), "--pushgateway", url)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert received and received[0][:2] == ("PUT", "/metrics/job/optimizer")
    assert b'optimizer_files_total{kind="text"} 1' in received[0][2]


@pytest.mark.real
def test_fixed_quality_flag_uses_the_table(tmp_path: Path) -> None:
    source = tmp_path / "storm.jpg"
    shutil.copy(MATE_NATURE / "Storm.jpg", source)
    manifests = {}
    for out, flags in (("fixed", ["--fixed-quality"]), ("auto", [])):
        done = _cli("image", str(source), "--out", str(tmp_path / out), "--widths", "320", "--quality", "low", *flags)
        assert done.returncode == 0, done.stderr
        manifests[out] = json.loads((tmp_path / out / "storm" / "manifest.json").read_text())
    fixed, auto = manifests["fixed"], manifests["auto"]
    assert fixed["autoquality"] is None and auto["autoquality"]["probe_width"] == 320
    assert all(v["quality"] == QUALITY_TABLE["low"][v["format"]] for v in fixed["variants"])
    assert all(v["quality"] == auto["autoquality"]["codecs"][v["format"]]["quality"] for v in auto["variants"])


@pytest.mark.real
def test_ssim_flag_chooses_the_measured_widths(tmp_path: Path) -> None:
    source = tmp_path / "storm.jpg"
    shutil.copy(MATE_NATURE / "Storm.jpg", source)
    measured = {}
    for out, flags in (("default", []), ("all", ["--ssim", "all"]), ("none", ["--no-ssim"])):
        done = _cli("image", str(source), "--out", str(tmp_path / out), "--widths", "320,640", *flags)
        assert done.returncode == 0, done.stderr
        manifest = json.loads((tmp_path / out / "storm" / "manifest.json").read_text())
        measured[out] = manifest["ssim_measured_at"]
        assert {v["width"] for v in manifest["variants"] if v["ssim"] is not None} == set(measured[out]), out
    assert measured == {"default": [320], "all": [320, 640], "none": []}
    assert _cli("image", str(source), "--out", str(tmp_path / "x"), "--ssim", "some").returncode == 2
