"""No vault lifecycle expires an object a kept backup still references: for every backup CronJob, each
lifecycle rule that can reach its class's objects (S3 rules attached to the buckets it writes to, the Azure
ManagementPolicy of its storage account and container, the Delete rules of its GCS buckets) expires them no
sooner than retention + full-backup interval. Retention is the class's prune CronJob ``--keep-days`` (else
the pack's ``retentionDays``); the interval is ``--max-chain-days`` of an ``incremental`` job (the backup
function's default when absent) and 0 for a job whose every run is a full ``backup``.

Why the sum: an incremental taken just before its retention ends still points at chunks its chain's full
backup wrote up to ``--max-chain-days`` earlier; a lifecycle shorter than that deletes them and the restore
fails, months after the plan that caused it.

The CronJob and the vaults are linked through the job's property dependencies (known in a preview, unlike
bucket names); the target URIs, when known, narrow S3 and Azure rules to the job's key prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from ._storage import LIFECYCLE, attached
from ._support import Report, containers, depends_on, dig, is_kind, num, pod_spec, stack_rule

DEFAULT_MAX_CHAIN_DAYS = 7
"""The backup function's ``incremental --max-chain-days`` default (functions/backup/defaults.py; a test
compares them)."""
DEFAULT_RETENTION_DAYS = {"db": 30, "chain": 90, "state": 7}
"""The backup function's class retention (``prune`` without ``--keep-days``)."""
S3_BUCKET = "aws:s3/bucket:Bucket"
AZURE_ACCOUNT = "azure-native:storage:StorageAccount"
AZURE_CONTAINER = "azure-native:storage:BlobContainer"
AZURE_POLICY = "azure-native:storage:ManagementPolicy"
GCS_BUCKET = "gcp:storage/bucket:Bucket"


def _args(resource: PolicyResource) -> list[str]:
    spec = pod_spec(resource.resource_type, resource.props)
    for container in containers(spec, include_init=False):
        command = [str(c) for c in container.get("command") or []]
        if command[-2:] == ["-m", "functions.backup"] or "functions.backup" in command:
            return [str(a) for a in container.get("args") or []]
    return []


