"""The one place that knows how to declare a private, hardened S3 bucket.

A private bucket here is: the bucket; ACLs disabled (``BucketOwnerEnforced``); all four public-access
blocks; versioning; default encryption (SSE-KMS with an S3 bucket key, or SSE-S3 where S3 itself must
write, i.e. server access-log buckets: log delivery cannot use SSE-KMS); optionally an object-lock default
retention (declared after versioning: S3 refuses object lock on an unversioned bucket); a lifecycle
configuration; and a bucket policy (the caller's document, which must deny non-TLS requests: the
``storage-tls-only`` policy rule checks it). Components state *what* bucket they need in a
:class:`PrivateBucketSpec`; :func:`declare_private_bucket` declares the resources (like aws-cdk's ``Bucket``).

Resource names are ``f"{name}-{suffix}"`` with the suffixes of :class:`ResourceNames`. They are the
resources' identity in Pulumi state: changing a suffix replaces the resource (for a protected bucket, an
error), so callers whose stacks already use other suffixes pass them explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pulumi

if TYPE_CHECKING:
    import pulumi_aws as aws

LockMode = Literal["COMPLIANCE", "GOVERNANCE"]
PolicyOf = Callable[[pulumi.Output[str]], pulumi.Input[str]]
"""Builds the bucket policy (JSON text) from the bucket's ARN."""


def deny_insecure_transport(service: Literal["s3", "sqs"], resources: list[str]) -> dict[str, Any]:
    """A Deny for every principal and every action of ``service`` over plain HTTP (AWS's documented TLS-only form)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": f"{service}:*",
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@dataclass(frozen=True)
class DefaultRetention:
    """Bucket-wide default object lock: every new object version is locked for ``days`` in ``mode``."""

    mode: LockMode
    days: int

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"default retention days must be at least 1, got {self.days}")


@dataclass(frozen=True)
class ResourceNames:
    """Name suffixes of the declared resources; ``bucket=""`` names the bucket by the prefix alone."""

    bucket: str = ""
    ownership: str = "ownership"
    public_access_block: str = "public-access-block"
    versioning: str = "versioning"
    encryption: str = "encryption"
    object_lock: str = "object-lock"
    lifecycle: str = "lifecycle"
    policy: str = "policy"

    def of(self, name: str, suffix: str) -> str:
        return f"{name}-{suffix}" if suffix else name


@dataclass(frozen=True)
class PrivateBucketSpec:
    """What a private bucket needs; ACLs off and all four public-access blocks are not optional.

    The three ``*_after_*``/``protect_versioning`` switches default to the stricter graph. They exist
    because stacks declared before this helper wired some buckets without them, and flipping them is a
    deliberate plan change (an extra ``dependsOn`` or ``protect``), not something a refactor may do silently.
    """

    kms_key_arn: pulumi.Input[str] | None
    """SSE-KMS with this customer key and an S3 bucket key; ``None`` = SSE-S3 (only for access-log buckets)."""
    policy: PolicyOf
    """The bucket policy from the bucket ARN; it must deny ``aws:SecureTransport = false``."""
    force_destroy: bool = False
    versioning: bool = True
    object_lock: bool = False
    """Create the bucket with object lock enabled (needed for any lock, also per-object locks)."""
    default_retention: DefaultRetention | None = None
    lifecycle_rules: Sequence[Any] = ()
    """``BucketLifecycleConfiguration`` rules (args or dict form); none = no lifecycle configuration."""
    names: ResourceNames = field(default_factory=ResourceNames)
    protect_versioning: bool = True
    """Give the versioning resource the data options (``protect`` in prod): suspending it loses history."""
    lifecycle_after_versioning: bool = True
    """The lifecycle configuration waits for versioning (its noncurrent-version rules act on versions)."""
    policy_after_public_access_block: bool = True
    """The policy waits for the public-access block (S3 can abort a policy put racing that update)."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.object_lock and not self.versioning:
            problems.append("object_lock needs versioning (S3 refuses object lock on an unversioned bucket)")
        if self.default_retention is not None and not self.object_lock:
            problems.append("default_retention needs object_lock")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class PrivateBucket:
    """The resources :func:`declare_private_bucket` declared (``None`` where the spec asked for none)."""

    name: str
    bucket: aws.s3.Bucket
    ownership_controls: aws.s3.BucketOwnershipControls
    public_access_block: aws.s3.BucketPublicAccessBlock
    versioning: aws.s3.BucketVersioning | None
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    object_lock: aws.s3.BucketObjectLockConfiguration | None
    lifecycle: aws.s3.BucketLifecycleConfiguration | None
    policy: aws.s3.BucketPolicy

    def require_versioning(self) -> aws.s3.BucketVersioning:
        """The versioning resource, for dependents (replication needs versioning at both ends)."""
        if self.versioning is None:
            raise ValueError(f"private bucket {self.name!r} was declared without versioning")
        return self.versioning


