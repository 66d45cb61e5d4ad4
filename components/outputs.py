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


class StackOutputs(Contract):
    """Every output the stack exports. Sections of disabled features are absent."""

    contract_version: Literal["1"] = Field(description="Major version of this contract.")
    environment: Literal["dev", "staging", "prod"] = Field(description="Environment tier.")
    namespace: str = Field(description="Kubernetes namespace of the workloads.")
    services: dict[str, ServiceOutputs] = Field(description="Per service: DNS, port and autoscaler kind.")
    autoscaling: AutoscalingOutputs | None = Field(
        default=None, description="Autoscalers per service (issue 4); absent when no autoscaling is declared."
    )
    monitoring: MonitoringOutputs | None = Field(
        default=None, description="Alert rules, dashboards and routing (issue 10); absent when monitoring is off."
    )
    maintenance: MaintenanceOutputs | None = Field(
        default=None, description="Maintenance CronJobs (issue 10); absent when maintenance is off."
    )
    snapshots: SnapshotsOutputs | None = Field(
        default=None, description="Velero application-state Schedule (issue 10)."
    )
    budgets: BudgetsOutputs | None = Field(
        default=None, description="Monthly cost budgets per cloud (issue 10); absent when budgets are off."
    )
    cdn: CdnOutputs | None = Field(
        default=None, description="Cloudflare zones, ruleset ids and purge token name (issue 5); absent when off."
    )
    # Sections added by the domain components (each model lives next to its component):
    # redis (issue 3), autoscaling (issue 4), cdn (issue 5), backup + dr (issue 6), backup_jobs (issue 7),
    # optimizer (issue 8), monitoring (issue 10).


def json_schema() -> dict[str, Any]:
    schema = StackOutputs.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "stack-outputs.v1.json"
    schema["title"] = "Platform stack outputs, contract v1"
    return schema
