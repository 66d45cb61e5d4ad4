"""Content optimizer: what the ``ContentOptimizer`` component deploys, and the knobs the function gets.

Images and text go through a Lambda (S3 event -> function); video goes through an SQS queue consumed by
Kubernetes Jobs that KEDA starts per queued message, because the ffmpeg ladder (1080/720/480p, H.264 + VP9)
outlasts Lambda's 15-minute limit. Limits below are AWS's documented ones (Lambda quotas; SQS visibility
timeout at most 12 h); a value outside them is a config error naming the key, not a failed ``pulumi up``.

The suffix lists mirror the function's ``pipeline.kind_of`` (a test keeps them equal): an upload whose
suffix is in no list triggers nothing.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.lib.settings import (
    CpuQuantity,
    DnsLabel,
    MemoryQuantity,
    PinnedImage,
    Settings,
    memory_bytes,
    raise_problems,
)

Architecture = Literal["x86_64", "arm64"]
QualityLevel = Literal["high", "medium", "low"]

LAMBDA_MIN_MEMORY_MB = 128
LAMBDA_MAX_MEMORY_MB = 10_240
LAMBDA_MAX_TIMEOUT_SECONDS = 900
IMAGE_MIN_MEMORY_MB = 1536
"""Below this a 100-megapixel upload (the function's pixel limit) cannot be decoded plus resized in memory."""
SQS_MAX_VISIBILITY_SECONDS = 43_200
SQS_MAX_RETENTION_DAYS = 14
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
"""Values CloudWatch Logs accepts for a log group's retention."""

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
_OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")
_SUFFIX = re.compile(r"^[a-z0-9]{1,10}$")
_PREFIX = re.compile(r"^([A-Za-z0-9!_.*'()-]+/)*$")

IMAGE_SUFFIXES = ("jpg", "jpeg", "jpe", "png", "webp", "avif", "heic", "heif", "tif", "tiff", "gif")
TEXT_SUFFIXES = ("html", "htm", "css", "js", "mjs", "json", "svg", "txt", "xml", "map")
VIDEO_SUFFIXES = ("mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "ogv")


class LambdaSettings(Settings):
    architecture: Architecture = Field(
        default="arm64", description="Lambda architecture; arm64 (Graviton) costs about 20 % less per GB-second."
    )
    runtime: Literal["python3.12", "python3.13"] = Field(
        default="python3.12",
        description="Lambda runtime. Not python3.11: pyvips-binary's manylinux_2_28 wheels need glibc 2.28 and "
        "python3.11 runs on Amazon Linux 2 (glibc 2.26). Build the zip with the same --python-version.",
    )
    memory_mb: int = Field(
        default=2048,
        ge=LAMBDA_MIN_MEMORY_MB,
        le=LAMBDA_MAX_MEMORY_MB,
        description="Memory (MB, 128-10240; CPU scales with it). Images need at least 1536.",
    )
    timeout_seconds: int = Field(
        default=300, ge=1, le=LAMBDA_MAX_TIMEOUT_SECONDS, description="Per-invocation timeout (1-900 s)."
    )
    reserved_concurrency: int = Field(
        default=20,
        ge=1,
        description="Reserved concurrent executions: caps cost and protects the account's other functions; "
        "events above it are throttled and retried by S3's async invoke.",
    )
    ephemeral_storage_mb: int = Field(default=2048, ge=512, le=10_240, description="/tmp size (512-10240 MB).")
    max_retry_attempts: int = Field(
        default=2, ge=0, le=2, description="Async-invoke retries before the event goes to the DLQ (AWS: 0-2)."
    )
    max_event_age_seconds: int = Field(
        default=21_600, ge=60, le=21_600, description="Drop (to the DLQ) events older than this (60-21600 s)."
    )
    log_retention_days: int = Field(default=30, description="CloudWatch Logs retention of the function's log group.")
    archive_path: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._/-]+\.zip$",
        description="Deployment zip, relative to the project root; None: build/lambda/optimizer-<architecture>.zip "
        "(`make lambda`). The plan records the path only; `pulumi up` needs the file.",
    )

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"{value} is not a CloudWatch Logs retention; allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        return value

    @model_validator(mode="after")
    def _memory_for_images(self) -> LambdaSettings:
        if self.memory_mb < IMAGE_MIN_MEMORY_MB:
            raise_problems(
                [
                    f"memory_mb: {self.memory_mb} is below {IMAGE_MIN_MEMORY_MB}, the least that decodes a "
                    "100-megapixel upload and derives its widths"
                ]
            )
        return self

    @property
    def archive(self) -> str:
        return self.archive_path or f"build/lambda/optimizer-{self.architecture}.zip"

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")