def _after(opts: pulumi.ResourceOptions, *resources: pulumi.Resource | None) -> pulumi.ResourceOptions:
    """``opts`` plus a wait on the given resources (the absent ones skipped)."""
    waits = [r for r in resources if r is not None]
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=waits)) if waits else opts


def declare_private_bucket(
    name: str,
    spec: PrivateBucketSpec,
    *,
    data_opts: pulumi.ResourceOptions,
    child_opts: pulumi.ResourceOptions,
) -> PrivateBucket:
    """Declare the bucket of ``spec`` and its configuration resources, named from ``name``.

    ``data_opts`` go to what holds or guards data (the bucket, versioning, the object lock): the caller's
    parent and provider plus ``protect`` in prod. ``child_opts`` (same parent and provider, no protect) go
    to the rest, which can be recreated without losing anything.
    """
    import pulumi_aws as aws

    names = spec.names
    bucket = aws.s3.Bucket(
        names.of(name, names.bucket),
        object_lock_enabled=True if spec.object_lock else None,
        force_destroy=spec.force_destroy,
        opts=data_opts,
    )
    ownership, public_access_block = _no_public_access(name, spec, bucket, child_opts)
    versioning = _versioning(name, spec, bucket, data_opts if spec.protect_versioning else child_opts)
    encryption = _encryption(name, spec, bucket, child_opts)
    object_lock = _object_lock(name, spec, bucket, _after(data_opts, versioning))
    lifecycle = _lifecycle(
        name, spec, bucket, _after(child_opts, versioning) if spec.lifecycle_after_versioning else child_opts
    )
    policy = aws.s3.BucketPolicy(
        names.of(name, names.policy),
        bucket=bucket.id,
        policy=spec.policy(bucket.arn),
        opts=_after(child_opts, public_access_block) if spec.policy_after_public_access_block else child_opts,
    )
    return PrivateBucket(
        name=name,
        bucket=bucket,
        ownership_controls=ownership,
        public_access_block=public_access_block,
        versioning=versioning,
        encryption=encryption,
        object_lock=object_lock,
        lifecycle=lifecycle,
        policy=policy,
    )


def _no_public_access(
    name: str, spec: PrivateBucketSpec, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions
) -> tuple[aws.s3.BucketOwnershipControls, aws.s3.BucketPublicAccessBlock]:
    """ACLs disabled (the owner owns every object) and all four public-access blocks: never optional."""
    import pulumi_aws as aws

    names = spec.names
    ownership = aws.s3.BucketOwnershipControls(
        names.of(name, names.ownership),
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    public_access_block = aws.s3.BucketPublicAccessBlock(
        names.of(name, names.public_access_block),
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    return ownership, public_access_block


def _versioning(
    name: str, spec: PrivateBucketSpec, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions
) -> aws.s3.BucketVersioning | None:
    """Versioning, unless the spec opts out (access logs): overwrites and deletes keep the old version."""
    import pulumi_aws as aws

    if not spec.versioning:
        return None
    return aws.s3.BucketVersioning(
        spec.names.of(name, spec.names.versioning),
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=opts,
    )


def _encryption(
    name: str, spec: PrivateBucketSpec, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions
) -> aws.s3.BucketServerSideEncryptionConfiguration:
    """SSE-KMS with the spec's key and a bucket key, or SSE-S3 where S3 itself must write (log delivery)."""
    import pulumi_aws as aws

    if spec.kms_key_arn is None:
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="AES256"
        )
        rule = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(apply_server_side_encryption_by_default=default)
    else:
        # The bucket key: S3 derives object keys from one bucket-level data key, so KMS is called about once
        # per bucket and hour instead of once per object.
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms", kms_master_key_id=spec.kms_key_arn
        )
        rule = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=default, bucket_key_enabled=True
        )
    return aws.s3.BucketServerSideEncryptionConfiguration(
        spec.names.of(name, spec.names.encryption), bucket=bucket.id, rules=[rule], opts=opts
    )


def _object_lock(
    name: str, spec: PrivateBucketSpec, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions
) -> aws.s3.BucketObjectLockConfiguration | None:
    """The bucket-wide default retention, if any; ``opts`` wait for versioning (S3 requires it first)."""
    import pulumi_aws as aws

    retention = spec.default_retention
    if retention is None:
        return None
    return aws.s3.BucketObjectLockConfiguration(
        spec.names.of(name, spec.names.object_lock),
        bucket=bucket.id,
        object_lock_enabled="Enabled",
        rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
            default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                mode=retention.mode, days=retention.days
            )
        ),
        opts=opts,
    )


def _lifecycle(
    name: str, spec: PrivateBucketSpec, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions
) -> aws.s3.BucketLifecycleConfiguration | None:
    """The spec's lifecycle rules; no configuration at all when there are none."""
    import pulumi_aws as aws

    if not spec.lifecycle_rules:
        return None
    return aws.s3.BucketLifecycleConfiguration(
        spec.names.of(name, spec.names.lifecycle),
        bucket=bucket.id,
        rules=list(spec.lifecycle_rules),
        opts=opts,
    )
