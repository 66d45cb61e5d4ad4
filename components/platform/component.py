"""The whole platform: providers, then every domain component, then the outputs contract.

``__main__.py`` only loads config, builds this and exports :attr:`Platform.outputs`. Each domain component
gets its providers through ``opts`` and its settings as typed args; nothing here knows resource details.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.platform.config import StackConfig
from components.platform.outputs import CONTRACT_VERSION as OUTPUTS_CONTRACT_VERSION
from components.platform.providers import Providers, build_providers
from components.services.workload import Workload, WorkloadArgs


class Platform(pulumi.ComponentResource):
    """Everything one stack declares."""

    outputs: dict[str, Any]
    providers: Providers

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:index:Platform", name, None, opts)
        self.config = config
        self.providers = build_providers(config, parent=self)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.providers.kubernetes)

        self.workloads: dict[str, Workload] = {}
        for service in config.services:
            self.workloads[service.name] = Workload(
                service.name,
                WorkloadArgs(service=service, namespace=config.namespace, autoscaled=True),
                opts=k8s_opts,
            )

        # --- domain components: each block owned by its issue; keep the markers. ---
        # [redis] (issue 3)
        from components.redis.component import RedisCluster
        from components.redis.config import RedisClusterArgs

        self.redis: RedisCluster | None = None
        if config.redis.enabled:
            self.redis = RedisCluster(
                "redis",
                RedisClusterArgs(
                    settings=config.redis,
                    namespace=config.namespace,
                    storage_class=config.cloud.kubernetes.storage_class,
                    protect=config.protect,
                ),
                # Kubernetes objects and the RandomPassword each get their package's explicit provider.
                opts=pulumi.ResourceOptions(parent=self, providers=[self.providers.kubernetes, self.providers.random]),
            )
        # [autoscaling] (issue 4)
        from components.services.autoscaling import (
            Autoscaling,
            AutoscalingArgs,
            PrometheusAdapterRules,
            PrometheusAdapterRulesArgs,
        )

        self.autoscalers: dict[str, Autoscaling] = {}
        for service in config.services:
            # One controller per workload (HPA or KEDA ScaledObject), created after the Deployment it scales.
            self.autoscalers[service.name] = Autoscaling(
                f"{service.name}-autoscaling",
                AutoscalingArgs(service=service, namespace=config.namespace),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=self.providers.kubernetes, depends_on=[self.workloads[service.name]]
                ),
            )
        self.adapter_rules = PrometheusAdapterRules(
            "prometheus-adapter-rules", PrometheusAdapterRulesArgs(services=config.services), opts=k8s_opts
        )
        # [cdn] (issue 5)
        from components.cdn.component import CdnRules, CdnRulesArgs, cdn_outputs

        self.cdn: dict[str, CdnRules] = {}
        if config.cdn.enabled and self.providers.cloudflare is not None:
            cf_opts = pulumi.ResourceOptions(parent=self, provider=self.providers.cloudflare)
            for zone in config.cdn.zones:
                self.cdn[zone.name] = CdnRules(
                    f"cdn-{zone.key}",
                    CdnRulesArgs(settings=config.cdn, zone=zone, environment=config.environment),
                    opts=cf_opts,
                )
        # [backup-storage, disaster-recovery] (issue 6)
        from components.backup.component import BackupStorage, BackupStorageArgs
        from components.disaster_recovery.component import DisasterRecovery, DisasterRecoveryArgs

        cloud_providers = {"aws": self.providers.aws}
        if self.providers.azure is not None:
            cloud_providers["azure-native"] = self.providers.azure
        if self.providers.gcp is not None:
            cloud_providers["gcp"] = self.providers.gcp
        self.backup_storage = BackupStorage(
            "backup",
            BackupStorageArgs(
                backup=config.backup,
                environment=config.environment,
                aws_region=config.cloud.aws.region,
                azure_location=config.cloud.azure.location if config.cloud.azure.enabled else None,
                azure_resource_group_name=config.cloud.azure.resource_group_name,
                azure_subscription_id=config.cloud.azure.subscription_id,
                gcp_project=config.cloud.gcp.project,
                protect=config.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=cloud_providers),
        )
        self.disaster_recovery: DisasterRecovery | None = None
        if config.dr.enabled and self.providers.aws_dr is not None and self.backup_storage.aws is not None:
            self.disaster_recovery = DisasterRecovery(
                "dr",
                DisasterRecoveryArgs(
                    dr=config.dr, backup=config.backup, primary_region=config.cloud.aws.region, protect=config.protect
                ),
                source=self.backup_storage.aws,
                dr_provider=self.providers.aws_dr,
                opts=pulumi.ResourceOptions(parent=self, provider=self.providers.aws),
            )
        # [backup-jobs] (issue 7)
        self.backup_jobs = None
        if config.backup_jobs is not None:
            from components.backup_jobs.component import BackupJobs, BackupJobsArgs

            self.backup_jobs = BackupJobs(
                "backup-jobs",
                BackupJobsArgs(
                    settings=config.backup_jobs,
                    backup=config.backup,
                    namespace=config.namespace,
                    aws_region=config.cloud.aws.region,
                    gcp_project=config.cloud.gcp.project,
                    protect=config.protect,
                ),
                storage=self.backup_storage,
                opts=pulumi.ResourceOptions(
                    parent=self, providers={**cloud_providers, "kubernetes": self.providers.kubernetes}
                ),
            )
        # [content-optimizer] (issue 8)
        from components.content_optimizer.component import ContentOptimizer, ContentOptimizerArgs

        self.optimizer: ContentOptimizer | None = None
        if config.optimizer is not None:
            self.optimizer = ContentOptimizer(
                "optimizer",
                ContentOptimizerArgs(
                    settings=config.optimizer,
                    content_classes=config.cdn.content_classes,
                    environment=config.environment,
                    region=config.cloud.aws.region,
                    namespace=config.namespace,
                    protect=config.protect,
                ),
                k8s_provider=self.providers.kubernetes,
                opts=pulumi.ResourceOptions(parent=self, provider=self.providers.aws),
            )
        # [monitoring, maintenance, snapshots, budgets] (issue 10)
        from components.platform.operations import build_operations

        self.operations = build_operations(config, self.providers, parent=self)

        self.outputs = {
            "contract_version": OUTPUTS_CONTRACT_VERSION,
            "environment": config.environment,
            "namespace": config.namespace,
            "services": {
                name: {
                    "dns": workload.service_dns,
                    "port": 80,
                    "autoscaler": "keda" if svc.scaling.uses_keda else "hpa",
                }
                for (name, workload), svc in zip(self.workloads.items(), config.services, strict=True)
            },
            "autoscaling": {
                "services": {name: autoscaler.summary() for name, autoscaler in self.autoscalers.items()},
                "prometheus_adapter_configmap": self.adapter_rules.configmap_ref,
            },
        }
        if self.cdn:
            self.outputs["cdn"] = cdn_outputs(config.cdn, self.cdn)
        if self.redis is not None:
            self.outputs["redis"] = self.redis.outputs  # issue 3
        self.outputs.update(self.operations.outputs())  # monitoring, maintenance, snapshots, budgets (issue 10)
        self.outputs["backup"] = self.backup_storage.outputs()  # issue 6
        if self.disaster_recovery is not None:
            self.outputs["dr"] = self.disaster_recovery.outputs()
        if self.backup_jobs is not None:
            self.outputs["backup_jobs"] = self.backup_jobs.outputs()  # issue 7
        if self.optimizer is not None:
            self.outputs["optimizer"] = self.optimizer.outputs()  # issue 8
        self.register_outputs({})