class ImageOptions(Settings):
    quality: QualityLevel = Field(
        default="medium", description="Named level: high / medium / low (JPEG 90 / 75 / 60, same SSIM per codec)."
    )
    widths: tuple[int, ...] = Field(
        default=(320, 640, 1024, 1920), min_length=1, description="Responsive widths, ascending, positive."
    )
    formats: tuple[Literal["avif", "webp", "jpeg"], ...] = Field(
        default=("avif", "webp", "jpeg"), min_length=1, description="Output codecs (JPEG is the universal fallback)."
    )

    @field_validator("widths")
    @classmethod
    def _widths(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(w <= 0 for w in value):
            raise ValueError(f"{list(value)}: every width must be a positive number of pixels")
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"{list(value)}: widths must be strictly ascending, e.g. [320, 640, 1024, 1920]")
        if value[-1] > 8192:
            raise ValueError(f"{value[-1]}: widths above 8192 px are not responsive-image widths")
        return value


class TextOptions(Settings):
    gzip_level: int = Field(default=9, ge=1, le=9, description="gzip level 1-9 (assets compress once, serve often).")
    brotli_quality: int = Field(default=11, ge=0, le=11, description="brotli quality 0-11.")
    minify: bool = Field(default=True, description="Minify HTML/CSS/JS before compressing.")


