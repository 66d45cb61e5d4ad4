"""The `optimizer` config section: both stacks load it; bad input is one clear error naming its key."""

from __future__ import annotations

from typing import Any

import pytest

from components.content_optimizer.config import OptimizerSettings
from components.platform.config import ConfigError, parse_config
from functions.optimizer.pipeline import kind_of
from functions.optimizer.settings import QUALITY_LEVELS, ImageSettings, TextSettings
from tests.plans import deep_merge, stack_values


def _problems(changes: dict[str, Any], stack: str = "prod") -> list[str]:
    values = deep_merge(stack_values(stack), {"optimizer": changes})
    with pytest.raises(ConfigError) as caught:
        parse_config(values, "test")
    return caught.value.problems


# fmt: off
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("memory below AWS", {"function": {"memory_mb": 64}}, "optimizer.function.memory_mb: 64 is below the minimum 128"),
    (
        "memory above AWS",
        {"function": {"memory_mb": 10241}},
        "optimizer.function.memory_mb: 10241 is above the maximum 10240",
    ),
    (
        "memory too low for images",
        {"function": {"memory_mb": 1024}},
        "optimizer.function.memory_mb: 1024 is below 1536",
    ),
    (
        "timeout above 900",
        {"function": {"timeout_seconds": 901}},
        "optimizer.function.timeout_seconds: 901 is above the maximum 900",
    ),
    (
        "timeout zero",
        {"function": {"timeout_seconds": 0}},
        "optimizer.function.timeout_seconds: 0 is below the minimum 1",
    ),
    (
        "architecture",
        {"function": {"architecture": "aarch64"}},
        "optimizer.function.architecture: 'aarch64' is not allowed; expected 'x86_64' or 'arm64'",
    ),
    (
        "python3.11 runtime",
        {"function": {"runtime": "python3.11"}},
        "optimizer.function.runtime: 'python3.11' is not allowed",
    ),
    (
        "widths descending",
        {"images": {"widths": [640, 320]}},
        "optimizer.images.widths: [640, 320]: widths must be strictly ascending",
    ),
    (
        "widths repeated",
        {"images": {"widths": [320, 320]}},
        "optimizer.images.widths: [320, 320]: widths must be strictly ascending",
    ),
    (
        "width zero",
        {"images": {"widths": [0, 640]}},
        "optimizer.images.widths: [0, 640]: every width must be a positive",
    ),
    (
        "width negative",
        {"images": {"widths": [-320]}},
        "optimizer.images.widths: [-320]: every width must be a positive",
    ),
    ("no widths", {"images": {"widths": []}}, "optimizer.images.widths: Tuple should have at least 1 item"),
    (
        "quality level",
        {"images": {"quality": "ultra"}},
        "optimizer.images.quality: 'ultra' is not allowed; expected 'high', 'medium' or 'low'",
    ),
    ("gzip level", {"text": {"gzip_level": 10}}, "optimizer.text.gzip_level: 10 is above the maximum 9"),
    (
        "retries",
        {"function": {"max_retry_attempts": 3}},
        "optimizer.function.max_retry_attempts: 3 is above the maximum 2",
    ),
    (
        "log retention",
        {"function": {"log_retention_days": 10}},
        "optimizer.function.log_retention_days: 10 is not a CloudWatch Logs retention",
    ),
    ("unknown key", {"function": {"memory": 2048}}, "optimizer.function.memory: is not a known setting"),
    (
        "suffix twice",
        {"text_suffixes": ["html", "mp4"]},
        "optimizer.video_suffixes[0]: 'mp4' is already routed by text_suffixes",
    ),
    (
        "suffix with dot",
        {"image_suffixes": [".jpg"]},
        "optimizer.image_suffixes[0]: '.jpg' must be a lowercase extension",
    ),
    (
        "prefix without slash",
        {"upload_prefix": "uploads"},
        "optimizer.upload_prefix: 'uploads' must be '' or path segments",
    ),
    (
        "uploads expire before DLQ",
        {"upload_expiry_days": 3},
        "optimizer.upload_expiry_days: 3 is below dlq_retention_days 14",
    ),
    (
        "video deadline over SQS max",
        {"video": {"job_deadline_seconds": 43_000}},
        "optimizer.video.job_deadline_seconds: 43000 + 600 s margin exceeds",
    ),
    (
        "video without OIDC",
        {"video": {"aws_oidc_provider_arn": None}},
        "optimizer.video.aws_oidc_provider_arn: required when enabled",
    ),
    (
        "bad KEDA role",
        {"video": {"keda_operator_role_arn": "keda"}},
        "optimizer.video.keda_operator_role_arn: 'keda' is not an IAM role ARN",
    ),
    (
        "unpinned image",
        {"video": {"image": "ghcr.io/example/optimizer:latest"}},
        "optimizer.video.image: 'ghcr.io/example/optimizer:latest' must be pinned",
    ),
]
# fmt: on


