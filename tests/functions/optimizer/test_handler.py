"""Lambda handler on S3 events and the Job entry point, offline through OPTIMIZER_STORAGE_ROOT."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from functions.optimizer.calibrate import MATE_NATURE
from functions.optimizer.environment import EnvironmentConfigError
from functions.optimizer.handler import lambda_handler, run_job
from functions.optimizer.metrics import Metrics
from functions.optimizer.pipeline import CACHE_IMAGE, CACHE_IMMUTABLE, CACHE_TEXT
from functions.optimizer.settings import ImageSettings, OptimizerSettings


def s3_event(bucket: str, *keys: str) -> dict:
    return {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}}} for key in keys]}  # fmt: skip


@pytest.fixture
def buckets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    uploads = tmp_path / "uploads" / "photos"
    uploads.mkdir(parents=True)
    shutil.copy(MATE_NATURE / "FreshFlower.jpg", uploads / "fresh flower.jpg")
    assets = tmp_path / "uploads" / "assets"
    assets.mkdir()
    (assets / "app.1a2b3c4d5e.js").write_text("function f(a){ return a + 1; }\nconsole.log(f(1));\n" * 40)
    (assets / "index.html").write_text("<html><body>  <p>  hi  </p> </body></html>\n" * 40)
    (assets / "clip.mp4").write_bytes(b"\0\0\0\x18ftypmp42")
    monkeypatch.setenv("OPTIMIZER_STORAGE_ROOT", tmp_path.as_uri())
    monkeypatch.setenv("OPTIMIZED_BUCKET", "optimized")
    return tmp_path


@pytest.mark.real
def test_lambda_handler_images_text_and_video_refusal(buckets: Path) -> None:
    event = s3_event("uploads", "photos/fresh+flower.jpg", "assets/app.1a2b3c4d5e.js", "assets/index.html",
                     "assets/clip.mp4")  # fmt: skip
    settings = OptimizerSettings(image=ImageSettings(widths=(320, 640)))
    result = lambda_handler(event, None, settings)
    files = {Path(f["source"]).name: f for f in result["files"]}
    assert result["summary"]["files"] == 4 and result["summary"]["failures"] == 1
    image = files["fresh flower.jpg"]
    assert image["ok"], image
    out = buckets / "optimized" / "photos" / "fresh-flower"
    assert (out / "manifest.json").is_file() and (out / "fresh-flower-640.avif").is_file()
    controls = {Path(o["uri"]).name: o["cache_control"] for f in result["files"] for o in f["outputs"]}
    assert controls["fresh-flower-640.avif"] == CACHE_IMAGE
    assert controls["app.1a2b3c4d5e.js"] == CACHE_IMMUTABLE
    assert controls["index.html"] == CACHE_TEXT
    assert controls["index.html.br"] == CACHE_TEXT
    encodings = {Path(o["uri"]).name: o["content_encoding"] for o in files["index.html"]["outputs"]}
    assert encodings == {"index.html": None, "index.html.br": "br", "index.html.gz": "gzip"}
    assert "Kubernetes Job" in files["clip.mp4"]["error"] and "functions.optimizer job" in files["clip.mp4"]["error"]
    assert 'optimizer_failures_total{kind="video"} 1' in result["metrics"]


def test_lambda_handler_needs_destination(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPTIMIZED_BUCKET", raising=False)
    with pytest.raises(EnvironmentConfigError, match="OPTIMIZED_BUCKET"):
        lambda_handler(s3_event("b", "k.jpg"))
    assert json.loads(capsys.readouterr().out)["level"] == "error"


def test_bad_event_record(buckets: Path) -> None:
    with pytest.raises(ValueError, match=r"Records\[0\]"):
        lambda_handler({"Records": [{"s3": {}}]})


def test_job_walks_a_prefix_and_keeps_folders(buckets: Path) -> None:
    metrics = Metrics()
    reports = run_job("s3://uploads/assets", "s3://optimized/site", OptimizerSettings(), metrics)
    assert sorted(Path(r.source).name for r in reports) == ["app.1a2b3c4d5e.js", "clip.mp4", "index.html"]
    assert (buckets / "optimized" / "site" / "index.html.gz").is_file()
    assert metrics.failed == 1  # the 16-byte "mp4" is not a video
