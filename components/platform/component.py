"""The whole platform: providers, then one component per stack-config section, then the outputs contract.

``__main__.py`` only loads config, builds this and exports :attr:`Platform.outputs`. Each domain component
gets its providers through ``opts`` (a mapping keyed by provider package, inherited by its children) and
its settings as typed args; every outputs section is read from the component that owns it, never rebuilt
here from config. Components are created in dependency order, which is also the order the plan lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from components.lib.tagging import standard_tags
from components.platform.config import StackConfig
from components.platform.outputs import CONTRACT_VERSION as OUTPUTS_CONTRACT_VERSION
from components.platform.providers import Providers, build_providers

if TYPE_CHECKING:
    from components.alerting.component import AlertingTopic
    from components.backup.component import BackupStorage
    from components.backup.snapshots import Snapshots
    from components.backup_jobs.component import BackupJobs
    from components.budgets.component import Budgets
    from components.cdn.component import CdnRules
    from components.content_optimizer.component import ContentOptimizer
    from components.database.component import Database
    from components.disaster_recovery.component import DisasterRecovery
    from components.disaster_recovery.warm_standby import StandbySource
    from components.maintenance.component import Maintenance
    from components.monitoring.component import Monitoring
    from components.network.component import NetworkPolicies
    from components.redis.component import RedisCluster
    from components.services.autoscaling import Autoscaling, PrometheusAdapterRules
    from components.services.config import ServiceSettings
    from components.services.workload import Workload
    from components.traffic.component import Traffic


#: Provider packages of the storage clouds; Azure and GCP are skipped where the stack disables them.
CLOUDS = ("aws", "azure-native", "gcp")


class Platform(pulumi.ComponentResource):
    """Everything one stack declares.

    Domain packages are imported inside the method that builds them: a stack that disables a section
    does not pay for its provider SDK's import (pulumi_cloudflare alone costs seconds).
    """

    outputs: dict[str, Any]
    providers: Providers

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:index:Platform", name, None, opts)
        self.config = config
        self.providers = build_providers(config, parent=self)
        self.workloads = self._workloads()
        self.redis = self._redis()
        self.autoscalers, self.adapter_rules = self._autoscaling()
        self.cdn = self._cdn()
        self.backup_storage = self._backup_storage()
        self.backup_jobs = self._backup_jobs()
        self.database = self._database()
        self.disaster_recovery = self._disaster_recovery()  # after the database: its DR standby reuses it
        self.alerting = self._alerting()
        self.optimizer = self._optimizer()
        self.maintenance = self._maintenance()
        self.snapshots = self._snapshots()
        self.monitoring = self._monitoring()  # last of the workloads: it alerts on the others' Jobs and scrapes them
        self.network = self._network()
        self.traffic = self._traffic()
        self.budgets = self._budgets()
        self.outputs = self._outputs()
        self.register_outputs({})

    # --- providers -----------------------------------------------------------------------------------

    def _opts(self, *packages: str, **extra: Any) -> pulumi.ResourceOptions:
        """Options of a domain component: this parent and the named providers (absent ones skipped)."""
        by_package = {
            "aws": self.providers.aws,
            "kubernetes": self.providers.kubernetes,
            "random": self.providers.random,
            "azure-native": self.providers.azure,
            "gcp": self.providers.gcp,
            "cloudflare": self.providers.cloudflare,
        }
        chosen = {package: by_package[package] for package in packages if by_package[package] is not None}
        return pulumi.ResourceOptions(parent=self, providers=chosen, **extra)

    # --- one method per section ------------------------------------------------------------------------

    def _workloads(self) -> dict[str, Workload]:
        from components.services.workload import Workload, WorkloadArgs

        config = self.config
        return {
            service.name: Workload(
                service.name,
                WorkloadArgs(
                    service=service,
                    namespace=config.namespace,
                    autoscaled=True,
                    pod_labels=self._pod_labels(service),
                ),
                opts=self._opts("kubernetes"),
            )
            for service in config.services
        }

    def _pod_labels(self, service: ServiceSettings) -> dict[str, str]:
        """The client labels plus Istio's per-pod sidecar opt-in when the service's traffic objects are rendered."""
        from components.traffic.config import INJECT_LABELS, meshed

        mesh = INJECT_LABELS if meshed(self.config.traffic, service.traffic) else {}
        return {**self._client_labels(service), **mesh}

    def _client_labels(self, service: ServiceSettings) -> dict[str, str]:
        """Labels a provider's own NetworkPolicy admits, for the providers the service uses (Redis's client label)."""
        from components.redis.network import client_pod_labels

        redis = self.config.redis
        labels = client_pod_labels(redis) if redis.enabled and "redis" in service.uses else None
        return labels or {}

    def _redis(self) -> RedisCluster | None:
        from components.redis.component import RedisCluster, RedisClusterArgs

        config = self.config
        if not config.redis.enabled:
            return None
        args = RedisClusterArgs(
            settings=config.redis,
            namespace=config.namespace,
            storage_class=config.cloud.kubernetes.storage_class,
            protect=config.protect,
        )
        # Kubernetes objects and the RandomPassword each get their package's explicit provider.
        return RedisCluster("redis", args, opts=self._opts("kubernetes", "random"))

    def _autoscaling(self) -> tuple[dict[str, Autoscaling], PrometheusAdapterRules]:
        from components.services.autoscaling import (
            Autoscaling,
            AutoscalingArgs,
            PrometheusAdapterRules,
            PrometheusAdapterRulesArgs,
        )

        config = self.config
        # One controller per workload (HPA or KEDA ScaledObject), created after the Deployment it scales.
        autoscalers = {
            service.name: Autoscaling(
                f"{service.name}-autoscaling",
                AutoscalingArgs(service=service, namespace=config.namespace),
                opts=self._opts("kubernetes", depends_on=[self.workloads[service.name]]),
            )
            for service in config.services
        }
        adapter = PrometheusAdapterRules(
            "prometheus-adapter-rules",
            PrometheusAdapterRulesArgs(services=config.services),
            opts=self._opts("kubernetes"),
        )
        return autoscalers, adapter

    def _cdn(self) -> dict[str, CdnRules]:
        from components.cdn.component import CdnRules, CdnRulesArgs

        config = self.config
        if not config.cdn.enabled or self.providers.cloudflare is None:
            return {}
        return {
            zone.name: CdnRules(
                f"cdn-{zone.key}",
                CdnRulesArgs(settings=config.cdn, zone=zone, environment=config.environment),
                opts=self._opts("cloudflare"),
            )
            for zone in config.cdn.zones
        }

    def _backup_storage(self) -> BackupStorage:
        from components.backup.component import BackupStorage, BackupStorageArgs

        config = self.config
        args = BackupStorageArgs(
            backup=config.backup,
            environment=config.environment,
            aws_region=config.cloud.aws.region,
            azure_location=config.cloud.azure.location if config.cloud.azure.enabled else None,
            azure_resource_group_name=config.cloud.azure.resource_group_name,
            azure_subscription_id=config.cloud.azure.subscription_id,
            gcp_project=config.cloud.gcp.project,
            protect=config.protect,
        )
        return BackupStorage("backup", args, opts=self._opts(*CLOUDS))

    def _disaster_recovery(self) -> DisasterRecovery | None:
        from components.disaster_recovery.component import DisasterRecovery, DisasterRecoveryArgs
        from components.disaster_recovery.config import edge_zone

        config = self.config
        if not config.dr.enabled or self.backup_storage.aws is None:
            return None
        zone = edge_zone(config.dr.record_name, [(z.name, z.zone_id, z.plan) for z in config.cdn.zones])
        if zone is None:  # config validation reports it (dr.record_name); never reached with a loaded config
            raise ValueError(f"dr.record_name {config.dr.record_name!r} is in none of cdn.zones")
        args = DisasterRecoveryArgs(
            dr=config.dr,
            backup=config.backup,
            primary_region=config.cloud.aws.region,
            tags=standard_tags(config.tags, config.environment),
            account_id=config.cloud.aws.account_id,
            edge_zone_id=zone[1],
            event_subscriptions=self._alarm_receivers(),
            protect=config.protect,
            backup_jobs=config.backup_jobs,
            namespace=config.namespace,
        )
        # The edge failover (Cloudflare), the controller's webhook secret (random) and the standby's federated
        # identity (Azure, GCP) come through opts too; the DR cluster's provider is the component's own.
        return DisasterRecovery(
            "dr",
            args,
            source=self.backup_storage.aws,
            standby=self._standby_source(),
            opts=self._opts("aws", "cloudflare", "random", "azure-native", "gcp"),
        )

    def _standby_source(self) -> StandbySource | None:
        """What a ``dr.database.kind: postgres_standby`` reuses of the primary side (None when it has none)."""
        from components.disaster_recovery.warm_standby import StandbySource

        config = self.config
        if self.database is None or self.backup_jobs is None or config.backup_jobs is None:
            return None
        return StandbySource(
            database=self.database.args,
            passwords=self.database.passwords,
            jobs=self.backup_jobs.jobs_context,
            storage=self.backup_storage,
            identity=config.backup_jobs.identity,
            gcs_project_number=config.backup.gcs.project_number,
            gcp_project=config.cloud.gcp.project,
            after=[self.backup_jobs],
        )

    def _backup_jobs(self) -> BackupJobs | None:
        from components.backup_jobs.component import BackupJobs, BackupJobsArgs

        config = self.config
        if config.backup_jobs is None:
            return None
        args = BackupJobsArgs(
            settings=config.backup_jobs,
            backup=config.backup,
            namespace=config.namespace,
            aws_region=config.cloud.aws.region,
            gcp_project=config.cloud.gcp.project,
            protect=config.protect,
        )
        opts = self._opts(*CLOUDS, "kubernetes")
        return BackupJobs("backup-jobs", args, storage=self.backup_storage, opts=opts)

    def _alarm_receivers(self) -> tuple[tuple[str, str, str], ...]:
        """(receiver, protocol, endpoint) of the receivers cloud alarms go to (``alerting.route``)."""
        from components.alerting.config import subscriptions

        config = self.config
        if not config.alerting.enabled:
            return ()
        receivers = {r.name: (r.kind, r.to) for r in config.monitoring.receivers}
        routes = {str(severity): names for severity, names in config.monitoring.routes.items()}
        found, _ = subscriptions(config.alerting, receivers, routes)
        return tuple(found)

    def _alerting(self) -> AlertingTopic | None:
        """The SNS topic cloud alarms notify, with the receivers Alertmanager routes ``alerting.route`` to."""
        from components.alerting.component import AlertingTopic, AlertingTopicArgs, Subscription
        from components.alerting.config import subscriptions

        config = self.config
        if not config.alerting.enabled:
            return None
        receivers = {r.name: (r.kind, r.to) for r in config.monitoring.receivers}
        routes = {str(severity): names for severity, names in config.monitoring.routes.items()}
        found, _ = subscriptions(config.alerting, receivers, routes)
        args = AlertingTopicArgs(
            environment=config.environment,
            subscriptions=tuple(Subscription(receiver=r, protocol=p, endpoint=e) for r, p, e in found),
        )
        return AlertingTopic("alerting", args, opts=self._opts("aws"))

    def _optimizer(self) -> ContentOptimizer | None:
        from components.content_optimizer.component import ContentOptimizer, ContentOptimizerArgs

        config = self.config
        if config.optimizer is None:
            return None
        args = ContentOptimizerArgs(
            settings=config.optimizer,
            content_classes=config.cdn.content_classes,
            environment=config.environment,
            region=config.cloud.aws.region,
            namespace=config.namespace,
            protect=config.protect,
        )
        topic = self.alerting.topic_arn if self.alerting is not None else None
        return ContentOptimizer("optimizer", args, alarm_topic_arn=topic, opts=self._opts("aws", "kubernetes"))

    def _database(self) -> Database | None:
        """PostgreSQL and PgBouncer; the backup jobs' pod patch puts ``wal-push`` into the database pods."""
        from components.database.component import Database
        from components.database.config import DatabaseArgs

        config = self.config
        if config.database is None:
            return None
        jobs = config.backup_jobs
        archiving = self.backup_jobs is not None and jobs is not None and jobs.wal_archive.mode == "archive_command"
        args = DatabaseArgs(
            settings=config.database,
            namespace=config.namespace,
            zones=tuple(config.cloud.kubernetes.zones),
            fallback_storage_class=config.cloud.kubernetes.storage_class,
            archive_conf_path=jobs.wal_archive.conf_path if archiving and jobs is not None else None,
            protect=config.protect,
        )
        patch = self.backup_jobs.database_pod_patch() if archiving and self.backup_jobs is not None else None
        deps = [self.backup_jobs] if archiving and self.backup_jobs is not None else []
        return Database("database", args, patch, opts=self._opts("kubernetes", "random", "aws", depends_on=deps))

    def _monitoring(self) -> Monitoring | None:
        from components.monitoring.component import Monitoring, MonitoringArgs

        config = self.config
        if not config.monitoring.enabled:
            return None
        args = MonitoringArgs(
            settings=config.monitoring,
            backup_classes=dict(config.backup.classes),
            namespace=config.namespace,
            **self._monitoring_inputs(),
        )
        return Monitoring("monitoring", args, opts=self._opts("kubernetes"))

    def _monitoring_inputs(self) -> dict[str, Any]:
        """What the other components declare for monitoring: their scrape targets, what batch jobs push to the
        Pushgateway, and the Job names (RE2) each group of CronJobs/Jobs creates (``<cronjob>-<minute>``)."""
        from components.content_optimizer.manifests import NAME as VIDEO_SCALED_JOB
        from components.monitoring.sources import backup_pushed_job

        targets = [t for w in self.workloads.values() for t in w.scrape_targets()]
        targets += self.redis.scrape_targets() if self.redis is not None else []
        targets += self.database.scrape_targets() if self.database is not None else []
        jobs: dict[str, list[str]] = {}
        for cronjob in self.backup_jobs.cronjob_names.values() if self.backup_jobs is not None else ():
            duty = next(
                (d for d in ("verify", "restore-test", "prune") if cronjob.startswith(f"backup-{d}-")), "backup"
            )
            jobs.setdefault(duty, []).append(f"{cronjob}-[0-9]+")
        if self.maintenance is not None:
            jobs["maintenance"] = [f"{c}-[0-9]+" for c in self.maintenance.cronjob_names]
        forecasters = [a.predictive.cronjob_name for a in self.autoscalers.values() if a.predictive is not None]
        jobs["forecaster"] = [f"{c}-[0-9]+" for c in forecasters]
        if self.redis is not None and self.config.redis.mode == "cluster":
            jobs["bootstrap"] = [f"{self.redis.args.name}-bootstrap"]
        optimizer = self.config.optimizer
        if optimizer is not None and optimizer.video.enabled:
            jobs["video"] = [f"{VIDEO_SCALED_JOB}-[a-z0-9]+"]
        return {
            "scrape_targets": tuple(targets),
            "pushed": (backup_pushed_job(),) if self.backup_jobs is not None else (),
            "batch_jobs": {group: tuple(names) for group, names in jobs.items() if names},
            "velero": bool(self.config.backup.velero_namespaces),
            **self._recovery_duties(),
        }

    def _recovery_duties(self) -> dict[str, Any]:
        """The restore drill's pushed series and staleness bound, and the WAL push bound the RPO assumes."""
        from components.monitoring.sources import backup_pushed_job, drill_pushed_job

        jobs = self.config.backup_jobs
        if jobs is None or self.backup_jobs is None:
            return {}
        drill = jobs.drill.enabled
        return {
            "pushed": (backup_pushed_job(), drill_pushed_job()) if drill else (backup_pushed_job(),),
            "drill_max_age_seconds": jobs.drill.max_age_days * 86_400 if drill else None,
            "wal_push_bound_seconds": (
                jobs.wal_archive.push_bound_seconds if jobs.wal_archive.mode == "archive_command" else None
            ),
        }

    def _maintenance(self) -> Maintenance | None:
        from components.maintenance.component import Maintenance, MaintenanceArgs

        config = self.config
        if not (config.maintenance.enabled and config.maintenance.jobs):
            return None
        args = MaintenanceArgs(settings=config.maintenance, namespace=config.namespace)
        return Maintenance("maintenance", args, opts=self._opts("kubernetes"))

    def _snapshots(self) -> Snapshots | None:
        from components.backup.snapshots import Snapshots, SnapshotsArgs

        backup = self.config.backup
        if not backup.velero_namespaces:
            return None
        args = SnapshotsArgs(
            schedule=backup.velero_schedule, ttl_hours=backup.velero_ttl_hours, namespaces=backup.velero_namespaces
        )
        return Snapshots("snapshots", args, opts=self._opts("kubernetes"))

    def _network(self) -> NetworkPolicies | None:
        """Default deny plus one allow per declared edge: services' `uses`, each section's jobs, Redis's pods."""
        from components.network.component import NetworkPolicies, NetworkPoliciesArgs
        from components.network.stack import database_declarations, stack_wiring
        from components.redis.network import network_declarations

        config = self.config
        if config.network.allow_unrestricted_traffic:
            return None
        redis = network_declarations(self.redis.args) if self.redis is not None else None
        database = None
        if self.database is not None:
            jobs = config.backup_jobs
            archiving = self.backup_jobs is not None and jobs is not None and jobs.wal_archive.mode == "archive_command"
            database = database_declarations(self.database.args, archiving)
        args = NetworkPoliciesArgs(wiring=stack_wiring(config, redis, database))
        return NetworkPolicies("network", args, opts=self._opts("kubernetes"))

    def _traffic(self) -> Traffic | None:
        """Istio DestinationRule + VirtualService per service; callers are the services that `use` it."""
        from components.services.workload import SERVICE_PORT
        from components.traffic.component import Traffic
        from components.traffic.config import TrafficArgs, TrafficService

        config = self.config
        if not config.traffic.enabled:
            return None
        services = tuple(
            TrafficService(
                name=s.name,
                port=SERVICE_PORT,
                traffic=s.traffic,
                callers=tuple(c.name for c in config.services if s.name in c.uses),
            )
            for s in config.services
        )
        args = TrafficArgs(settings=config.traffic, namespace=config.namespace, services=services)
        return Traffic("traffic", args, opts=self._opts("kubernetes", depends_on=list(self.workloads.values())))

    def _budgets(self) -> Budgets | None:
        from components.budgets.component import Budgets, BudgetsArgs

        config = self.config
        if not config.budgets.enabled:
            return None
        args = BudgetsArgs(
            settings=config.budgets,
            environment=config.environment,
            azure=self.providers.azure is not None,
            azure_subscription_id=config.cloud.azure.subscription_id,
            gcp=self.providers.gcp is not None,
        )
        return Budgets("budgets", args, opts=self._opts(*CLOUDS))

    # --- the outputs contract --------------------------------------------------------------------------

    def _outputs(self) -> dict[str, Any]:
        """Assemble the contract from each component's own section; disabled sections are absent."""
        config = self.config
        outputs: dict[str, Any] = {
            "contract_version": OUTPUTS_CONTRACT_VERSION,
            "environment": config.environment,
            "namespace": config.namespace,
            "services": {
                name: {**workload.outputs(), "autoscaler": self.autoscalers[name].controller()}
                for name, workload in self.workloads.items()
            },
            "autoscaling": {
                "services": {name: autoscaler.summary() for name, autoscaler in self.autoscalers.items()},
                "prometheus_adapter_configmap": self.adapter_rules.configmap_ref,
            },
        }
        if self.cdn:
            from components.cdn.component import cdn_outputs

            outputs["cdn"] = cdn_outputs(config.cdn, self.cdn)
        sections: dict[str, Any] = {
            "redis": self.redis,
            "monitoring": self.monitoring,
            "maintenance": self.maintenance,
            "snapshots": self.snapshots,
            "budgets": self.budgets,
            "backup": self.backup_storage,
            "dr": self.disaster_recovery,
            "backup_jobs": self.backup_jobs,
            "database": self.database,
            "optimizer": self.optimizer,
        }
        outputs.update({key: component.outputs() for key, component in sections.items() if component is not None})
        return outputs
