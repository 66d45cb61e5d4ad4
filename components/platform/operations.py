"""Wires the day-2 operations components (issue 10) into the platform: monitoring, maintenance, Velero
snapshots and cost budgets, each with its own providers, and their section of the stack outputs.

Kept out of ``platform.py`` so that file only holds one call per domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.backup.snapshots import Snapshots, SnapshotsArgs, go_duration
from components.budgets.component import Budgets, BudgetsArgs
from components.maintenance.component import Maintenance, MaintenanceArgs
from components.monitoring.component import Monitoring, MonitoringArgs
from components.platform.config import StackConfig
from components.platform.providers import Providers


@dataclass
class Operations:
    config: StackConfig
    monitoring: Monitoring | None
    maintenance: Maintenance | None
    snapshots: Snapshots | None
    budgets: Budgets | None

    def outputs(self) -> dict[str, Any]:
        """The outputs sections of the enabled parts (disabled ones are absent, not null)."""
        found: dict[str, Any] = {}
        config = self.config
        if self.monitoring:
            found["monitoring"] = {
                "release_label": config.monitoring.release_label,
                "prometheus_rules": self.monitoring.rule_names,
                "alerts": self.monitoring.alert_names,
                "dashboards": self.monitoring.dashboard_names,
                "alertmanager_config": self.monitoring.routing_name,
            }
        if self.maintenance:
            found["maintenance"] = {
                "cronjobs": {f"maintenance-{job.name}": job.schedule for job in config.maintenance.jobs}
            }
        if self.snapshots:
            found["snapshots"] = {
                "schedule": f"velero/{self.snapshots.schedule_name}",
                "cron": config.backup.velero_schedule,
                "ttl": go_duration(config.backup.velero_ttl_hours),
            }
        if self.budgets:
            found["budgets"] = {"monthly_limit_usd": config.budgets.monthly_limit_usd, "budgets": self.budgets.names}
        return found


def build_operations(config: StackConfig, providers: Providers, parent: pulumi.Resource) -> Operations:
    k8s_opts = pulumi.ResourceOptions(parent=parent, provider=providers.kubernetes)
    monitoring = None
    if config.monitoring.enabled:
        monitoring = Monitoring(
            "monitoring",
            MonitoringArgs(
                settings=config.monitoring,
                backup_classes=dict(config.backup.classes),
                namespace=config.namespace,
            ),
            opts=k8s_opts,
        )
    maintenance = None
    if config.maintenance.enabled and config.maintenance.jobs:
        maintenance = Maintenance(
            "maintenance", MaintenanceArgs(settings=config.maintenance, namespace=config.namespace), opts=k8s_opts
        )
    snapshots = None
    if config.backup.velero_namespaces:
        snapshots = Snapshots(
            "snapshots",
            SnapshotsArgs(
                schedule=config.backup.velero_schedule,
                ttl_hours=config.backup.velero_ttl_hours,
                namespaces=config.backup.velero_namespaces,
            ),
            opts=k8s_opts,
        )
    budgets = None
    if config.budgets.enabled:
        cloud_providers = {"aws": providers.aws}
        if providers.azure is not None:
            cloud_providers["azure-native"] = providers.azure
        if providers.gcp is not None:
            cloud_providers["gcp"] = providers.gcp
        budgets = Budgets(
            "budgets",
            BudgetsArgs(
                settings=config.budgets,
                environment=config.environment,
                azure=providers.azure is not None,
                azure_subscription_id=config.cloud.azure.subscription_id,
                gcp=providers.gcp is not None,
            ),
            opts=pulumi.ResourceOptions(parent=parent, providers=cloud_providers),
        )
    return Operations(config, monitoring, maintenance, snapshots, budgets)