class VideoWorkerSettings(Settings):
    enabled: bool = Field(default=True, description="Route video uploads to the queue and run the KEDA-scaled Jobs.")
    image: PinnedImage = Field(
        default="ghcr.io/example/optimizer:1.0.0",
        description="Container image with the optimizer package and ffmpeg (pinned tag or digest).",
    )
    service_account: DnsLabel = Field(default="content-optimizer-video", description="Jobs' ServiceAccount (IRSA).")
    aws_oidc_provider_arn: str | None = Field(
        default=None,
        description="IAM OIDC provider of the cluster (arn:aws:iam::<account>:oidc-provider/<issuer>); the worker "
        "role trusts it for the ServiceAccount. Required when enabled.",
    )
    keda_operator_role_arn: str | None = Field(
        default=None,
        description="IAM role of the KEDA operator; it assumes a read-queue-depth-only scaler role. Required when enabled.",
    )
    max_parallel_jobs: int = Field(default=4, ge=1, le=100, description="At most this many transcoding Jobs at once.")
    polling_interval_seconds: int = Field(default=30, ge=5, le=3600, description="How often KEDA reads the depth.")
    job_deadline_seconds: int = Field(
        default=14_400,
        ge=600,
        description="activeDeadlineSeconds of one Job (one video); the queue's visibility timeout is this + 10 min.",
    )
    max_receive_count: int = Field(default=3, ge=1, le=1000, description="Attempts before a message goes to the DLQ.")
    cpu_request: CpuQuantity = Field(default="2", description="CPU request (ffmpeg uses every core it gets).")
    cpu_limit: CpuQuantity = Field(default="4", description="CPU limit.")
    memory_request: MemoryQuantity = Field(default="4Gi", description="Memory request.")
    memory_limit: MemoryQuantity = Field(default="4Gi", description="Memory limit (= request: no OOM surprises).")
    scratch_size: MemoryQuantity = Field(default="50Gi", description="emptyDir for the source and renditions.")

    @field_validator("aws_oidc_provider_arn")
    @classmethod
    def _oidc(cls, value: str | None) -> str | None:
        if value is not None and not _OIDC_PROVIDER_ARN.match(value):
            raise ValueError(
                f"{value!r} is not an IAM OIDC provider ARN "
                "(arn:aws:iam::123456789012:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>)"
            )
        return value

    @field_validator("keda_operator_role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError(f"{value!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
        return value

    @model_validator(mode="after")
    def _checks(self) -> VideoWorkerSettings:
        problems: list[str] = []
        if self.enabled and self.aws_oidc_provider_arn is None:
            problems.append(
                "aws_oidc_provider_arn: required when enabled (the worker role trusts the cluster's OIDC provider)"
            )
        if self.enabled and self.keda_operator_role_arn is None:
            problems.append("keda_operator_role_arn: required when enabled (KEDA reads the queue depth through it)")
        if self.job_deadline_seconds + 600 > SQS_MAX_VISIBILITY_SECONDS:
            problems.append(
                f"job_deadline_seconds: {self.job_deadline_seconds} + 600 s margin exceeds SQS's maximum visibility "
                f"timeout {SQS_MAX_VISIBILITY_SECONDS} s; a message would reappear while its Job still runs"
            )
        if memory_bytes(self.memory_limit) < memory_bytes(self.memory_request):
            problems.append(f"memory_limit: {self.memory_limit} is below memory_request {self.memory_request}")
        raise_problems(problems)
        return self


class OptimizerSettings(Settings):
    """The ``optimizer`` section; absent from a stack file means no optimizer is deployed."""

    upload_prefix: str = Field(
        default="uploads/",
        description="Key prefix in the upload bucket that triggers optimization ('' = whole bucket; ends with '/').",
    )
    optimized_prefix: str = Field(default="", description="Key prefix of the outputs in the optimized bucket.")
    upload_expiry_days: int = Field(
        default=30, ge=1, le=3650, description="Uploads (current versions) expire after this many days."
    )
    noncurrent_expiry_days: int = Field(
        default=7,
        ge=1,
        le=3650,
        description="Overwritten/deleted versions in both buckets expire after this many days.",
    )
    dlq_retention_days: int = Field(
        default=SQS_MAX_RETENTION_DAYS,
        ge=1,
        le=SQS_MAX_RETENTION_DAYS,
        description="How long failures stay in the DLQ.",
    )
    force_destroy: bool = Field(default=False, description="Let `pulumi destroy` empty the buckets (staging only).")
    image_suffixes: tuple[str, ...] = Field(default=IMAGE_SUFFIXES, min_length=1, description="Upload suffixes sent to the Lambda as images.")  # fmt: skip
    text_suffixes: tuple[str, ...] = Field(default=TEXT_SUFFIXES, description="Upload suffixes sent to the Lambda as text.")  # fmt: skip
    video_suffixes: tuple[str, ...] = Field(default=VIDEO_SUFFIXES, description="Upload suffixes sent to the video queue.")  # fmt: skip
    function: LambdaSettings = Field(default_factory=LambdaSettings, description="The image/text Lambda function.")
    images: ImageOptions = Field(default_factory=ImageOptions, description="Image quality level, widths, formats.")
    text: TextOptions = Field(default_factory=TextOptions, description="Text minification and compression.")
    video: VideoWorkerSettings = Field(default_factory=VideoWorkerSettings, description="The video worker.")
    alarm_topic_arn: str | None = Field(
        default=None,
        description="SNS topic the CloudWatch alarms notify; None: the stack's alerting topic (required "
        "when alerting.enabled is false).",
    )

    @field_validator("upload_prefix", "optimized_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(f"{value!r} must be '' or path segments each ending with '/', e.g. 'uploads/'")
        return value

    @field_validator("alarm_topic_arn")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None and not _TOPIC_ARN.match(value):
            raise ValueError(f"{value!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
        return value

    @model_validator(mode="after")
    def _checks(self) -> OptimizerSettings:
        problems: list[str] = []
        seen: dict[str, str] = {}
        for field in ("image_suffixes", "text_suffixes", "video_suffixes"):
            for i, suffix in enumerate(getattr(self, field)):
                if not _SUFFIX.match(suffix):
                    problems.append(f"{field}[{i}]: {suffix!r} must be a lowercase extension without the dot")
                elif suffix in seen:
                    problems.append(f"{field}[{i}]: {suffix!r} is already routed by {seen[suffix]}")
                else:
                    seen[suffix] = field
        if self.upload_expiry_days < self.dlq_retention_days:
            problems.append(
                f"upload_expiry_days: {self.upload_expiry_days} is below dlq_retention_days {self.dlq_retention_days}; "
                "an upload must outlive its failure record or it cannot be reprocessed"
            )
        raise_problems(problems)
        return self

    @property
    def lambda_suffixes(self) -> tuple[str, ...]:
        return self.image_suffixes + self.text_suffixes


OptimizerField = OptimizerSettings | None
"""The ``optimizer`` field type of the stack config (absent: nothing deployed)."""
