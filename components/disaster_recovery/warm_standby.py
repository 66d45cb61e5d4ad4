"""Declares the warm standby (:mod:`components.disaster_recovery.standby` builds its manifests) in the DR
cluster, its federated identity for Azure Blob and GCS, and the Secrets the failover controller connects with.

Kubernetes objects go through the DR cluster's provider (``kubernetes-dr``, owned by the DisasterRecovery
component); the volume key and the controller's DSN secrets through the DR region's AWS provider; the Azure
federated credential and the GCP pool provider through the stack's Azure and GCP providers (inherited from
the component's ``opts.providers``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from components.backup_jobs.manifests import (
    AZURE_TOKEN_AUDIENCE,
    WAL_SERVICE_ACCOUNT,
    JobsContext,
    Vaults,
    database_pod_patch,
    database_pod_patch_yaml,
    gcp_credential_configuration,
    gcp_credentials_configmap,
    gcp_principal,
    gcp_provider_name,
    gcp_token_audience,
    service_account_manifest,
    wal_configmap_manifest,
)
from components.database import conf
from components.database.config import DatabaseArgs
from components.database.manifests import (
    KEY_SUPERUSER,
    certificate_manifest,
    config_name,
    headless_service_manifest,
    rw_service_manifest,
    secret_manifest,
    storage_class_manifest,
)
from components.disaster_recovery.config import DrSettings
from components.disaster_recovery.standby import (
    STANDBY_SOURCE_CLOUDS,
    render_standby_entrypoint,
    standby_config_files,
    standby_context,
    standby_database_args,
    standby_dsn,
    standby_fragment,
    standby_statefulset_manifest,
    standby_vaults,
)
from components.lib.k8s import app_labels, declare

if TYPE_CHECKING:
    from components.backup.component import BackupStorage
    from components.backup_jobs.config import WorkloadIdentity


@dataclass
class StandbySource:
    """What the primary side declared that the standby reuses (resources and Outputs, so not in the Args)."""

    database: DatabaseArgs
    """The primary database's args (the standby renders the same settings)."""
    passwords: dict[str, Any]
    """The primary's generated passwords by Secret key: the standby's catalog is the primary's."""
    jobs: JobsContext
    """The backup jobs' context: vault targets, wrapping keys, identity environment and annotations."""
    storage: BackupStorage
    identity: WorkloadIdentity
    gcs_project_number: str | None
    gcp_project: str | None
    after: list[pulumi.Resource]
    """The backup jobs component: its pool, keys and identities exist before the standby uses them."""


@dataclass
class Standby:
    statefulset: Any
    namespace: str
    dsn_secret: Any
    primary_dsn_secret: Any


