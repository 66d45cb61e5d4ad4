"""The database tier keeps its data encrypted, accepts TCP only over TLS, and keeps backups for the recovery
window.

PostgreSQL pods are the StatefulSets exposing container port 5432. For each:
- storage: every volumeClaimTemplate names a StorageClass of the plan with ``encrypted: "true"`` and a
  ``kmsKeyId`` (EBS CSI parameters), so volumes and their snapshots are encrypted with our key;
- TLS: the ConfigMaps it mounts hold a ``postgresql.conf`` with ``ssl = on`` and a ``pg_hba.conf`` whose TCP
  lines are all ``hostssl`` (``hostnossl`` only to ``reject``; a ``host`` line admits plain TCP too); a
  ``pgbouncer.ini`` in the plan requires TLS from clients and to the server;
- retention: backups of the database (S3 lifecycle rules on ``db/`` and ``wal/``, Azure management-policy rules
  on ``backup-db/`` and ``backup-wal/``, GCS buckets whose name holds ``db``/``wal``, and RDS instances that are
  not replicas) are kept at least ``recoveryWindowDays`` (pack config): point-in-time recovery needs the base
  backup and every WAL segment since, for the whole window the RPO is promised over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from ._support import Report, dig, is_kind, is_mapping, stack_rule

POSTGRES_PORT = 5432
S3_PREFIXES = ("db/", "wal/")
AZURE_PREFIXES = ("backup-db/", "backup-wal/")
_GCS_NAME = re.compile(r"(^|[-_])(db|wal)([-_]|$)")
TLS_CLIENT_MODES = ("require", "verify-ca", "verify-full")


def _postgres_sets(resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    found = []
    for r in resources:
        if not is_kind(r.resource_type, "StatefulSet"):
            continue
        containers = dig(r.props, "spec", "template", "spec", "containers", default=[]) or []
        ports = [p.get("containerPort") for c in containers for p in (c.get("ports") or []) if is_mapping(p)]
        if POSTGRES_PORT in ports:
            found.append(r)
    return found


def _by_name(resources: Iterable[PolicyResource], kind: str) -> dict[str, PolicyResource]:
    return {str(dig(r.props, "metadata", "name")): r for r in resources if is_kind(r.resource_type, kind)}


def _check_storage(sts: PolicyResource, classes: Mapping[str, PolicyResource], report: Report) -> None:
    name = dig(sts.props, "metadata", "name")
    for claim in dig(sts.props, "spec", "volumeClaimTemplates", default=[]) or []:
        class_name = dig(claim, "spec", "storageClassName")
        storage = classes.get(str(class_name))
        if storage is None:
            report(
                f"StatefulSet {name!r} claims storage class {class_name!r}, which the plan does not declare encrypted",
                sts.urn,
            )
            continue
        params = dig(storage.props, "parameters", default={}) or {}
        if str(params.get("encrypted", "")).lower() != "true" or not params.get("kmsKeyId"):
            report(
                f'StorageClass {class_name!r} of database {name!r} lacks encrypted: "true" with a kmsKeyId', storage.urn
            )


def _conf_value(text: str, key: str) -> str | None:
    value = None
    for line in text.splitlines():
        match = re.match(rf"^\s*{re.escape(key)}\s*=\s*'?([^'#\s]*)'?", line)
        if match:
            value = match.group(1)
    return value


def hba_plaintext_lines(text: str) -> list[str]:
    """pg_hba lines that let a TCP client in without TLS."""
    bad = []
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split()
        if not fields or fields[0] in ("local", "hostssl", "hostgssenc", "include", "include_if_exists"):
            continue
        if fields[0] == "hostnossl" and fields[-1] == "reject":
            continue
        bad.append(raw.strip())
    return bad


def _mounted_configmaps(sts: PolicyResource, maps: Mapping[str, PolicyResource]) -> Iterator[PolicyResource]:
    for volume in dig(sts.props, "spec", "template", "spec", "volumes", default=[]) or []:
        name = dig(volume, "configMap", "name")
        if name is not None and str(name) in maps:
            yield maps[str(name)]


def _check_tls(sts: PolicyResource, maps: Mapping[str, PolicyResource], report: Report) -> None:
    name = dig(sts.props, "metadata", "name")
    seen_conf = seen_hba = False
    for cm in _mounted_configmaps(sts, maps):
        data = dig(cm.props, "data", default={}) or {}
        if "postgresql.conf" in data:
            seen_conf = True
            if (_conf_value(str(data["postgresql.conf"]), "ssl") or "").lower() not in ("on", "true", "1"):
                report(f"database {name!r}: postgresql.conf does not set ssl = on", cm.urn)
        if "pg_hba.conf" in data:
            seen_hba = True
            for line in hba_plaintext_lines(str(data["pg_hba.conf"])):
                report(f"database {name!r}: pg_hba.conf admits TCP without TLS: {line!r} (use hostssl)", cm.urn)
    if not (seen_conf and seen_hba):
        report(
            f"database {name!r} mounts no ConfigMap with both postgresql.conf and pg_hba.conf, so TLS cannot be "
            "shown to be forced",
            sts.urn,
        )


def _check_pooler(maps: Mapping[str, PolicyResource], report: Report) -> None:
    for cm in maps.values():
        ini = dig(cm.props, "data", "pgbouncer.ini")
        if ini is None:
            continue
        for key in ("client_tls_sslmode", "server_tls_sslmode"):
            mode = _conf_value(str(ini), key)
            if mode not in TLS_CLIENT_MODES:
                report(f"pgbouncer.ini {key} = {mode!r}; expected one of {', '.join(TLS_CLIENT_MODES)}", cm.urn)


def _retention_days(r: PolicyResource) -> Iterator[tuple[str, float]]:
    """(what, days) for every rule of ``r`` that deletes database backups."""
    props, kind = r.props, r.resource_type
    if kind.startswith("aws:s3/bucketLifecycleConfiguration"):
        for rule in dig(props, "rules", default=[]) or []:
            prefix = str(dig(rule, "filter", "prefix", default=dig(rule, "prefix", default="")) or "")
            days = dig(rule, "expiration", "days")
            covers = prefix == "" or prefix.startswith(S3_PREFIXES)
            if dig(rule, "status") == "Enabled" and days is not None and covers:
                yield f"S3 lifecycle rule {dig(rule, 'id')!r} (prefix {prefix!r})", float(days)
    elif kind.startswith("azure-native:storage:ManagementPolicy"):
        for rule in dig(props, "policy", "rules", default=[]) or []:
            prefixes = dig(rule, "definition", "filters", "prefixMatch", default=[]) or []
            days = dig(rule, "definition", "actions", "baseBlob", "delete", "daysAfterModificationGreaterThan")
            if days is not None and (not prefixes or any(str(p).startswith(AZURE_PREFIXES) for p in prefixes)):
                yield f"Azure lifecycle rule {dig(rule, 'name')!r}", float(days)
    elif kind.startswith("gcp:storage/bucket:Bucket") and _GCS_NAME.search(r.name):
        for rule in dig(props, "lifecycleRules", default=[]) or []:
            age = dig(rule, "condition", "age")
            if dig(rule, "action", "type") == "Delete" and age is not None:
                yield f"GCS bucket {r.name!r} delete rule", float(age)
    elif kind.startswith("aws:rds/instance:Instance") and not dig(props, "replicateSourceDb"):
        yield f"RDS instance {r.name!r} backupRetentionPeriod", float(dig(props, "backupRetentionPeriod", default=0))


def check(args: StackValidationArgs, report: Report) -> None:
    resources = list(args.resources)
    databases = _postgres_sets(resources)
    classes = _by_name(resources, "StorageClass")
    maps = _by_name(resources, "ConfigMap")
    for sts in databases:
        _check_storage(sts, classes, report)
        _check_tls(sts, maps, report)
    _check_pooler(maps, report)
    rds = any(r.resource_type.startswith("aws:rds/instance:Instance") for r in resources)
    if not databases and not rds:
        return
    window = float(args.get_config().get("recoveryWindowDays", 30))
    for r in resources:
        for what, days in _retention_days(r):
            if days < window:
                report(f"{what} keeps database backups {days:g} days, under the {window:g}-day recovery window", r.urn)


POLICY = stack_rule(
    "database-storage-tls-retention",
    "Database volumes are encrypted with a customer key, PostgreSQL and PgBouncer accept TCP only over TLS, and "
    "database backups are kept for the recovery window.",
    check,
    severity=Severity.HIGH,
    remediation="Use the database package's encrypted StorageClass, keep ssl = on and hostssl-only pg_hba lines, "
    "and set backup retention (lifecycle days, RDS backup_retention_period) to at least recoveryWindowDays.",
    config={
        "recoveryWindowDays": {
            "type": "number",
            "minimum": 1,
            "default": 30,
            "description": "Days a database must be recoverable for (base backups and WAL kept at least this long).",
        }
    },
)
