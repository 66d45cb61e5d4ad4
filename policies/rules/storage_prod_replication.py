"""In prod, every object-locked (backup) bucket replicates to another region, and the replication waits
for versioning on both sides: losing the region must not lose the backups."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._storage import REPLICATION, VERSIONING, attached, buckets
from ._support import ENVIRONMENT_SCHEMA, Report, stack_rule


def check(args: StackValidationArgs, report: Report) -> None:
    if args.get_config().get("environment", "prod") != "prod":
        return
    resources = args.resources
    replications = [r for r in resources if r.resource_type == REPLICATION]
    for bucket in buckets(resources):
        if not bucket.props.get("objectLockEnabled"):
            continue
        mine = attached(resources, bucket, REPLICATION)
        is_replica = any(
            bucket.urn in {d.urn for deps in r.property_dependencies.values() for d in deps}
            for r in replications
            if r not in mine
        )
        if is_replica:
            continue
        if not mine:
            report("prod backup bucket has no cross-region replication", bucket.urn)
            continue
        for replication in mine:
            waits_for = {d.urn for d in replication.dependencies}
            versionings = {v.urn for v in attached(resources, bucket, VERSIONING)}
            if not versionings & waits_for:
                report("replication does not depend on the source bucket's versioning", replication.urn)


POLICY = stack_rule(
    "storage-prod-backup-replication",
    "Prod backup buckets replicate cross-region, after versioning is on.",
    check,
    severity=Severity.HIGH,
    remediation="Enable dr in the prod stack (BucketReplicationConfig with depends_on both versionings).",
    config={"environment": ENVIRONMENT_SCHEMA},
)