def standby_subject(namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:{WAL_SERVICE_ACCOUNT}"


def dr_gcp_provider_id(primary_provider_id: str) -> str:
    """The DR cluster's OIDC provider in the same Workload Identity pool (ids are at most 32 characters)."""
    return f"{primary_provider_id[:29]}-dr"


class _Declarer:
    """One standby's declarations, in dependency order: identity first (the pod needs it at first start to
    restore the base backup), then the objects the StatefulSet mounts, then the controller's DSN secrets."""

    def __init__(self, name: str, dr: DrSettings, source: StandbySource, namespace: str, opts: dict[str, Any]) -> None:
        self.name = name
        self.dr = dr
        self.source = source
        self.namespace = namespace
        self.k8s: pulumi.ResourceOptions = opts["k8s"]
        self.data_k8s: pulumi.ResourceOptions = opts["data_k8s"]
        self.in_dr: pulumi.ResourceOptions = opts["in_dr"]
        self.data_in_dr: pulumi.ResourceOptions = opts["data_in_dr"]
        self.child: pulumi.ResourceOptions = opts["child"]
        self.args = standby_database_args(source.database, namespace, dr.kubernetes.cluster_domain)

    # --- identity --------------------------------------------------------------------------------

    def identity(self) -> tuple[str | None, list[pulumi.Resource]]:
        """Azure federated credential and GCP pool provider for the DR cluster's issuer; returns the GCP token
        audience (None without GCS federation) and what the pod must wait for."""
        storage, subject = self.source.storage, standby_subject(self.namespace)
        issuer = self.dr.kubernetes.oidc_issuer_url
        assert issuer is not None  # validated with kind postgres_standby
        after = list(self.source.after)
        if storage.azure is not None:
            import pulumi_azure_native as azure

            after.append(
                azure.managedidentity.FederatedIdentityCredential(
                    f"{self.name}-standby-federated",
                    resource_name_=storage.azure.writer.name,
                    resource_group_name=storage.azure.resource_group_name,
                    issuer=issuer,
                    subject=subject,
                    audiences=[AZURE_TOKEN_AUDIENCE],
                    opts=pulumi.ResourceOptions.merge(self.child, pulumi.ResourceOptions(depends_on=self.source.after)),
                )
            )
        audience = None
        if storage.gcs is not None and self.source.identity.gcp_federation == "workload_identity_federation":
            audience, created = self._gcp(issuer, subject)
            after += created
        return audience, after

    def _gcp(self, issuer: str, subject: str) -> tuple[str, list[pulumi.Resource]]:
        """A second OIDC provider (the DR cluster's issuer) in the backup jobs' pool, admitting only the standby's
        account, and the credential configuration the pod reads. The pool maps ``google.subject`` from the token's
        ``sub``, so the principal is the one the primary's archiver already holds ``workloadIdentityUser`` for
        when the namespace is the same; otherwise the standby's principal is bound here."""
        import pulumi_gcp as gcp
        import pulumi_kubernetes as k8s

        identity, storage = self.source.identity, self.source.storage
        number = self.source.gcs_project_number
        assert number is not None and storage.gcs is not None  # validated with backup.gcs.enabled
        provider_id = dr_gcp_provider_id(identity.gcp_provider_id)
        provider_name = gcp_provider_name(number, identity.gcp_pool_id, provider_id)
        audience = gcp_token_audience(provider_name)
        after_jobs = pulumi.ResourceOptions.merge(self.child, pulumi.ResourceOptions(depends_on=self.source.after))
        created: list[pulumi.Resource] = [
            gcp.iam.WorkloadIdentityPoolProvider(
                f"{self.name}-standby-gcp-provider",
                workload_identity_pool_id=identity.gcp_pool_id,
                workload_identity_pool_provider_id=provider_id,
                project=self.source.gcp_project,
                display_name="DR cluster OIDC issuer",
                attribute_mapping={"google.subject": "assertion.sub"},
                attribute_condition=f"assertion.sub in ['{subject}']",
                oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=issuer, allowed_audiences=[audience]),
                opts=after_jobs,
            )
        ]
        if subject != standby_subject(self.source.jobs.namespace):
            created.append(
                gcp.serviceaccount.IAMMember(
                    f"{self.name}-standby-workload-identity",
                    service_account_id=storage.gcs.writer.name,
                    role="roles/iam.workloadIdentityUser",
                    member=gcp_principal(number, identity.gcp_pool_id, subject),
                    opts=after_jobs,
                )
            )
        credentials = storage.gcs.writer_email.apply(
            lambda email: json.dumps(gcp_credential_configuration(provider_name, email), indent=2)
        )
        created.append(
            declare(
                k8s.core.v1.ConfigMap,
                f"{self.name}-standby-gcp-credentials",
                gcp_credentials_configmap(self.namespace, credentials),
                self.k8s,
            )
        )
        return audience, created

    # --- the database ----------------------------------------------------------------------------

    def context(self, audience: str | None) -> JobsContext:
        uris = self.source.storage.target_uris()
        targets = [uris[cloud]["db"] for cloud in STANDBY_SOURCE_CLOUDS if cloud in uris]
        if not targets:
            raise ValueError(
                "dr.database.kind postgres_standby: needs backup.azure or backup.gcs (the archive copies "
                "that survive the primary region)"
            )
        vaults = standby_vaults(self.source.jobs.vaults, targets, audience)
        return standby_context(self.source.jobs, vaults, self.namespace)

    def resolved(self, ctx: JobsContext) -> pulumi.Output[JobsContext]:
        """``ctx`` with its Outputs (target URIs, key ids, environment) resolved, for the rendered text."""
        v = ctx.vaults
        values = pulumi.Output.all(
            targets=pulumi.Output.all(*v.targets["db"]),
            azure_key=pulumi.Output.from_input(v.azure_key_id or ""),
            gcp_key=pulumi.Output.from_input(v.gcp_kms_key or ""),
            env=pulumi.Output.from_input(dict(v.env)),
            annotations=pulumi.Output.from_input(dict(v.identity_annotations)),
        )

        def plain(a: dict[str, Any]) -> JobsContext:
            vaults = Vaults(
                targets={"db": list(a["targets"])},
                azure_key_id=a["azure_key"] or None,
                gcp_kms_key=a["gcp_key"] or None,
                has_s3=False,
                identity_annotations=a["annotations"],
                env=a["env"],
                gcp_token_audience=v.gcp_token_audience,
            )
            return standby_context(ctx, vaults, ctx.namespace)

        return values.apply(plain)

    def declare(self) -> Standby:
        import pulumi_kubernetes as k8s

        audience, identity_deps = self.identity()
        ctx = self.context(audience)
        plain = self.resolved(ctx)
        args = self.args
        account = service_account_manifest(ctx, WAL_SERVICE_ACCOUNT, ctx.vaults.identity_annotations)
        sa = k8s.core.v1.ServiceAccount(
            f"{self.name}-standby-sa",
            metadata=account["metadata"],
            automount_service_account_token=account["automountServiceAccountToken"],
            opts=self.k8s,
        )
        fragment = plain.apply(standby_fragment)
        wal = declare(
            k8s.core.v1.ConfigMap,
            f"{self.name}-standby-wal-archive",
            wal_configmap_manifest(ctx, fragment, plain.apply(database_pod_patch_yaml)),
            self.k8s,
        )
        files = plain.apply(lambda c: standby_config_files(args, render_standby_entrypoint(c)))
        config = k8s.core.v1.ConfigMap(
            f"{self.name}-standby-config",
            metadata={"name": config_name(args), "namespace": args.namespace,
                      "labels": app_labels(args.name, "database", part_of="data-tier")},
            data=files,
            opts=self.k8s,
        )  # fmt: skip
        secret_doc = secret_manifest(args, self.source.passwords)
        secret = k8s.core.v1.Secret(
            f"{self.name}-standby-credentials",
            metadata=secret_doc["metadata"],
            type=secret_doc["type"],
            string_data=secret_doc["stringData"],
            opts=self.k8s,
        )
        needs: list[pulumi.Resource] = [sa, wal, config, secret, *identity_deps]
        needs.append(self._tls())
        needs += self._services()
        storage_class = self._storage()
        if storage_class is not None:
            needs.append(storage_class)
        checksum = files.apply(lambda f: hashlib.sha256(json.dumps(f, sort_keys=True).encode()).hexdigest())
        manifest = standby_statefulset_manifest(args, database_pod_patch(ctx), checksum)
        statefulset = declare(
            k8s.apps.v1.StatefulSet,
            f"{self.name}-standby",
            manifest,
            pulumi.ResourceOptions.merge(self.data_k8s, pulumi.ResourceOptions(depends_on=needs)),
        )
        dsn, primary_dsn = self._dsn_secrets()
        return Standby(statefulset, self.namespace, dsn, primary_dsn)

    def _tls(self) -> Any:
        from components.lib.k8s import custom_object

        return custom_object(f"{self.name}-standby-tls", certificate_manifest(self.args), self.k8s)

    def _services(self) -> list[Any]:
        import pulumi_kubernetes as k8s

        return [
            declare(
                k8s.core.v1.Service, f"{self.name}-standby-headless", headless_service_manifest(self.args), self.k8s
            ),
            declare(k8s.core.v1.Service, f"{self.name}-standby-rw", rw_service_manifest(self.args), self.k8s),
        ]

    def _storage(self) -> Any:
        """The database package's encrypted StorageClass in the DR cluster, with a DR-region KMS key (a key of
        the primary region could not be used by EBS there)."""
        import pulumi_aws as aws
        import pulumi_kubernetes as k8s

        if self.args.settings.storage.allow_unencrypted_storage:
            return None
        key = aws.kms.Key(
            f"{self.name}-standby-volumes",
            description="Encrypts the PostgreSQL data volume (EBS) of the DR region's warm standby",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=self.data_in_dr,
        )
        return declare(
            k8s.storage.v1.StorageClass,
            f"{self.name}-standby-storage",
            storage_class_manifest(self.args, key.arn),
            self.data_k8s,
        )

    def _dsn_secrets(self) -> tuple[Any, Any]:
        """Secrets Manager secrets (DR region) with the libpq URLs the controller promotes and fences through;
        the Lambda's configuration names them and never holds a password."""
        import pulumi_aws as aws

        db = self.dr.database
        password = pulumi.Output.secret(self.source.passwords[KEY_SUPERUSER])
        made = []
        for role, endpoint in (("standby", db.standby_endpoint), ("primary", db.primary_endpoint)):
            if endpoint is None:
                made.append(None)
                continue
            secret = aws.secretsmanager.Secret(
                f"{self.name}-{role}-dsn",
                description=f"Failover controller: libpq URL of the {role} database ({endpoint})",
                recovery_window_in_days=7,
                opts=self.in_dr,
            )
            aws.secretsmanager.SecretVersion(
                f"{self.name}-{role}-dsn-value",
                secret_id=secret.id,
                secret_string=password.apply(lambda pw, e=endpoint: standby_dsn(conf.SUPERUSER, pw, e)),
                opts=self.in_dr,
            )
            made.append(secret)
        return made[0], made[1]


def declare_standby(name: str, dr: DrSettings, source: StandbySource, namespace: str, opts: dict[str, Any]) -> Standby:
    """The standby and what it needs; ``opts``: ``k8s``/``data_k8s`` (DR cluster), ``in_dr``/``data_in_dr``
    (DR region), ``child`` (the component's own providers: Azure, GCP)."""
    return _Declarer(name, dr, source, namespace, opts).declare()