@pytest.mark.parametrize(("changes", "expected"), [(c, e) for _, c, e in BAD], ids=[i for i, _, _ in BAD])
def test_bad_input_names_the_key(changes: dict[str, Any], expected: str) -> None:
    problems = _problems(changes)
    assert any(p.startswith(expected) for p in problems), problems


def test_several_problems_are_reported_together() -> None:
    problems = _problems({"function": {"memory_mb": 64, "timeout_seconds": 1000}, "images": {"quality": "x"}})
    assert len(problems) == 3, problems


def test_absent_section_means_no_optimizer() -> None:
    values = {k: v for k, v in stack_values("staging").items() if k != "optimizer"}
    assert parse_config(values, "test").optimizer is None


def test_both_stacks_configure_it_and_prod_is_bigger() -> None:
    staging = parse_config(stack_values("staging"), "staging").optimizer
    prod = parse_config(stack_values("prod"), "prod").optimizer
    assert staging is not None and prod is not None
    assert prod.function.reserved_concurrency > staging.function.reserved_concurrency
    assert prod.video.max_parallel_jobs > staging.video.max_parallel_jobs
    assert staging.force_destroy and not prod.force_destroy


def test_archive_path_follows_the_architecture() -> None:
    settings = OptimizerSettings.model_validate({"video": {"enabled": False}, "function": {"architecture": "x86_64"}})
    assert settings.function.archive == "build/lambda/optimizer-x86_64.zip"
    custom = OptimizerSettings.model_validate({"video": {"enabled": False}, "function": {"archive_path": "dist/o.zip"}})
    assert custom.function.archive == "dist/o.zip"


def test_defaults_are_the_functions_seed_values() -> None:
    """The component's defaults and the function's defaults are the same seed (widths, quality, text levels)."""
    settings = OptimizerSettings.model_validate({"video": {"enabled": False}})
    image, text = ImageSettings(), TextSettings()
    assert settings.images.widths == image.widths
    assert settings.images.quality == image.quality
    assert settings.images.formats == image.formats
    assert set(QUALITY_LEVELS) == {"high", "medium", "low"}
    assert (settings.text.gzip_level, settings.text.brotli_quality, settings.text.minify) == (
        text.gzip_level,
        text.brotli_quality,
        text.minify,
    )


def test_routed_suffixes_are_what_the_function_classifies() -> None:
    """An image suffix routed to the Lambda is one the function treats as an image, and so on."""
    settings = OptimizerSettings.model_validate({"video": {"enabled": False}})
    routed = {"image": settings.image_suffixes, "text": settings.text_suffixes, "video": settings.video_suffixes}
    assert all(routed.values()), f"some kind routes no suffixes: {routed}"
    for kind, suffixes in routed.items():
        for suffix in suffixes:
            assert kind_of(f"upload.{suffix}") == kind, suffix
            assert kind_of(f"UPLOAD.{suffix.upper()}") == kind, suffix
