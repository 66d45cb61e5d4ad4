"""The warm standby of the self-managed database in the DR region, as pure builders.

The standby is the database package's own PostgreSQL pod (StatefulSet, postgresql.conf, TLS, encrypted
StorageClass, Secret, exporter), declared a second time in the DR cluster with no replicas and no pooler, and
three differences:

- **Bootstrap.** Its entrypoint restores the newest base backup (``functions.backup restore --kind base``)
  into an empty data directory and marks it ``standby.signal``; every later start runs the image's entrypoint
  on the existing directory (a promoted standby has no signal file and stays the writer).
- **Replay.** The archive fragment (the one the primary includes for ``archive_command``) also carries
  ``restore_command`` = ``wal-fetch`` from the copies that survive a primary-region loss, Azure Blob and GCS
  (``rpo.STANDBY_SOURCES``), unwrapping data keys with the Azure Key Vault / Cloud KMS keys (the AWS key lives
  in the lost region), and ``recovery_target_timeline = 'latest'``. ``hot_standby`` is on in postgresql.conf.
- **After promotion** the same fragment's ``archive_mode``/``archive_command`` take effect (a standby does not
  archive with ``archive_mode = on``), so the new writer ships its WAL to Azure Blob and GCS.

The pod's cloud identity is the backup jobs' one, federated a second time for the DR cluster's issuer.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pulumi

from components.backup_jobs.manifests import (
    AZURE_ANNOTATION,
    AZURE_TENANT_ANNOTATION,
    JobsContext,
    Vaults,
    archive_command,
    archive_conf,
    wal_push_argv,
)
from components.backup_jobs.manifests import (
    key_args as backup_key_args,
)
from components.database import conf
from components.database.config import DatabaseArgs
from components.database.manifests import config_files, statefulset_manifest

STANDBY_ENTRYPOINT = "standby-entrypoint.sh"
STANDBY_SOURCE_CLOUDS = ("azure", "gcs")
"""Vault keys of ``BackupStorage.target_uris()`` the standby reads (the copies a region loss leaves)."""
_DROP_ENV_PREFIXES = ("AWS_",)


def standby_database_args(primary: DatabaseArgs, namespace: str, cluster_domain: str) -> DatabaseArgs:
    """The primary's database args for the DR cluster, with no pooler (the standby serves the controller and,
    once promoted, writers that reach it through ``dr.database.standby_endpoint``). Only the primary-role pod is
    declared there, but ``replicas`` stays the primary's: the server parameters derived from it
    (``max_wal_senders``, ``max_replication_slots``) must not be lower on a hot standby than on its primary,
    or recovery stops ("insufficient parameter settings"); postgresql.conf is the primary's, byte for byte."""
    settings = primary.settings.model_copy(
        update={"pooler": primary.settings.pooler.model_copy(update={"enabled": False})}
    )
    return primary.model_copy(
        update={"settings": settings, "namespace": namespace, "cluster_domain": cluster_domain, "zones": ()}
    )


def standby_vaults(primary: Vaults, targets: Sequence[pulumi.Input[str]], gcp_token_audience: str | None) -> Vaults:
    """The backup jobs' vault wiring narrowed to what survives the primary region: the Azure and GCS targets,
    the Azure/GCP wrapping keys (not the AWS KMS key of the lost region), the Azure identity's annotations, and
    the GCP federation's token audience of the DR cluster's pool provider."""
    annotations = {
        k: v for k, v in primary.identity_annotations.items() if k in (AZURE_ANNOTATION, AZURE_TENANT_ANNOTATION)
    }
    env = {k: v for k, v in primary.env.items() if not k.startswith(_DROP_ENV_PREFIXES)}
    return Vaults(
        targets={"db": list(targets)},
        kms_key_id=None,
        azure_key_id=primary.azure_key_id,
        gcp_kms_key=primary.gcp_kms_key,
        has_s3=False,
        identity_annotations=annotations,
        env=env,
        gcp_token_audience=gcp_token_audience,
    )


def standby_context(primary: JobsContext, vaults: Vaults, namespace: str) -> JobsContext:
    return replace(primary, vaults=vaults, namespace=namespace)


def key_args(ctx: JobsContext) -> list[pulumi.Input[str]]:
    """The wrapping keys that survive a primary-region loss (any one of them opens a data key): the standby's
    vaults carry no AWS key (``standby_vaults``), so the backup jobs' list is already narrowed."""
    return backup_key_args(
        ctx,
        missing=(
            "dr.database.kind postgres_standby: no wrapping key outside AWS (backup_jobs.key.azure_key_id, a GCP key "
            "from backup.gcs, or backup_jobs.key.key_file_secret); the standby could not open the archive after a "
            "region loss"
        ),
    )


