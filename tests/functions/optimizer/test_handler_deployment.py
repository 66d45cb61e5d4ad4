"""The Lambda with the component's environment against real S3 (SeaweedFS): keys, Cache-Control, settings."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

import pytest

from components.cdn.config import CdnSettings
from components.content_optimizer.config import OptimizerSettings as ComponentSettings
from components.content_optimizer.policies import function_environment
from functions.optimizer.calibrate import MATE_NATURE
from functions.optimizer.environment import EnvironmentConfigError
from functions.optimizer.handler import lambda_handler
from tests.functions.backup.conftest import S3Server, seaweedfs  # noqa: F401  (session fixture)

HTML = b"<html>\n  <body>   <p>  hello  </p>   </body>\n</html>\n" * 100


def s3_event(bucket: str, *keys: str) -> dict[str, Any]:
    return {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}}} for key in keys]}  # fmt: skip


@pytest.fixture
def deployed(seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, str]]:  # noqa: F811
    """Fresh buckets, uploads in place, the process environment set as the component sets the function's."""
    s3 = seaweedfs.client()
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in {"lambda-uploads", "lambda-optimized"} - existing:
        seaweedfs.make_bucket(bucket, versioning=False)
    s3.upload_file(str(MATE_NATURE / "FreshFlower.jpg"), "lambda-uploads", "incoming/a/flower.jpg")
    s3.put_object(Bucket="lambda-uploads", Key="incoming/site/app.1a2b3c4d.js", Body=b"let  x = 1;\n" * 300)
    s3.put_object(Bucket="lambda-uploads", Key="incoming/site/index.html", Body=HTML)
    settings = ComponentSettings.model_validate(
        {"upload_prefix": "incoming/", "optimized_prefix": "cdn/", "images": {"widths": [320, 480]},
         "text": {"minify": False, "gzip_level": 1}, "video": {"enabled": False}}
    )  # fmt: skip
    env = function_environment(settings, "lambda-optimized", CdnSettings().content_classes)
    for name, value in {**env, **seaweedfs.env()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPTIMIZER_STORAGE_ROOT", raising=False)
    return s3, env


@pytest.mark.real
def test_outputs_go_under_the_stripped_key_with_the_cdn_cache_control(deployed: tuple[Any, dict[str, str]]) -> None:
    s3, env = deployed
    event = s3_event("lambda-uploads", "incoming/a/flower.jpg", "incoming/site/app.1a2b3c4d.js", "incoming/site/index.html")  # fmt: skip

    result = lambda_handler(event)

    assert result["summary"]["failures"] == 0, result
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="lambda-optimized", Prefix="cdn/")["Contents"])
    assert "cdn/a/flower/flower-480.webp" in keys and "cdn/a/flower/manifest.json" in keys
    assert "cdn/site/index.html.gz" in keys and "cdn/site/app.1a2b3c4d.js.br" in keys
    assert not [k for k in keys if "incoming" in k]
    table = json.loads(env["OPTIMIZER_CACHE_CONTROL"])
    wrong = {}
    for key in keys:
        extension = PurePosixPath(key.removesuffix(".br").removesuffix(".gz")).suffix.lstrip(".")
        stored = s3.head_object(Bucket="lambda-optimized", Key=key).get("CacheControl")
        if stored != table[extension]:
            wrong[key] = stored
    assert wrong == {}
    assert table["js"].endswith("immutable") and table["html"] != table["jpg"]  # the classes really differ
    # text settings from the environment: no minification (same bytes), widths 320/480 only
    html = s3.get_object(Bucket="lambda-optimized", Key="cdn/site/index.html")["Body"].read()
    assert html == HTML
    manifest = json.loads(s3.get_object(Bucket="lambda-optimized", Key="cdn/a/flower/manifest.json")["Body"].read())
    assert {v["width"] for v in manifest["variants"]} == {320, 480}


@pytest.mark.real
def test_a_bad_variable_fails_the_invocation_before_anything_is_written(
    deployed: tuple[Any, dict[str, str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, _ = deployed
    before = s3.list_objects_v2(Bucket="lambda-optimized").get("KeyCount", 0)
    monkeypatch.setenv("OPTIMIZER_CACHE_CONTROL", '{"jpg": "public, max-age=60"')
    with pytest.raises(EnvironmentConfigError, match="OPTIMIZER_CACHE_CONTROL"):
        lambda_handler(s3_event("lambda-uploads", "incoming/a/flower.jpg"))
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert logged["level"] == "error" and "is not JSON" in logged["error"]
    assert s3.list_objects_v2(Bucket="lambda-optimized").get("KeyCount", 0) == before
