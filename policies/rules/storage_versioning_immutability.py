"""Data buckets keep versions or are immutable: S3 versioning Enabled (object lock requires it), Azure blob
versioning plus container immutability, GCS a retention policy (which excludes object versioning). A
deleted or overwritten backup must stay recoverable."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._storage import VERSIONING, attached, buckets, is_log_bucket
from ._support import Report, dig, stack_rule


def check(args: StackValidationArgs, report: Report) -> None:
    resources = args.resources
    for bucket in buckets(resources):
        if is_log_bucket(resources, bucket) and not bucket.props.get("objectLockEnabled"):
            continue
        states = [dig(v.props, "versioningConfiguration", "status") for v in attached(resources, bucket, VERSIONING)]
        if "Enabled" not in states:
            report(f"S3 bucket versioning is {states or 'not configured'}; it must be Enabled", bucket.urn)
    services = [r for r in resources if r.resource_type == "azure-native:storage:BlobServiceProperties"]
    for account in (r for r in resources if r.resource_type == "azure-native:storage:StorageAccount"):
        if not any(
            s.props.get("isVersioningEnabled") is True and dig(s.props, "deleteRetentionPolicy", "enabled")
            for s in services
            if s.props.get("accountName") == account.props.get("accountName")
        ):
            report("storage account has no blob versioning with soft delete (BlobServiceProperties)", account.urn)
    for container in (r for r in resources if r.resource_type == "azure-native:storage:BlobContainer"):
        name = container.props.get("containerName")
        has_policy = any(
            r.resource_type == "azure-native:storage:BlobContainerImmutabilityPolicy"
            and r.props.get("containerName") == name
            for r in resources
        )
        if not (dig(container.props, "immutableStorageWithVersioning", "enabled") or has_policy):
            report(f"blob container {name!r} has no immutability policy", container.urn)
    for gcs in (r for r in resources if r.resource_type == "gcp:storage/bucket:Bucket"):
        retention = dig(gcs.props, "retentionPolicy", "retentionPeriod")
        if not retention or int(float(retention)) <= 0:
            report("GCS bucket has no retention policy", gcs.urn)
        if dig(gcs.props, "versioning", "enabled") is True and retention:
            report("GCS bucket combines object versioning with a retention policy (not allowed)", gcs.urn)


POLICY = stack_rule(
    "storage-versioning-immutability",
    "Buckets are versioned or immutable (S3 versioning, Azure versioning + immutability, GCS retention).",
    check,
    severity=Severity.HIGH,
    remediation="Enable S3 BucketVersioning; Azure isVersioningEnabled + an immutability policy per container; "
    "a GCS retentionPolicy.",
)
