"""The stack-outputs contract other teams read through ``pulumi.StackReference``.

The contract is these pydantic models; ``schema/stack-outputs.v1.json`` is generated from them
(``python -m offline.schema``) and a test keeps the file in sync and validates both stacks' outputs
against it. Secret outputs carry ``x-pulumi-secret: true`` in the schema: a consumer must read them with
``get_output``/``require_output`` (they stay secret) and the plan shows them as ``"[secret]"``.

Compatibility rule: adding an optional section or field is a minor change (same major version); renaming,
removing or retyping a field is a breaking change and needs ``stack-outputs.v2.json``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTRACT_VERSION = "1"


def secret_field(description: str) -> Any:
    """A field whose value is a Pulumi secret (redacted as "[secret]" in the offline plan)."""
    return Field(description=description, json_schema_extra={"x-pulumi-secret": True})


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceOutputs(Contract):
    dns: str = Field(description="In-cluster DNS name of the Service.")
    port: int = Field(description="Service port.")
    autoscaler: Literal["hpa", "keda"] = Field(description="Which controller owns the replica count.")


class AutoscalerOutputs(Contract):
    kind: Literal["HorizontalPodAutoscaler", "ScaledObject"] = Field(
        description="The one controller of the workload: an autoscaling/v2 HPA, or a KEDA ScaledObject (which "
        "creates the HPA `keda-hpa-<name>` itself)."
    )
    name: str = Field(description="Name of the HPA or ScaledObject in the stack namespace.")
    min_replicas: int = Field(description="Replica floor.")
    max_replicas: int = Field(description="Replica ceiling.")
    schedules: dict[str, int] = Field(
        description="Peak window name -> absolute replicas its cron trigger sets (ceil(baseline x factor), "
        "clamped); empty without windows."
    )
    forecaster_cronjob: str | None = Field(description="Predictive scaler CronJob, or null without prediction.")
    forecast_configmap: str | None = Field(
        description="ConfigMap the forecaster publishes `data.replicas` to (read by KEDA), or null."
    )


class AutoscalingOutputs(Contract):
    services: dict[str, AutoscalerOutputs] = Field(description="Per service: its autoscaler.")
    prometheus_adapter_configmap: str | None = Field(
        description="`namespace/name` of the prometheus-adapter rules ConfigMap serving the HPAs' request-rate "
        "metric, or null when no HPA needs one."
    )


class CdnRulesetIds(Contract):
    http_request_cache_settings: str = Field(description="Id of the zone's cache rules entry-point ruleset.")
    http_response_headers_transform: str = Field(description="Id of the response header transform ruleset.")
    http_response_compression: str = Field(description="Id of the compression rules ruleset.")
    http_ratelimit: str = Field(description="Id of the rate limiting rules ruleset.")


class CdnZoneOutputs(Contract):
    zone_id: str = Field(description="Cloudflare zone id (what CI's cache purge calls need).")
    plan: Literal["free", "pro", "business", "enterprise"] = Field(description="The zone's configured plan.")
    rulesets: CdnRulesetIds = Field(description="Entry-point ruleset id per phase (exactly one each).")


class CdnOutputs(Contract):
    zones: dict[str, CdnZoneOutputs] = Field(description="Per zone name: zone id, plan and ruleset ids.")
    purge_token_name: str = Field(
        description="Name of the CI secret holding a cache-purge token (the name only; purge on deploy is CI's job)."
    )


class MonitoringOutputs(Contract):
    release_label: str = Field(description="`release` label on the PrometheusRules (kube-prometheus-stack selector).")
    prometheus_rules: list[str] = Field(description="PrometheusRule names in the stack namespace (one per group).")
    alerts: list[str] = Field(description="Alert names the rules define.")
    dashboards: list[str] = Field(description="Grafana dashboard ConfigMap names (label grafana_dashboard=1).")
    alertmanager_config: str = Field(description="AlertmanagerConfig name routing alerts by severity.")


class MaintenanceOutputs(Contract):
    cronjobs: dict[str, str] = Field(description="Maintenance CronJob name -> cron schedule (in its timeZone).")


class SnapshotsOutputs(Contract):
    schedule: str = Field(description="`namespace/name` of the Velero Schedule for application state.")
    cron: str = Field(description="When it runs.")
    ttl: str = Field(description="How long each backup is kept (Go duration, e.g. 168h0m0s).")


class BudgetsOutputs(Contract):
    monthly_limit_usd: float = Field(description="Monthly cost budget in USD.")
    budgets: dict[str, str] = Field(description="Cloud (aws, azure, gcp) -> budget name, for the clouds enabled.")


class BackupAwsOutputs(Contract):
    bucket: str = Field(description="S3 vault bucket (object lock, SSE-KMS, versioned).")
    bucket_arn: str = Field(description="ARN of the vault bucket.")
    kms_key_arn: str = Field(description="Customer-managed KMS key of the vault.")
    log_bucket: str = Field(description="Bucket receiving the vault's S3 server access logs.")
    writer_role_arn: str = Field(description="IAM role the backup jobs assume (put/read, bounded locks, no delete).")
    uris: dict[str, str] = Field(description="Data class -> backup CLI target URI (the CLI adds `<class>/`).")


class BackupAzureOutputs(Contract):
    account: str = Field(description="Storage account name (RA-GZRS/GRS, shared keys off).")
    blob_endpoint: str = Field(description="Blob service endpoint of the account.")
    containers: dict[str, str] = Field(description="Data class -> container (version-level immutability).")
    writer_client_id: str = Field(description="Client id of the writer managed identity.")
    uris: dict[str, str] = Field(description="Data class -> backup CLI target URI (`azblob://<container>`).")


class BackupGcsOutputs(Contract):
    buckets: dict[str, str] = Field(description="Data class -> bucket (retention policy = class lock).")
    kms_key: str = Field(description="CMEK key id of the buckets.")
    writer_email: str = Field(description="Service account the backup jobs use (create/read only).")
    uris: dict[str, str] = Field(description="Data class -> backup CLI target URI (`gs://<bucket>`).")


class BackupOutputs(Contract):
    aws: BackupAwsOutputs | None = Field(default=None, description="S3 vault; absent when disabled.")
    azure: BackupAzureOutputs | None = Field(default=None, description="Azure Blob vault; absent when disabled.")
    gcs: BackupGcsOutputs | None = Field(default=None, description="GCS vault; absent when disabled.")


class DrRpoOutputs(Contract):
    seconds: int | None = Field(description="Committed data the copy can miss; null: no declared mechanism bounds it.")
    mechanism: str = Field(description="What bounds it (or why nothing does).")


class DrFailureRpoOutputs(Contract):
    seconds: int | None = Field(
        description="Data lost recovering from the freshest surviving copy; null: none survives."
    )
    via: str | None = Field(description="That copy (s3, azure_blob, gcs, dr_replica, s3_dr_copy).")


class DrBoundsOutputs(Contract):
    detection_seconds: int = Field(description="Health-check interval x failure threshold.")
    ttl_seconds: int = Field(description="DNS TTL term of the RTO: 0 when Cloudflare proxies the hostname.")
    promotion_seconds: int = Field(description="The failover controller's promotion budget.")
    replica_lag_seconds: int = Field(description="Alerted bound on replica lag.")
    wal_archive_seconds: int = Field(description="WAL archive_timeout.")
    backup_copy_rpo_seconds: int | None = Field(
        description="RPO of the DR copy of the backups (WAL archive + S3 RTC 15 min); null without RTC."
    )
    interval_seconds: int | None = Field(
        default=None, description="Probe interval of the edge monitor and the failover controller."
    )
    failure_threshold: int | None = Field(
        default=None, description="Failed probes in a row before the primary counts as down (both detectors)."
    )
    rpo_by_destination: dict[str, DrRpoOutputs] | None = Field(
        default=None,
        description="RPO of each copy (s3, azure_blob, gcs, dr_replica) from the WAL mechanism the plan declares "
        "(archive_command: archive_timeout + wal-push bound); seconds null where no declared mechanism copies the live "
        "database there.",
    )
    rpo_by_failure: dict[str, DrFailureRpoOutputs] | None = Field(
        default=None,
        description="RPO per failure (region_loss, cloud_loss, corruption): the freshest copy that survives it.",
    )


class DrLoadBalancerOutputs(Contract):
    hostname: str = Field(description="Load-balanced hostname (Cloudflare, primary pool then DR pool).")
    monitor_id: str = Field(description="Cloudflare monitor probing both pools.")
    pool_ids: dict[str, str] = Field(description="Pool role (primary, dr) -> Cloudflare pool id.")
    proxied: bool = Field(description="Proxied: the edge switches pools; clients never re-resolve.")


class DrControllerOutputs(Contract):
    function_name: str = Field(description="Lambda function of the failover controller (DR region).")
    writer_parameter: str = Field(description="SSM parameter (DR region) holding the database writer host:port.")
    lease_table: str = Field(description="DynamoDB table of the promotion lease and the failover record.")
    events_topic_arn: str = Field(description="SNS topic receiving the controller's events.")
    auto_promote: bool = Field(description="Whether the controller promotes without `failover --confirm`.")


class DrOutputs(Contract):
    region: str = Field(description="DR AWS region.")
    dr_bucket: str = Field(description="Object-locked replica of the S3 vault in the DR region.")
    record_fqdn: str = Field(description="Failover hostname (Cloudflare load balancer).")
    zone_id: str = Field(description="Cloudflare zone serving the failover hostname.")
    health_check_id: str = Field(description="Cloudflare monitor probing the primary and DR origins.")
    primary_db_endpoint: str = Field(
        description="Primary database endpoint (primary region): the RDS address, or with a warm standby "
        "dr.database.primary_endpoint (host:port of the primary's -rw Service as the DR side reaches it)."
    )
    replica_db_endpoint: str = Field(
        description="DR database endpoint (DR region): the RDS replica's address, or the warm standby's "
        "dr.database.standby_endpoint (host:port), the writer once promoted."
    )
    promotion_command: str = Field(
        description="Runbook command that promotes the DR database by hand: the RDS/Aurora CLI call (= "
        "`dr.database.promote: true`), or for a warm standby the controller's confirmed failover."
    )
    database_kind: Literal["rds_replica", "aurora_global", "postgres_standby"] | None = Field(
        default=None,
        description="What the DR database is (dr.database.kind): postgres_standby promotes with pg_promote and "
        "loses no archived WAL; absent from stacks published before it was exported.",
    )
    rto_seconds_bound: int = Field(description="Detection + TTL + promotion, from the declared settings.")
    rpo_seconds_bound: int = Field(
        description="The worst RPO over bounds.rpo_by_failure (older stacks: max(replica lag bound, WAL archive timeout))."
    )
    bounds: DrBoundsOutputs = Field(description="The terms of both bounds.")
    load_balancer: DrLoadBalancerOutputs | None = Field(default=None, description="Edge failover (Cloudflare).")
    controller: DrControllerOutputs | None = Field(
        default=None, description="Failover controller; absent when dr.controller.enabled is false."
    )


class RedisOutputs(Contract):
    mode: Literal["cluster", "sentinel"] = Field(description="cluster: sharded Redis Cluster; sentinel: one master.")
    endpoint: str = Field(description="Client Service DNS name (a cluster client's seed; in sentinel mode all pods).")
    port: int = Field(description="Redis port.")
    node_endpoints: list[str] = Field(description="Every data pod's stable host:port (cluster seed list).")
    sentinel_endpoint: str | None = Field(description="Sentinel Service DNS name (sentinel mode), else null.")
    sentinel_port: int | None = Field(description="Sentinel port (sentinel mode), else null.")
    master_set: str | None = Field(description="Sentinel master-set name (sentinel mode), else null.")
    secret_name: str = Field(description="Secret holding the password (mount it; do not copy the value).")
    secret_key: str = Field(description="Key of the password in that Secret.")
    password: str = secret_field("The Redis password (requirepass = masterauth); read it as a secret output.")


class BackupJobsOutputs(Contract):
    cronjobs: dict[str, str] = Field(
        description="Role -> CronJob name: backup-<class> (db, chain, state), backup-db-base (PITR base, with WAL "
        "archiving), verify-<class>, prune-<class>, restore-test-<class>."
    )
    service_accounts: list[str] = Field(
        description="ServiceAccounts bound to the vault writer identities: backup-jobs (the CronJobs) and, with "
        "WAL archiving, backup-wal-archiver (for the database pod)."
    )
    wal_archive_configmap: str | None = Field(
        description="ConfigMap with the postgresql.conf archive fragment and the database pod patch; null unless "
        "backup_jobs.wal_archive.mode is archive_command."
    )
    irsa_role_arn: str | None = Field(description="IAM role the jobs assume (IRSA); null without the S3 vault.")
    wrap_key_arn: str | None = Field(
        description="KMS key created to wrap backup data keys; null when an existing key or a key-file Secret is used."
    )


class OptimizerOutputs(Contract):
    upload_bucket: str = Field(description="S3 bucket clients upload originals to (under upload_prefix).")
    upload_prefix: str = Field(description="Key prefix whose uploads are optimized ('' = the whole bucket).")
    optimized_bucket: str = Field(description="S3 bucket holding the optimized outputs: the CDN origin.")
    optimized_bucket_domain: str = Field(description="Regional domain name of the optimized bucket (origin host).")
    function_name: str = Field(description="Lambda function optimizing images and text.")
    function_arn: str = Field(description="ARN of that function.")
    function_archive: str = Field(
        description="Deployment zip the function is built from (relative to the project; `make lambda` builds it)."
    )
    dlq_url: str = Field(description="SQS dead-letter queue of failed Lambda events and undeliverable video jobs.")
    video_queue_url: str | None = Field(
        description="SQS queue of video uploads consumed by the KEDA-scaled Jobs; null when the video worker is off."
    )
    origin_read_policy_arn: str = Field(
        description="IAM policy granting read of the optimized bucket, for the CDN's origin signer to attach."
    )


class DatabaseEndpoint(Contract):
    host: str = Field(description="In-cluster DNS name of the Service.")
    port: int = Field(description="Service port.")


class DatabaseOutputs(Contract):
    engine: str = Field(default="postgresql-15", description="Database engine and major version.")
    writer: DatabaseEndpoint = Field(description="The primary (`<name>-rw` Service): writes; direct sessions.")
    reader: DatabaseEndpoint = Field(
        description="Streaming read replicas (`<name>-ro` Service); the writer when no replica is declared."
    )
    pooler: DatabaseEndpoint | None = Field(
        default=None, description="PgBouncer (`<name>-pooler` Service): what services connect to; null without it."
    )
    databases: list[str] = Field(description="Application databases.")
    user: str = Field(default="app", description="Application role.")
    credentials_secret: str = Field(description="Secret with the passwords and the pooled URI (mount it; never copy).")
    uri_key: str = Field(default="uri", description="Key of the pooled connection URI (TLS required) in that Secret.")
    password_key: str = Field(default="app-password", description="Key of the application role's password.")
    replicas: int = Field(default=0, description="Read replicas behind the reader endpoint.")
    tls_required: bool = Field(default=True, description="TCP sessions must use TLS (pg_hba hostssl only).")
    pool_mode: Literal["transaction", "session"] | None = Field(
        default=None, description="PgBouncer pool mode (transaction: no session state across transactions)."
    )


class StackOutputs(Contract):
    """Every output the stack exports. Sections of disabled features are absent."""

    contract_version: Literal["1"] = Field(description="Major version of this contract.")
    environment: Literal["dev", "staging", "prod"] = Field(description="Environment tier.")
    namespace: str = Field(description="Kubernetes namespace of the workloads.")
    services: dict[str, ServiceOutputs] = Field(description="Per service: DNS, port and autoscaler kind.")
    redis: RedisOutputs | None = Field(
        default=None, description="Redis cache tier: endpoints, port, Secret, mode; absent when off."
    )
    autoscaling: AutoscalingOutputs | None = Field(
        default=None, description="Autoscalers per service; absent when no autoscaling is declared."
    )
    cdn: CdnOutputs | None = Field(
        default=None, description="Cloudflare zones, ruleset ids and purge token name; absent when off."
    )
    monitoring: MonitoringOutputs | None = Field(
        default=None, description="Alert rules, dashboards and routing; absent when monitoring is off."
    )
    maintenance: MaintenanceOutputs | None = Field(
        default=None, description="Maintenance CronJobs; absent when maintenance is off."
    )
    snapshots: SnapshotsOutputs | None = Field(default=None, description="Velero application-state Schedule.")
    budgets: BudgetsOutputs | None = Field(
        default=None, description="Monthly cost budgets per cloud; absent when budgets are off."
    )
    backup: BackupOutputs | None = Field(
        default=None, description="Backup vaults per cloud: names, URIs per data class, writer identities."
    )
    dr: DrOutputs | None = Field(
        default=None, description="DR region: replica bucket, failover DNS, database endpoints, RTO/RPO bounds."
    )
    backup_jobs: BackupJobsOutputs | None = Field(
        default=None, description="Backup CronJob names per role and their service accounts; absent when off."
    )
    optimizer: OptimizerOutputs | None = Field(
        default=None, description="Content optimizer buckets, function, queues; absent when not configured."
    )
    database: DatabaseOutputs | None = Field(
        default=None, description="PostgreSQL writer, reader and pooler endpoints and the credentials Secret."
    )


def json_schema() -> dict[str, Any]:
    schema = StackOutputs.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "stack-outputs.v1.json"
    schema["title"] = "Platform stack outputs, contract v1"
    return schema
