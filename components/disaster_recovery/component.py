"""The DR region: a replica of the S3 vault, DNS failover, a cross-region database replica, and the
recovery bounds the declared settings imply.

What fails over by itself and what does not:
- Traffic: Cloudflare Load Balancing (the domain's one DNS authority) marks the primary pool unhealthy after
  ``interval x failure_threshold`` and sends requests to the DR pool at the edge (edge.py).
- The database: the failover controller (functions/dr, a Lambda function in the DR region, controller.py)
  confirms the outage from the DR side, promotes the replica (``dr.auto_promote``; otherwise on
  ``failover --confirm``), waits for it to take writes and moves the writer endpoint in an SSM parameter.
  ``dr.database.promotion_seconds`` is its budget and enters the RTO. The declared path stays for runbooks:
  ``dr.database.promote: true`` + ``pulumi up`` (the CLI equivalent is exported as ``promotion_command``).
- The self-managed database (``dr.database.kind: postgres_standby``): a warm standby in the DR region's cluster
  (its own Kubernetes provider, ``kubernetes-dr``) bootstrapped from the newest base backup and replaying the
  WAL archive from Azure Blob and GCS (warm_standby.py); the controller promotes it with ``pg_promote``.
- Backups: every object version of the vault replicates into an object-locked bucket in the DR region,
  encrypted with a DR-region key (Replication Time Control: 99.99 % within 15 minutes, with metrics).
"""

from __future__ import annotations

import json
from typing import Any, cast

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.backup.aws import S3Vault, vault_bucket_spec
from components.backup.config import BackupSettings
from components.backup_jobs.config import BackupJobsSettings
from components.disaster_recovery.config import S3_RTC_THRESHOLD_MINUTES, DrSettings, RecoveryBounds, recovery_bounds
from components.disaster_recovery.controller import Controller, ControllerDatabase, declare_controller
from components.disaster_recovery.edge import Edge, declare_edge, notification_args
from components.disaster_recovery.rpo import RESTORE_RETRY_SECONDS, wal_mechanism
from components.disaster_recovery.warm_standby import Standby, StandbySource, declare_standby
from components.lib.aws_s3 import declare_private_bucket
from components.lib.tagging import aws_provider

DB_USERNAME = "platform_admin"


class DisasterRecoveryArgs(BaseModel):
    model_config = ConfigDict(frozen=True)

    dr: DrSettings = Field(description="Validated DR settings.")
    backup: BackupSettings = Field(description="Validated backup settings (lock, lifecycle, WAL archive timeout).")
    primary_region: str = Field(description="cloud.aws.region.")
    tags: dict[str, str] = Field(description="The stack's standard tags: the DR region's provider default_tags.")
    account_id: str | None = Field(description="cloud.aws.account_id: the DR provider refuses any other account.")
    edge_zone_id: str = Field(description="Cloudflare zone (of cdn.zones) serving dr.record_name.")
    event_subscriptions: tuple[tuple[str, str, str], ...] = Field(
        default=(),
        description="(receiver, protocol, endpoint) subscribed to the controller's events topic: the receivers cloud "
        "alarms go to (alerting), so a held promotion or a silent controller reaches on-call.",
    )
    protect: bool = Field(default=False, description="Protect data-holding resources (prod).")
    namespace: str = Field(
        default="default", description="The stack's namespace (the standby's, unless dr.kubernetes.namespace)."
    )
    backup_jobs: BackupJobsSettings | None = Field(
        default=None,
        description="Validated backup_jobs settings: the WAL mechanism (archive_command, rds, off) that bounds the RPO "
        "of every copy; None: no jobs, nothing leaves the database.",
    )

    @property
    def bounds(self) -> RecoveryBounds:
        wal = wal_mechanism(self.backup, self.backup_jobs)
        return recovery_bounds(self.dr, self.backup.wal_archive_timeout_seconds, wal)


