"""Public access is blocked on every bucket on all three clouds: S3 PublicAccessBlock with all four flags,
Azure accounts without public blob access and containers with publicAccess None, GCS public access
prevention enforced with uniform bucket-level access."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._storage import PUBLIC_ACCESS_BLOCK, attached, buckets
from ._support import Report, stack_rule

FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def check(args: StackValidationArgs, report: Report) -> None:
    resources = args.resources
    for bucket in buckets(resources):
        blocks = attached(resources, bucket, PUBLIC_ACCESS_BLOCK)
        if not blocks:
            report("S3 bucket has no public access block", bucket.urn)
        for block in blocks:
            off = [f for f in FLAGS if block.props.get(f) is not True]
            if off:
                report(f"public access block leaves {off} off", block.urn)
    for r in resources:
        if (
            r.resource_type == "azure-native:storage:StorageAccount"
            and r.props.get("allowBlobPublicAccess") is not False
        ):
            report("storage account allows public blob access (allowBlobPublicAccess must be false)", r.urn)
        if r.resource_type == "azure-native:storage:BlobContainer" and r.props.get("publicAccess", "None") != "None":
            report(f"blob container public access is {r.props.get('publicAccess')!r}", r.urn)
        if r.resource_type == "gcp:storage/bucket:Bucket":
            if r.props.get("publicAccessPrevention") != "enforced":
                report("GCS bucket publicAccessPrevention is not 'enforced'", r.urn)
            if r.props.get("uniformBucketLevelAccess") is not True:
                report("GCS bucket lacks uniform bucket-level access", r.urn)


POLICY = stack_rule(
    "storage-public-access-blocked",
    "No bucket or container can be made public (S3, Azure Blob, GCS).",
    check,
    severity=Severity.CRITICAL,
    remediation="Declare BucketPublicAccessBlock with all four flags; allowBlobPublicAccess false; GCS "
    "publicAccessPrevention enforced + uniformBucketLevelAccess.",
)
