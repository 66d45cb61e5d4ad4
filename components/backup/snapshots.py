"""Application-state snapshots with Velero: an hourly ``Schedule`` kept 7 days (seed).

Velero backs up the Kubernetes objects of the listed namespaces and snapshots their persistent volumes
(``snapshotVolumes``) through the cluster's volume snapshot provider. The settings live in
``backup.velero_*`` (with the other backup schedules); this component only renders them. The TTL is a Go
duration (``168h0m0s``): Velero deletes each backup and its snapshots when it expires.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.lib.k8s import app_labels, custom_object
from components.lib.settings import CronExpression


def go_duration(hours: int) -> str:
    """``168`` -> ``"168h0m0s"``: how Velero writes (and the Go time package parses) a backup TTL."""
    return f"{hours}h0m0s"


class SnapshotsArgs(BaseModel):
    """Inputs of :class:`Snapshots` (from ``backup.velero_schedule`` / ``velero_ttl_hours`` / ``velero_namespaces``)."""

    model_config = ConfigDict(frozen=True)

    schedule: CronExpression = Field(default="0 * * * *", description="When Velero takes a backup (UTC).")
    ttl_hours: int = Field(default=168, ge=1, le=8760, description="How long each backup is kept (seed: 7 days).")
    namespaces: tuple[str, ...] = Field(default=("platform",), min_length=1, description="Namespaces backed up.")
    velero_namespace: str = Field(default="velero", description="Namespace Velero runs in (Schedules live there).")
    storage_location: str = Field(default="default", description="Velero BackupStorageLocation name.")
    name: str = Field(default="app-state-hourly", description="Schedule name (also the backups' name prefix).")


def schedule_manifest(args: SnapshotsArgs) -> dict[str, Any]:
    labels = app_labels("velero-snapshots", "backup")
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Schedule",
        "metadata": {"name": args.name, "namespace": args.velero_namespace, "labels": labels},
        "spec": {
            "schedule": args.schedule,
            # Backups outlive a deleted Schedule: no owner references (else deleting it deletes them all).
            "useOwnerReferencesInBackup": False,
            "template": {
                # includeClusterResources left unset: Velero then takes the cluster-scoped objects the
                # namespaces need (the PersistentVolumes behind their claims); `false` would drop them.
                "includedNamespaces": list(args.namespaces),
                "snapshotVolumes": True,
                "storageLocation": args.storage_location,
                "ttl": go_duration(args.ttl_hours),
                "metadata": {"labels": labels},
            },
        },
    }


class Snapshots(pulumi.ComponentResource):
    """The Velero Schedule for application state."""

    def __init__(self, name: str, args: SnapshotsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:snapshots:Snapshots", name, None, opts)
        manifest = schedule_manifest(args)
        self.schedule = custom_object(f"{name}-schedule", manifest, pulumi.ResourceOptions(parent=self))
        self.schedule_name = args.name
        self.section = {
            "schedule": f"{args.velero_namespace}/{args.name}",
            "cron": args.schedule,
            "ttl": go_duration(args.ttl_hours),
        }
        self.register_outputs({"schedule": self.schedule_name, "ttl": go_duration(args.ttl_hours)})

    def outputs(self) -> dict[str, str]:
        """The ``snapshots`` section of the outputs contract."""
        return dict(self.section)
