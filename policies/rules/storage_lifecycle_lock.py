"""Every bucket has a lifecycle, and an object lock never outlives it: a default retention longer than a
prefix's expiry keeps objects (and their cost) past the retention the data class promises, and a
lifecycle-less bucket grows forever. Azure: a ManagementPolicy per account, immutability period <=
the container's delete age. GCS: a Delete rule no earlier than the retention period."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._storage import LIFECYCLE, LOCK, attached, buckets
from ._support import Report, dig, num, stack_rule

DAY = 86_400


def check(args: StackValidationArgs, report: Report) -> None:
    resources = args.resources
    for bucket in buckets(resources):
        lifecycles = attached(resources, bucket, LIFECYCLE)
        if not lifecycles:
            report("S3 bucket has no lifecycle configuration", bucket.urn)
            continue
        expiries = [
            dig(rule, "expiration", "days")
            for lc in lifecycles
            for rule in lc.props.get("rules") or []
            if rule.get("status") == "Enabled" and dig(rule, "expiration", "days")
        ]
        for lock in attached(resources, bucket, LOCK):
            days = dig(lock.props, "rule", "defaultRetention", "days")
            years = dig(lock.props, "rule", "defaultRetention", "years")
            lock_days = (days or 0) + (years or 0) * 365
            shortest = min(expiries, default=None)
            if lock_days and shortest is not None and lock_days > shortest:
                report(
                    f"default object-lock retention {num(lock_days)} d exceeds the shortest lifecycle expiry "
                    f"{num(shortest)} d",
                    lock.urn,
                )
    for account in (r for r in resources if r.resource_type == "azure-native:storage:StorageAccount"):
        name = account.props.get("accountName")
        if not any(
            r.resource_type == "azure-native:storage:ManagementPolicy" and r.props.get("accountName") == name
            for r in resources
        ):
            report("storage account has no lifecycle ManagementPolicy", account.urn)
    for gcs in (r for r in resources if r.resource_type == "gcp:storage/bucket:Bucket"):
        ages = [
            dig(rule, "condition", "age")
            for rule in gcs.props.get("lifecycleRules") or []
            if dig(rule, "action", "type") == "Delete" and dig(rule, "condition", "age")
        ]
        if not ages:
            report("GCS bucket has no Delete lifecycle rule", gcs.urn)
            continue
        retention = dig(gcs.props, "retentionPolicy", "retentionPeriod")
        if retention and float(retention) > min(ages) * DAY:
            report(
                f"GCS retention {float(retention) / DAY:g} d exceeds the lifecycle delete age {num(min(ages))} d",
                gcs.urn,
            )


POLICY = stack_rule(
    "storage-lifecycle-consistent-with-lock",
    "Buckets have a lifecycle, and object locks/retention never exceed the lifecycle expiry.",
    check,
    severity=Severity.MEDIUM,
    remediation="Add a lifecycle configuration; keep lock/retention days <= the expiry of every prefix.",
)