def _targets(ctx: JobsContext) -> list[pulumi.Input[str]]:
    return [a for uri in ctx.vaults.targets["db"] for a in ("--target", uri)]


def wal_fetch_argv(ctx: JobsContext) -> list[pulumi.Input[str]]:
    """``restore_command``'s arguments after the interpreter (``%f``/``%p`` are PostgreSQL's placeholders)."""
    return ["wal-fetch", "%f", "%p", *_targets(ctx), *key_args(ctx), "--log-format", "json"]


def base_restore_argv(ctx: JobsContext, to: str) -> list[pulumi.Input[str]]:
    """The bootstrap: the newest base backup (pg_basebackup) of the db class into ``to``."""
    return [
        "restore",
        "--class",
        "db",
        "--kind",
        "base",
        "--to",
        to,
        *_targets(ctx),
        *key_args(ctx),
        "--log-format",
        "json",
    ]


def _conf_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def standby_fragment(ctx: JobsContext) -> str:
    """The fragment postgresql.conf includes on the standby (plain strings: ``ctx`` resolved)."""
    interpreter = ctx.settings.wal_archive.interpreter
    restore = archive_command(interpreter, [str(a) for a in wal_fetch_argv(ctx)])
    archive = archive_conf(ctx, [str(a) for a in wal_push_argv(ctx)])
    return (
        "# Managed by Pulumi (platform:disaster_recovery). Warm standby of the database in the DR region.\n"
        "# While standby.signal exists: replay the WAL archive from the copies that survive the primary region.\n"
        f"restore_command = {_conf_string(restore)}\n"
        "recovery_target_timeline = 'latest'\n"
        "# After promotion (archive_mode = on archives nothing on a standby): ship WAL as the primary did.\n"
        + archive.split("\n", 1)[1]
    )


def render_standby_entrypoint(ctx: JobsContext) -> str:
    """Bootstrap from the newest base backup into an empty data directory, then the image's entrypoint."""
    interpreter = ctx.settings.wal_archive.interpreter
    restore = " ".join(
        '"$PGDATA.tmp"' if a == "$PGDATA.tmp" else shlex.quote(str(a))
        for a in [interpreter, "-m", "functions.backup", *base_restore_argv(ctx, "$PGDATA.tmp")]
    )
    return f"""#!/bin/sh
# Managed by Pulumi (platform:disaster_recovery): restore the newest base backup once, then run as a warm standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$PGDATA.tmp"
  {restore}
  # A standby until the failover controller promotes it (pg_promote removes the file; it is never re-created).
  touch "$PGDATA.tmp/standby.signal"
  chmod 0700 "$PGDATA.tmp"
  mv "$PGDATA.tmp" "$PGDATA"
fi
exec docker-entrypoint.sh "$@"
"""


def standby_config_files(args: DatabaseArgs, entrypoint: str) -> dict[str, str]:
    """The database package's files (postgresql.conf with the include of the fragment, pg_hba) plus the
    standby's entrypoint; the primary-only init script stays out (roles come with the base backup)."""
    files = {k: v for k, v in config_files(args).items() if k in (conf.POSTGRESQL_CONF, conf.PG_HBA)}
    files[STANDBY_ENTRYPOINT] = entrypoint
    return files


def standby_statefulset_manifest(
    args: DatabaseArgs, patch: Mapping[str, Any], checksum: pulumi.Input[str]
) -> dict[str, Any]:
    """The database package's primary StatefulSet (role ``primary``: the DR ``-rw`` Service selects it, so the
    same Service is the writer once promoted), started through the standby entrypoint; ``checksum`` is the
    standby's config files' (a change rolls the pod)."""
    manifest = statefulset_manifest(args, "primary", dict(patch))
    template = manifest["spec"]["template"]
    template["metadata"]["annotations"]["checksum/config"] = checksum
    postgres = next(c for c in template["spec"]["containers"] if c["name"] == "postgres")
    postgres["command"] = ["sh", f"{conf.CONF_DIR}/{STANDBY_ENTRYPOINT}"]
    # Roles come with the base backup: the primary's init script is not mounted.
    postgres["volumeMounts"] = [
        m
        for m in postgres["volumeMounts"]
        if not str(m.get("mountPath", "")).startswith("/docker-entrypoint-initdb.d/")
    ]
    return manifest


def standby_dsn(user: str, password: str, endpoint: str) -> str:
    """The controller's connection to the standby (superuser: pg_promote), TLS required."""
    host, _, port = endpoint.rpartition(":")
    return f"postgresql://{user}:{password}@{host}:{port}/postgres?sslmode=require&connect_timeout=5"
