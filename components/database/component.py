"""The database tier: PostgreSQL 15 primary + streaming read replicas, and PgBouncer in front.

Passwords come from ``pulumi_random`` into one Secret and reach the processes only as environment at start
(the plan shows ``[secret]``). The data volumes use a StorageClass of their own with encrypted EBS volumes
under a customer-managed KMS key. WAL leaves the primary through the backup jobs' ``archive_command``
(``wal-push`` to every vault): their pod patch (identity, environment, the fragment's mount) is merged into
the PostgreSQL pods here.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.database.config import DatabaseArgs
from components.database.manifests import (
    PASSWORD_KEYS,
    certificate_manifest,
    configmap_manifest,
    headless_service_manifest,
    pdb_manifest,
    plain_outputs,
    pooler_configmap_manifest,
    pooler_deployment_manifest,
    pooler_pdb_manifest,
    pooler_service_manifest,
    ro_service_manifest,
    rw_service_manifest,
    scrape_targets,
    secret_manifest,
    statefulset_manifest,
    storage_class_manifest,
)
from components.lib.k8s import custom_object, declare
from components.lib.scrape import ScrapeTarget


class Database(pulumi.ComponentResource):
    """PostgreSQL and PgBouncer (see the module docstring)."""

    section: dict[str, Any]

    def __init__(
        self,
        name: str,
        args: DatabaseArgs,
        archive_patch: dict[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``archive_patch``: the backup jobs' database pod patch (None without WAL archiving)."""
        super().__init__("platform:database:Database", name, None, opts)
        self.args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.passwords = self._credentials(name)
        self.storage_class = self._storage(name)
        self.config_objects = self._config(name)
        self.services = self._services(name)
        self.statefulsets = self._postgres(name, archive_patch)
        self.pooler = self._pooler(name) if args.settings.pooler.enabled else None
        self.section = {**plain_outputs(args)}
        self.register_outputs(self.section)

    def _credentials(self, name: str) -> dict[str, Any]:
        """One generated password per role, alphanumeric (they go into URIs and the userlist unescaped)."""
        import pulumi_kubernetes as k8s
        import pulumi_random as random

        passwords = {
            key: random.RandomPassword(f"{name}-{key}", length=40, special=False, opts=self._kept).result
            for key in PASSWORD_KEYS
        }
        manifest = secret_manifest(self.args, passwords)
        self.secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=manifest["metadata"],
            type=manifest["type"],
            string_data=manifest["stringData"],
            opts=self._child,
        )
        return passwords

    def _storage(self, name: str) -> Any:
        """The encrypted StorageClass and, unless one is given, its KMS key (None with the opt-out)."""
        import pulumi_aws as aws
        import pulumi_kubernetes as k8s

        storage = self.args.settings.storage
        if storage.allow_unencrypted_storage:
            return None
        key_arn: Any = storage.kms_key_arn
        if key_arn is None:
            self.kms_key = aws.kms.Key(
                f"{name}-volumes",
                description="Encrypts the PostgreSQL data volumes (EBS) of the database tier",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                opts=self._kept,
            )
            key_arn = self.kms_key.arn
        return declare(
            k8s.storage.v1.StorageClass, f"{name}-storage", storage_class_manifest(self.args, key_arn), self._kept
        )

    def _config(self, name: str) -> list[Any]:
        import pulumi_kubernetes as k8s

        objects = [
            declare(k8s.core.v1.ConfigMap, f"{name}-config", configmap_manifest(self.args), self._child),
            custom_object(f"{name}-tls", certificate_manifest(self.args), self._child),
        ]
        if self.args.settings.pooler.enabled:
            objects.append(
                declare(
                    k8s.core.v1.ConfigMap, f"{name}-pooler-config", pooler_configmap_manifest(self.args), self._child
                )
            )
        return objects

    def _services(self, name: str) -> list[Any]:
        import pulumi_kubernetes as k8s

        return [
            declare(k8s.core.v1.Service, f"{name}-headless", headless_service_manifest(self.args), self._child),
            declare(k8s.core.v1.Service, f"{name}-rw", rw_service_manifest(self.args), self._child),
            declare(k8s.core.v1.Service, f"{name}-ro", ro_service_manifest(self.args), self._child),
        ]

    def _postgres(self, name: str, archive_patch: dict[str, Any] | None) -> list[Any]:
        """The primary first; replicas clone it, so they wait for it (and for the Secret, config, certificate)."""
        import pulumi_kubernetes as k8s

        needs = [self.secret, *self.config_objects, *self.services]
        if self.storage_class is not None:
            needs.append(self.storage_class)
        after = pulumi.ResourceOptions(parent=self, protect=self.args.protect, depends_on=needs)
        primary = declare(
            k8s.apps.v1.StatefulSet, f"{name}-primary", statefulset_manifest(self.args, "primary", archive_patch), after
        )
        declare(k8s.policy.v1.PodDisruptionBudget, f"{name}-pdb", pdb_manifest(self.args), self._child)
        statefulsets = [primary]
        if self.args.settings.replicas > 0:
            after_primary = pulumi.ResourceOptions(parent=self, protect=self.args.protect, depends_on=[*needs, primary])
            statefulsets.append(
                declare(
                    k8s.apps.v1.StatefulSet,
                    f"{name}-replica",
                    statefulset_manifest(self.args, "replica", archive_patch),
                    after_primary,
                )
            )
        return statefulsets

    def _pooler(self, name: str) -> Any:
        import pulumi_kubernetes as k8s

        after = pulumi.ResourceOptions(
            parent=self, depends_on=[self.secret, *self.config_objects, self.statefulsets[0]]
        )
        deployment = declare(k8s.apps.v1.Deployment, f"{name}-pooler", pooler_deployment_manifest(self.args), after)
        declare(k8s.core.v1.Service, f"{name}-pooler-service", pooler_service_manifest(self.args), self._child)
        declare(k8s.policy.v1.PodDisruptionBudget, f"{name}-pooler-pdb", pooler_pdb_manifest(self.args), self._child)
        return deployment

    def scrape_targets(self) -> list[ScrapeTarget]:
        """postgres_exporter on every PostgreSQL pod and pgbouncer_exporter on every pooler pod (port ``metrics``)."""
        return scrape_targets(self.args)

    def outputs(self) -> dict[str, Any]:
        """The ``database`` section of the outputs contract."""
        return dict(self.section)