def replication_role_policy(
    source_arn: str, dest_arn: str, source_key_arn: str, dest_key_arn: str, *, primary_region: str, dr_region: str
) -> dict[str, Any]:
    """What S3 needs to replicate object-locked, KMS-encrypted versions, and nothing more."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_arn,
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention",
                    "s3:GetObjectLegalHold",
                ],
                "Resource": f"{source_arn}/*",
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": f"{dest_arn}/*",
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": source_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{primary_region}.amazonaws.com"}},
            },
            {
                "Sid": "EncryptReplica",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": dest_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{dr_region}.amazonaws.com"}},
            },
        ],
    }


def promotion_command(dr: DrSettings, replica_id: str, global_cluster_id: str | None = None) -> str:
    """The CLI equivalent of ``dr.database.promote: true`` (for the runbook, when Pulumi cannot run); for a
    warm standby (``replica_id``: the controller's function) the controller's own confirmed failover, run
    with the deployed function's configuration."""
    if dr.database.kind == "postgres_standby":
        return (
            f'DR_CONFIG_JSON="$(aws lambda get-function-configuration --region {dr.region} --function-name '
            f'{replica_id} --query Environment.Variables.DR_CONFIG_JSON --output text)" '
            "python -m functions.dr failover --scenario region --confirm"
        )
    if dr.database.kind == "rds_replica":
        return f"aws rds promote-read-replica --region {dr.region} --db-instance-identifier {replica_id}"
    return (
        f"aws rds failover-global-cluster --region {dr.region} --global-cluster-identifier {global_cluster_id} "
        f"--target-db-cluster-identifier {replica_id} --allow-data-loss"
    )


def _json(value: Any) -> str:
    return json.dumps(value)


class DisasterRecovery(pulumi.ComponentResource):
    """DR region resources. ``opts`` carries the primary AWS provider; the component creates and owns the DR
    region's provider (``aws-dr``), so no provider reaches it any other way than through ``opts``."""

    dr_bucket_name: pulumi.Output[str]
    record_fqdn: pulumi.Output[str]
    health_check_id: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    primary_db_endpoint: pulumi.Output[str]
    replica_db_endpoint: pulumi.Output[str]
    rto_seconds_bound: int
    rpo_seconds_bound: int
    edge: Edge
    controller: Controller | None

    def __init__(
        self,
        name: str,
        args: DisasterRecoveryArgs,
        *,
        source: S3Vault,
        standby: StandbySource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``standby``: the primary database and backup wiring a ``postgres_standby`` reuses (required then)."""
        super().__init__("platform:disaster_recovery:DisasterRecovery", name, None, opts)
        dr_provider = self._region_provider(args, opts)
        self.kubernetes_provider = self._region_kubernetes(args)
        self._region = args.dr.region
        self._proxied = args.dr.proxied
        self._auto_promote = args.dr.auto_promote
        self._database_kind = args.dr.database.kind
        self.bounds = args.bounds
        self.rto_seconds_bound = self.bounds.rto_seconds
        self.rpo_seconds_bound = self.bounds.rpo_seconds
        self._child = pulumi.ResourceOptions(parent=self)
        self._data = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self._in_dr = pulumi.ResourceOptions(parent=self, provider=dr_provider)
        self._data_in_dr = pulumi.ResourceOptions(parent=self, provider=dr_provider, protect=args.protect)

        self._replica_vault(name, args)
        self._replication(name, args, source)
        self.edge = declare_edge(name, args.dr, args.edge_zone_id, self._child)
        self._database(name, args, standby)
        self._controller(name, args)

        self.dr_bucket_name = self.bucket.bucket
        self.record_fqdn = pulumi.Output.from_input(args.dr.record_name)
        self.zone_id = pulumi.Output.from_input(args.edge_zone_id)
        self.health_check_id = self.edge.monitor.id
        self.register_outputs(
            {
                "dr_bucket_name": self.dr_bucket_name,
                "replica_db_endpoint": self.replica_db_endpoint,
                "rto_seconds_bound": self.rto_seconds_bound,
                "rpo_seconds_bound": self.rpo_seconds_bound,
            }
        )

    def _region_provider(
        self, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None
    ) -> pulumi.ProviderResource:
        """The DR region's AWS provider, a child of this component. It was first declared beside the primary
        one under the platform; the alias keeps that identity, so existing stacks see no change to it."""
        old_parent = opts.parent if opts is not None else None
        aliases = [pulumi.Alias(parent=old_parent)] if old_parent is not None else None
        return aws_provider(
            "aws-dr", args.dr.region, args.tags, args.account_id, pulumi.ResourceOptions(parent=self, aliases=aliases)
        )

    def _region_kubernetes(self, args: DisasterRecoveryArgs) -> pulumi.ProviderResource | None:
        """The DR region's cluster (``dr.kubernetes.context``), a child of this component like ``aws-dr``.
        Creating it calls nothing: the engine's plugin reads the kubeconfig context at deploy time."""
        import pulumi_kubernetes as k8s

        kube = args.dr.kubernetes
        if kube.context is None:
            return None
        return k8s.Provider(
            "kubernetes-dr",
            context=kube.context,
            namespace=kube.namespace or args.namespace,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _replica_vault(self, name: str, args: DisasterRecoveryArgs) -> None:
        """The vault's bucket again, in the DR region with a DR-region key: a regional outage leaves a copy."""
        import pulumi_aws as aws

        self.key = aws.kms.Key(
            f"{name}-key",
            description="DR replica of the backup vault: SSE-KMS key in the DR region",
            enable_key_rotation=True,
            deletion_window_in_days=args.backup.aws.kms_deletion_window_days,
            opts=self._data_in_dr,
        )
        self.replica = declare_private_bucket(
            name, vault_bucket_spec(args.backup, self.key.arn), data_opts=self._data_in_dr, child_opts=self._in_dr
        )
        self.bucket = self.replica.bucket
        self.versioning = self.replica.require_versioning()

    def _replication(self, name: str, args: DisasterRecoveryArgs, source: S3Vault) -> None:
        """S3 replication of every object version, configured on the source bucket (primary region).

        Replication Time Control, when enabled, is what bounds the backup copy's RPO.
        """
        import pulumi_aws as aws

        dr = args.dr
        role, role_policy = self._replication_role(name, args, source)
        destination: dict[str, Any] = {
            "bucket": self.bucket.arn,
            "storage_class": "STANDARD",
            "encryption_configuration": {"replica_kms_key_id": self.key.arn},
        }
        if dr.replication_time_control:
            destination["replication_time"] = {"status": "Enabled", "time": {"minutes": S3_RTC_THRESHOLD_MINUTES}}
            destination["metrics"] = {"status": "Enabled", "event_threshold": {"minutes": S3_RTC_THRESHOLD_MINUTES}}
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            bucket=source.bucket.id,
            role=role.arn,
            rules=cast(
                Any,
                [
                    {
                        "id": "vault-to-dr",
                        "status": "Enabled",
                        "priority": 1,
                        "filter": {"prefix": ""},
                        # Deletes never propagate: the DR copy outlives a mistake (or an attacker) in the primary.
                        "delete_marker_replication": {"status": "Disabled"},
                        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                        "destination": destination,
                    }
                ],
            ),
            # S3 refuses a replication configuration until versioning is on at both ends.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[source.versioning, self.versioning, role_policy]),
        )

    def _replication_role(self, name: str, args: DisasterRecoveryArgs, source: S3Vault) -> tuple[Any, Any]:
        """The role S3 assumes to replicate; returned with its policy, which replication must wait for."""
        import pulumi_aws as aws

        role = aws.iam.Role(
            f"{name}-replication-role",
            description="S3 replication of the backup vault into the DR region",
            assume_role_policy=_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            opts=self._child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-replication-policy",
            role=role.id,
            policy=pulumi.Output.all(source.bucket_arn, self.bucket.arn, source.kms_key_arn, self.key.arn).apply(
                lambda a: _json(
                    replication_role_policy(
                        a[0], a[1], a[2], a[3], primary_region=args.primary_region, dr_region=args.dr.region
                    )
                )
            ),
            opts=self._child,
        )
        return role, role_policy

    def _controller(self, name: str, args: DisasterRecoveryArgs) -> None:
        """The failover controller and, with its webhook, the pool-health notification that calls it."""
        import pulumi_cloudflare as cloudflare

        self.controller = None
        if not args.dr.controller.enabled:
            return
        self.controller = declare_controller(
            name,
            args.dr,
            self._controller_database,
            subscriptions=args.event_subscriptions,
            in_dr=self._in_dr,
            data_in_dr=self._data_in_dr,
            standby_stale_seconds=self._standby_stale_seconds(args),
        )
        if args.dr.database.kind == "postgres_standby":
            self.promotion_command = self.controller.function.name.apply(lambda f: promotion_command(args.dr, f))
        if self.controller.webhook is not None:
            pools = [pool.id for pool in self.edge.pools.values()]
            cloudflare.NotificationPolicy(
                f"{name}-pool-health", **notification_args(args.dr, pools, self.controller.webhook.id), opts=self._child
            )

    @staticmethod
    def _standby_stale_seconds(args: DisasterRecoveryArgs) -> int | None:
        """Replay age a healthy warm standby stays under: one controller run (60 s: the heartbeat is committed once
        per run) + archive_timeout + the wal-push bound + the restore_command retry + the alerted replay lag."""
        if args.dr.database.kind != "postgres_standby" or args.backup_jobs is None:
            return None
        return (
            60
            + args.backup.wal_archive_timeout_seconds
            + args.backup_jobs.wal_archive.push_bound_seconds
            + RESTORE_RETRY_SECONDS
            + args.dr.database.replication_lag_bound_seconds
        )

    def _database(self, name: str, args: DisasterRecoveryArgs, standby: StandbySource | None) -> None:
        """The DR database: the self-managed database's warm standby, or (stacks that keep RDS) a storage key
        per region and the cross-region replica (RDS read replica or Aurora global cluster)."""
        import pulumi_aws as aws

        self.standby: Standby | None = None
        if args.dr.database.kind == "postgres_standby":
            self._postgres_standby(name, args, standby)
            return

        deletion_window = args.backup.aws.kms_deletion_window_days
        self.db_key = aws.kms.Key(
            f"{name}-db-key",
            description="Database storage key (primary region)",
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window,
            opts=self._data,
        )
        self.db_replica_key = aws.kms.Key(
            f"{name}-db-replica-key",
            description="Database replica storage key (DR region)",
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window,
            opts=self._data_in_dr,
        )
        common: dict[str, Any] = {
            "storage_encrypted": True,
            "deletion_protection": args.protect,
            "copy_tags_to_snapshot": True,
            "iam_database_authentication_enabled": True,
            "skip_final_snapshot": False,
        }
        if args.dr.database.kind == "rds_replica":
            self._rds(name, args, common, self._data, self._data_in_dr)
        else:
            self._aurora(name, args, common, self._data, self._data_in_dr)

    def _postgres_standby(self, name: str, args: DisasterRecoveryArgs, source: StandbySource | None) -> None:
        """The warm standby in the DR cluster; the controller promotes it through its DSN secret."""
        if source is None or self.kubernetes_provider is None:
            raise ValueError(
                "dr.database.kind postgres_standby: needs the self-managed database (database section, "
                "backup_jobs.wal_archive.mode archive_command) and dr.kubernetes.context"
            )
        in_cluster = pulumi.ResourceOptions(parent=self, provider=self.kubernetes_provider)
        namespace = args.dr.kubernetes.namespace or args.namespace
        self.standby = declare_standby(
            name,
            args.dr,
            source,
            namespace,
            {
                "k8s": in_cluster,
                "data_k8s": pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(protect=args.protect)),
                "in_dr": self._in_dr,
                "data_in_dr": self._data_in_dr,
                "child": self._child,
            },
        )
        db = args.dr.database
        primary = db.primary_endpoint or f"{source.database.name}-rw.{source.database.namespace}.svc:5432"
        standby = (
            db.standby_endpoint or f"{source.database.name}-rw.{namespace}.svc.{args.dr.kubernetes.cluster_domain}:5432"
        )
        self.primary_db_endpoint = pulumi.Output.from_input(primary)
        self.replica_db_endpoint = pulumi.Output.from_input(standby)
        kube = args.dr.kubernetes
        # Without the controller the runbook promotes by hand; with it, _controller names the function instead.
        self.promotion_command = pulumi.Output.from_input(
            f"kubectl --context {kube.context} -n {namespace} exec {source.database.name}-primary-0 -c postgres -- "
            "psql -U postgres -c 'SELECT pg_promote()'"
        )
        secrets = [s for s in (self.standby.dsn_secret, self.standby.primary_dsn_secret) if s is not None]
        config: dict[str, Any] = {"kind": "postgres", "writer_endpoint": standby}
        self._controller_database = ControllerDatabase(
            config=pulumi.Output.all(*[s.arn for s in secrets]).apply(
                lambda arns: (
                    {**config, "standby_dsn_secret": arns[0], "primary_dsn_secret": arns[1]}
                    if len(arns) == 2
                    else config
                )
            ),
            promote_actions=["secretsmanager:GetSecretValue"],
            promote_resources=[s.arn for s in secrets],
            primary_address=self.primary_db_endpoint,
            writer_address=self.replica_db_endpoint,
        )

    def _rds(
        self,
        name: str,
        args: DisasterRecoveryArgs,
        common: dict[str, Any],
        data: pulumi.ResourceOptions,
        data_in_dr: pulumi.ResourceOptions,
    ) -> None:
        """RDS read replica in the DR region; removing its source promotes it."""
        import pulumi_aws as aws

        db = args.dr.database
        primary = aws.rds.Instance(
            f"{name}-db-primary",
            engine="postgres",
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage=db.allocated_storage_gb,
            max_allocated_storage=db.allocated_storage_gb * 2,
            storage_type="gp3",
            kms_key_id=self.db_key.arn,
            multi_az=db.multi_az,
            db_name="platform",
            username=DB_USERNAME,
            manage_master_user_password=True,
            backup_retention_period=db.backup_retention_days,
            db_subnet_group_name=db.subnet_group_name,
            publicly_accessible=False,
            final_snapshot_identifier=f"{name}-primary-final",
            enabled_cloudwatch_logs_exports=["postgresql"],
            **common,
            opts=data,
        )
        replica = aws.rds.Instance(
            f"{name}-db-replica",
            # Removing the source promotes the replica to a standalone writer (dr.database.promote).
            replicate_source_db=None if db.promote else primary.arn,
            instance_class=db.instance_class,
            storage_type="gp3",
            kms_key_id=self.db_replica_key.arn,
            backup_retention_period=db.backup_retention_days,
            db_subnet_group_name=db.replica_subnet_group_name,
            publicly_accessible=False,
            final_snapshot_identifier=f"{name}-replica-final",
            **common,
            opts=data_in_dr,
        )
        self.primary_db_endpoint = primary.address
        self.replica_db_endpoint = replica.address
        self.promotion_command = replica.identifier.apply(lambda i: promotion_command(args.dr, i))
        self._controller_database = ControllerDatabase(
            config=replica.identifier.apply(lambda i: {"kind": "rds_replica", "replica_id": i}),
            promote_actions=["rds:DescribeDBInstances", "rds:PromoteReadReplica"],
            promote_resources=[replica.arn],
            primary_address=primary.address,
            writer_address=replica.address,
        )

    def _aurora(
        self,
        name: str,
        args: DisasterRecoveryArgs,
        common: dict[str, Any],
        data: pulumi.ResourceOptions,
        data_in_dr: pulumi.ResourceOptions,
    ) -> None:
        """Aurora global database: the writer cluster here, a secondary cluster in the DR region."""
        cluster_common = {k: v for k, v in common.items() if k != "skip_final_snapshot"}
        global_cluster, primary, primary_instance = self._aurora_primary(name, args, cluster_common, data)
        secondary = self._aurora_secondary(
            name, args, cluster_common, global_cluster, data_in_dr, after=primary_instance
        )
        self.primary_db_endpoint = primary.endpoint
        self.replica_db_endpoint = secondary.reader_endpoint
        self.promotion_command = pulumi.Output.all(secondary.arn, global_cluster.id).apply(
            lambda a: promotion_command(args.dr, a[0], a[1])
        )
        self._controller_database = ControllerDatabase(
            config=pulumi.Output.all(secondary.id, global_cluster.id, secondary.arn).apply(
                lambda a: {
                    "kind": "aurora_global",
                    "replica_id": a[0],
                    "global_cluster_id": a[1],
                    "target_cluster_arn": a[2],
                }
            ),
            promote_actions=["rds:DescribeDBClusters", "rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster"],
            promote_resources=[secondary.arn, global_cluster.arn],
            primary_address=primary.endpoint,
            writer_address=secondary.endpoint,
        )

    def _aurora_primary(
        self, name: str, args: DisasterRecoveryArgs, cluster_common: dict[str, Any], data: pulumi.ResourceOptions
    ) -> tuple[Any, Any, Any]:
        """The global cluster, its writer cluster and first instance (returned: the secondary waits for it)."""
        import pulumi_aws as aws
        import pulumi_random as random

        db = args.dr.database
        engine = aws.rds.EngineType.AURORA_POSTGRESQL
        global_cluster = aws.rds.GlobalCluster(
            f"{name}-db-global",
            global_cluster_identifier=f"{name}-db-global",
            engine=engine,
            engine_version=db.engine_version,
            storage_encrypted=True,
            deletion_protection=args.protect,
            opts=data,
        )
        # Secrets Manager-managed master passwords are not supported on global databases: a generated one.
        password = random.RandomPassword(
            f"{name}-db-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        primary = aws.rds.Cluster(
            f"{name}-db-primary",
            engine=engine,
            engine_version=db.engine_version,
            global_cluster_identifier=global_cluster.id,
            database_name="platform",
            master_username=DB_USERNAME,
            master_password=password.result,
            kms_key_id=self.db_key.arn,
            backup_retention_period=db.backup_retention_days,
            db_subnet_group_name=db.subnet_group_name,
            final_snapshot_identifier=f"{name}-primary-final",
            enabled_cloudwatch_logs_exports=["postgresql"],
            skip_final_snapshot=False,
            **cluster_common,
            opts=data,
        )
        primary_instance = aws.rds.ClusterInstance(
            f"{name}-db-primary-1",
            cluster_identifier=primary.id,
            engine=engine,
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            db_subnet_group_name=db.subnet_group_name,
            publicly_accessible=False,
            opts=data,
        )
        return global_cluster, primary, primary_instance

    def _aurora_secondary(
        self,
        name: str,
        args: DisasterRecoveryArgs,
        cluster_common: dict[str, Any],
        global_cluster: Any,
        data_in_dr: pulumi.ResourceOptions,
        *,
        after: pulumi.Resource,
    ) -> Any:
        """The DR-region secondary cluster and its instance; it joins only once the primary has an instance."""
        import pulumi_aws as aws

        db = args.dr.database
        engine = aws.rds.EngineType.AURORA_POSTGRESQL
        secondary = aws.rds.Cluster(
            f"{name}-db-replica",
            engine=engine,
            engine_version=db.engine_version,
            # Leaving the global cluster detaches and promotes the secondary (dr.database.promote).
            global_cluster_identifier=None if db.promote else global_cluster.id,
            kms_key_id=self.db_replica_key.arn,
            backup_retention_period=db.backup_retention_days,
            db_subnet_group_name=db.replica_subnet_group_name,
            skip_final_snapshot=True,  # a secondary cannot take a final snapshot; its data is the primary's
            **cluster_common,
            opts=pulumi.ResourceOptions.merge(data_in_dr, pulumi.ResourceOptions(depends_on=[after])),
        )
        aws.rds.ClusterInstance(
            f"{name}-db-replica-1",
            cluster_identifier=secondary.id,
            engine=engine,
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            db_subnet_group_name=db.replica_subnet_group_name,
            publicly_accessible=False,
            opts=data_in_dr,
        )
        return secondary

    def _controller_outputs(self) -> dict[str, object] | None:
        if self.controller is None:
            return None
        c = self.controller
        return {
            "function_name": c.function.name,
            "writer_parameter": c.parameter.name,
            "lease_table": c.table.name,
            "events_topic_arn": c.topic.arn,
            "auto_promote": pulumi.Output.from_input(self._auto_promote),
        }

    def outputs(self) -> dict[str, object]:
        """The ``dr`` section of the stack outputs (see ``DrOutputs``)."""
        b = self.bounds
        return {
            "region": pulumi.Output.from_input(self._region),
            "dr_bucket": self.dr_bucket_name,
            "record_fqdn": self.record_fqdn,
            "zone_id": self.zone_id,
            "health_check_id": self.health_check_id,
            "primary_db_endpoint": self.primary_db_endpoint,
            "replica_db_endpoint": self.replica_db_endpoint,
            "promotion_command": self.promotion_command,
            "database_kind": pulumi.Output.from_input(self._database_kind),
            "rto_seconds_bound": b.rto_seconds,
            "rpo_seconds_bound": b.rpo_seconds,
            "load_balancer": {
                "hostname": self.record_fqdn,
                "monitor_id": self.edge.monitor.id,
                "pool_ids": {role: pool.id for role, pool in self.edge.pools.items()},
                "proxied": pulumi.Output.from_input(self._proxied),
            },
            "controller": self._controller_outputs(),
            "bounds": {
                "interval_seconds": b.interval_seconds,
                "failure_threshold": b.failure_threshold,
                "detection_seconds": b.detection_seconds,
                "ttl_seconds": b.ttl_seconds,
                "promotion_seconds": b.promotion_seconds,
                "replica_lag_seconds": b.replica_lag_seconds,
                "wal_archive_seconds": b.wal_archive_seconds,
                "backup_copy_rpo_seconds": b.backup_copy_rpo_seconds,
                "rpo_by_destination": {
                    d: {"seconds": r.seconds, "mechanism": r.mechanism} for d, r in (b.rpo_destinations or {}).items()
                },
                "rpo_by_failure": {f: {"seconds": r.seconds, "via": r.via} for f, r in (b.rpo_failures or {}).items()},
            },
        }
