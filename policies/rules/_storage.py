"""S3 helpers: the v2 bucket resources hang their settings on separate resources, linked to the bucket
through the ``bucket`` input's property dependency (known in preview, unlike the bucket's name)."""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_policy import PolicyResource

from ._support import depends_on

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


def buckets(resources: Sequence[PolicyResource]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == BUCKET]


def attached(resources: Sequence[PolicyResource], bucket: PolicyResource, resource_type: str) -> list[PolicyResource]:
    """Resources of ``resource_type`` whose ``bucket`` input comes from ``bucket``."""
    return [r for r in resources if r.resource_type == resource_type and depends_on(r, "bucket", bucket)]


def is_log_bucket(resources: Sequence[PolicyResource], bucket: PolicyResource) -> bool:
    """Target of S3 server access logging (S3 delivers logs only with SSE-S3 and without object lock)."""
    return any(r.resource_type == LOGGING and depends_on(r, "targetBucket", bucket) for r in resources)
