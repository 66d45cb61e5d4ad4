"""The deployment variables: parsed into settings, bad values refused by name, Cache-Control map applied."""

from __future__ import annotations

import json

import pytest

from functions.optimizer import pipeline
from functions.optimizer.environment import (
    CACHE_CONTROL_ENV,
    EnvironmentConfigError,
    load,
    output_folder,
    settings_from_environment,
)
from functions.optimizer.settings import OptimizerSettings

#: What the component sets in prod (content_optimizer_policies.function_environment, seed defaults).
COMPONENT_ENV = {
    "OPTIMIZED_BUCKET": "optimized",
    "OPTIMIZED_PREFIX": "",
    "OPTIMIZER_UPLOAD_PREFIX": "uploads/",
    "OPTIMIZER_QUALITY": "high",
    "OPTIMIZER_WIDTHS": "480,960",
    "OPTIMIZER_FORMATS": "webp,jpeg",
    "OPTIMIZER_GZIP_LEVEL": "6",
    "OPTIMIZER_BROTLI_QUALITY": "5",
    "OPTIMIZER_MINIFY": "false",
    CACHE_CONTROL_ENV: json.dumps({"jpg": "public, max-age=60", "js": "public, max-age=31536000, immutable"}),
}


def test_every_variable_reaches_the_settings() -> None:
    deployment = load(COMPONENT_ENV)
    image, text = deployment.settings.image, deployment.settings.text
    assert (image.quality, image.widths, image.formats) == ("high", (480, 960), ("webp", "jpeg"))
    assert (text.gzip_level, text.brotli_quality, text.minify) == (6, 5, False)
    assert deployment.upload_prefix == "uploads/" and deployment.dest_bucket == "optimized"
    assert deployment.cache_control == {"jpg": "public, max-age=60", "js": "public, max-age=31536000, immutable"}


def test_unset_variables_keep_the_seed_defaults_and_the_base() -> None:
    assert settings_from_environment({}) == OptimizerSettings()
    deployment = load({})
    assert deployment.cache_control is None and deployment.upload_prefix == "" and deployment.dest_bucket is None


def test_formats_come_out_best_first() -> None:
    assert settings_from_environment({"OPTIMIZER_FORMATS": "jpeg,avif"}).image.formats == ("avif", "jpeg")


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("OPTIMIZER_QUALITY", "best", "one of high, medium, low"),
        ("OPTIMIZER_QUALITY", "", "one of high, medium, low"),
        ("OPTIMIZER_WIDTHS", "320,abc", "comma-separated positive integers"),
        ("OPTIMIZER_WIDTHS", "640,320", "strictly ascending"),
        ("OPTIMIZER_WIDTHS", "0,320", "strictly ascending"),
        ("OPTIMIZER_FORMATS", "avif,gif", "among avif,webp,jpeg"),
        ("OPTIMIZER_FORMATS", "webp,webp", "distinct"),
        ("OPTIMIZER_GZIP_LEVEL", "10", "integer from 1 to 9"),
        ("OPTIMIZER_GZIP_LEVEL", "nine", "integer from 1 to 9"),
        ("OPTIMIZER_BROTLI_QUALITY", "-1", "integer from 0 to 11"),
        ("OPTIMIZER_MINIFY", "yes", "true or false"),
        ("OPTIMIZER_UPLOAD_PREFIX", "uploads", "ending with '/'"),
        (CACHE_CONTROL_ENV, "{jpg: 1}", "is not JSON"),
        (CACHE_CONTROL_ENV, "[]", "non-empty JSON object"),
        (CACHE_CONTROL_ENV, '{".jpg": "public"}', "lowercase extension without a dot"),
        (CACHE_CONTROL_ENV, '{"jpg": 60}', "printable ASCII string"),
        (CACHE_CONTROL_ENV, '{"jpg": "public\\r\\nX-Evil: 1"}', "printable ASCII string"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_is_allowed(name: str, value: str, allowed: str) -> None:
    with pytest.raises(EnvironmentConfigError) as caught:
        load({**COMPONENT_ENV, name: value})
    assert str(caught.value).startswith(f"environment variable {name}=") and allowed in str(caught.value)


@pytest.mark.parametrize(
    ("key", "prefix", "folder"),
    [
        ("uploads/a/b.jpg", "uploads/", "a"),
        ("uploads/b.jpg", "uploads/", ""),
        ("site/uploads/a/b.jpg", "site/uploads/", "a"),
        ("other/a/b.jpg", "uploads/", "other/a"),  # outside the prefix: nothing dropped
        ("uploads/a/b.jpg", "", "uploads/a"),
    ],
)
def test_output_folder_strips_the_upload_prefix(key: str, prefix: str, folder: str) -> None:
    assert output_folder(key, prefix) == folder


def test_cache_control_follows_the_map_by_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"jpg": "public, max-age=60", "html": "public, max-age=5, s-maxage=50", "json": "public, max-age=7"}
    monkeypatch.setenv(CACHE_CONTROL_ENV, json.dumps(table))
    assert pipeline.cache_control("image", "photo-640.jpg") == table["jpg"]
    assert pipeline.cache_control("image", "PHOTO-640.JPG") == table["jpg"]
    assert pipeline.cache_control("text", "index.html.br") == table["html"]
    assert pipeline.cache_control("text", "index.html.gz") == table["html"]
    assert pipeline.cache_control("image", "manifest.json") == table["json"]
    # the map wins over the fingerprint rule: the CDN classes by extension too
    assert pipeline.cache_control("text", "data.1a2b3c4d.json") == table["json"]
    # an extension without a CDN class keeps the built-in default
    assert pipeline.cache_control("text", "app.js.map") == pipeline.default_cache_control("text", "app.js.map")


def test_cache_control_defaults_without_the_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_CONTROL_ENV, raising=False)
    assert pipeline.cache_control("image", "photo-640.avif") == pipeline.CACHE_IMAGE
    assert pipeline.cache_control("text", "app.1a2b3c4d.js") == pipeline.CACHE_IMMUTABLE
    assert pipeline.cache_control("text", "index.html") == pipeline.CACHE_TEXT