def _flag(args: Sequence[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def _prefixes(args: Sequence[str], scheme: str, backup_class: str) -> list[str]:
    """Key prefixes (``[prefix/]<class>/``) the job writes under targets of ``scheme`` (``s3://bucket/prefix``
    -> within the bucket; ``azblob://container/prefix`` -> ``container/...``, as Azure prefix matches read)."""
    found = []
    for target in _flag(args, "--target"):
        if not target.startswith(scheme):
            continue
        head, _, rest = target[len(scheme) :].partition("/")
        rest = f"{rest.strip('/')}/" if rest.strip("/") else ""
        found.append(f"{head}/{rest}{backup_class}/" if scheme == "azblob://" else f"{rest}{backup_class}/")
    return found


def _overlaps(rule_prefix: str, key_prefixes: Sequence[str]) -> bool:
    """A rule with ``rule_prefix`` can expire some object under one of ``key_prefixes`` (none known: assume so)."""
    if not key_prefixes:
        return True
    return any(k.startswith(rule_prefix) or rule_prefix.startswith(k) for k in key_prefixes)


def _depends(resource: PolicyResource, resources: Sequence[PolicyResource], kind: str) -> list[PolicyResource]:
    urns = {dep.urn for deps in (resource.property_dependencies or {}).values() for dep in (deps or [])}
    return [r for r in resources if r.resource_type == kind and r.urn in urns]


def _s3_expiries(job: PolicyResource, resources: Sequence[PolicyResource], args: list[str], cls: str) -> list[Any]:
    prefixes = _prefixes(args, "s3://", cls)
    found = []
    for bucket in _depends(job, resources, S3_BUCKET):
        for lifecycle in attached(resources, bucket, LIFECYCLE):
            for rule in lifecycle.props.get("rules") or []:
                days = dig(rule, "expiration", "days")
                prefix = dig(rule, "filter", "prefix", default="") or ""
                if rule.get("status") == "Enabled" and days and _overlaps(str(prefix), prefixes):
                    found.append((float(days), lifecycle, f"rule {rule.get('id')!r}"))
    return found


def _azure_expiries(job: PolicyResource, resources: Sequence[PolicyResource], args: list[str], cls: str) -> list[Any]:
    prefixes = _prefixes(args, "azblob://", cls)
    if not prefixes:
        prefixes = [f"{c.props.get('containerName')}/" for c in _depends(job, resources, AZURE_CONTAINER)]
    accounts = _depends(job, resources, AZURE_ACCOUNT)
    names = {a.props.get("accountName") for a in accounts} - {None}
    found = []
    for policy in (r for r in resources if r.resource_type == AZURE_POLICY):
        owned = policy.props.get("accountName") in names or any(depends_on(policy, "accountName", a) for a in accounts)
        if not owned:
            continue
        for rule in dig(policy.props, "policy", "rules", default=[]) or []:
            if rule.get("enabled") is False:
                continue
            base = dig(rule, "definition", "actions", "baseBlob", "delete", default={}) or {}
            days = [base.get(k) for k in ("daysAfterModificationGreaterThan", "daysAfterCreationGreaterThan")]
            days = [d for d in days if d]
            matches = dig(rule, "definition", "filters", "prefixMatch", default=[]) or [""]
            if days and any(_overlaps(str(m), prefixes) for m in matches):
                found.append((float(min(days)), policy, f"rule {rule.get('name')!r}"))
    return found


def _gcs_expiries(job: PolicyResource, resources: Sequence[PolicyResource], cls: str) -> list[Any]:
    found = []
    for bucket in _depends(job, resources, GCS_BUCKET):
        for rule in bucket.props.get("lifecycleRules") or []:
            age = dig(rule, "condition", "age")
            prefixes = dig(rule, "condition", "matchesPrefixes", default=[]) or []
            if dig(rule, "action", "type") == "Delete" and age and (not prefixes or _overlaps(f"{cls}/", prefixes)):
                found.append((float(age), bucket, "Delete rule"))
    return found


def _retention(resources: Sequence[PolicyResource], cls: str, defaults: Mapping[str, Any]) -> float:
    """The class's prune ``--keep-days`` (the longest, if several prune jobs), else the configured default."""
    kept = []
    for resource in resources:
        args = _args(resource) if is_kind(resource.resource_type, "CronJob") else []
        if args[:1] == ["prune"] and cls in _flag(args, "--class"):
            kept += [float(d) for d in _flag(args, "--keep-days") if d.replace(".", "", 1).isdigit()]
    return max(kept) if kept else float(defaults.get(cls, DEFAULT_RETENTION_DAYS.get(cls, 0)))


def _interval(args: Sequence[str]) -> float | None:
    """Days a backup of this job may reference objects older than itself; None for a job that writes no backup."""
    if args[:1] == ["backup"]:
        return 0.0
    if args[:1] != ["incremental"]:
        return None
    given = _flag(args, "--max-chain-days")
    days = float(given[-1]) if given and given[-1].isdigit() else float(DEFAULT_MAX_CHAIN_DAYS)
    return days if days > 0 else float("inf")


def check(args: StackValidationArgs, report: Report) -> None:
    resources = args.resources
    defaults = args.get_config().get("retentionDays") or {}
    for job in resources:
        if not is_kind(job.resource_type, "CronJob"):
            continue
        argv = _args(job)
        interval = _interval(argv)
        classes = _flag(argv, "--class")
        if interval is None or not classes:
            continue
        cls = classes[-1]
        retention = _retention(resources, cls, defaults)
        needed = retention + interval
        expiries = [
            *_s3_expiries(job, resources, argv, cls),
            *_azure_expiries(job, resources, argv, cls),
            *_gcs_expiries(job, resources, cls),
        ]
        name = dig(job.props, "metadata", "name", default=job.name)
        chain = "a chain never rebased" if interval == float("inf") else f"a full backup every {num(interval)} d"
        for days, holder, what in expiries:
            if days < needed:
                report(
                    f"lifecycle {what} expires {cls} objects after {num(days)} d, but CronJob {name!r} keeps backups "
                    f"{num(retention)} d with {chain} (needs >= {num(needed)} d): a kept backup would reference "
                    "deleted chunks",
                    holder.urn,
                )


POLICY = stack_rule(
    "storage-lifecycle-covers-chain",
    "Vault lifecycles keep every object a kept backup references: expiry >= retention + full-backup interval.",
    check,
    severity=Severity.HIGH,
    remediation="Raise backup.classes.<class>.full_interval_days into the lifecycle (expiry_days = retention + "
    "interval), or shorten the chain (incremental --max-chain-days).",
    config={
        "retentionDays": {
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0},
            "default": DEFAULT_RETENTION_DAYS,
        }
    },
)
