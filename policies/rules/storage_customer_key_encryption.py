"""Storage is encrypted with a customer-managed key: S3 SSE-KMS with a key id (bucket key on), GCS with
a default CMEK, Azure with infrastructure (double) encryption. A customer key makes access auditable and
revocable; S3 access-log buckets are exempt, since S3 delivers logs only to SSE-S3 buckets."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._storage import SSE, attached, buckets, is_log_bucket
from ._support import Report, dig, stack_rule


def check(args: StackValidationArgs, report: Report) -> None:
    resources = args.resources
    for bucket in buckets(resources):
        configs = attached(resources, bucket, SSE)
        rules = [rule for c in configs for rule in c.props.get("rules") or []]
        algorithms = {dig(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in rules}
        if not rules:
            report("S3 bucket has no server-side encryption configuration", bucket.urn)
        elif is_log_bucket(resources, bucket):
            if not algorithms <= {"AES256", "aws:kms", "aws:kms:dsse"}:
                report(f"log bucket encryption {sorted(map(str, algorithms))} is not AES256/aws:kms", bucket.urn)
        elif not any(
            dig(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") in ("aws:kms", "aws:kms:dsse")
            and dig(rule, "applyServerSideEncryptionByDefault", "kmsMasterKeyId")
            for rule in rules
        ):
            report(
                f"S3 bucket is encrypted with {sorted(map(str, algorithms))}, not a customer-managed KMS key",
                bucket.urn,
            )
    for r in resources:
        if r.resource_type == "gcp:storage/bucket:Bucket" and not dig(r.props, "encryption", "defaultKmsKeyName"):
            report("GCS bucket has no default customer-managed encryption key (encryption.defaultKmsKeyName)", r.urn)
        azure_account = r.resource_type == "azure-native:storage:StorageAccount"
        if azure_account and dig(r.props, "encryption", "requireInfrastructureEncryption") is not True:
            report("storage account lacks infrastructure (double) encryption", r.urn)


POLICY = stack_rule(
    "storage-customer-key-encryption",
    "Buckets and storage accounts are encrypted with customer-managed keys (S3 SSE-KMS, GCS CMEK, Azure double encryption).",
    check,
    severity=Severity.HIGH,
    remediation="Add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and a KMS key; set GCS "
    "encryption.defaultKmsKeyName; set Azure encryption.requireInfrastructureEncryption.",
)
