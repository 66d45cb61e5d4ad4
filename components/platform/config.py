"""Typed stack configuration: the one way stack YAML becomes component arguments.

The stack files (``Pulumi.<stack>.yaml``) hold structured values under the project namespace
(``platform:services``, ``platform:redis``, ...). They are validated here, with pydantic, before any
resource is declared, so a user mistake produces one message per problem naming its YAML path
(``services[2].scaling.max_replicas: 3 is below min_replicas 5``) rather than a half-built plan or a
traceback. The same loader serves ``pulumi up`` (through :func:`load_from_pulumi`), the offline plan and
the functions' CLIs (through :func:`load_stack_file`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from components.alerting.config import AlertingSettings, alerting_problems
from components.backup.config import BackupSettings
from components.backup_jobs.config import BackupJobsField
from components.budgets.config import BudgetSettings, split_problems
from components.cdn.config import CdnSettings
from components.content_optimizer.config import OptimizerSettings
from components.database.config import DatabaseSettings, database_problems
from components.disaster_recovery.config import (
    DrSettings,
    edge_problems,
    recovery_target_problems,
    standby_problems,
)
from components.lib.settings import PROBLEM_SEPARATOR, DnsLabel, Settings, raise_problems
from components.maintenance.config import MaintenanceSettings
from components.monitoring.config import MonitoringSettings
from components.network.config import NetworkSettings
from components.network.stack import wiring_problems
from components.platform.cloud import CloudSettings
from components.redis.config import RedisSettings
from components.services.config import ServiceSettings
from components.traffic.config import TrafficSettings

PROJECT = "platform"
"""Pulumi project name; also the stack-config namespace (``platform:<key>``)."""

REQUIRED_TAGS = ("owner", "cost-center")
_TAG_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_TAG_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


class StackConfig(Settings):
    """The whole stack. Top-level keys map 1:1 to ``platform:<key>`` entries in the stack file."""

    environment: Literal["dev", "staging", "prod"] = Field(
        description="Environment tier; prod turns on resource protection and stricter policies."
    )
    namespace: DnsLabel = Field(default="platform", description="Kubernetes namespace for every workload.")
    tags: dict[str, str] = Field(
        description="Tags/labels on every taggable resource; `owner` and `cost-center` are required. Keys and values "
        "use GCP's label alphabet (lowercase, digits, '-', '_') so one set works on every cloud."
    )
    protect_data: bool | None = Field(
        default=None, description="Protect data-holding resources from deletion; None means: only in prod."
    )
    cloud: CloudSettings = Field(default_factory=CloudSettings, description="Providers: regions, projects, cluster.")
    services: tuple[ServiceSettings, ...] = Field(min_length=1, description="The web platform's workloads.")
    redis: RedisSettings = Field(default_factory=RedisSettings, description="Redis cache tier.")
    cdn: CdnSettings = Field(default_factory=CdnSettings, description="Cloudflare CDN rules.")
    backup: BackupSettings = Field(default_factory=BackupSettings, description="Backup vaults and schedules.")
    dr: DrSettings = Field(default_factory=DrSettings, description="Disaster-recovery region.")
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings, description="Alerts and routing.")
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings, description="Maintenance CronJobs.")
    budgets: BudgetSettings = Field(default_factory=BudgetSettings, description="Cost budgets.")
    backup_jobs: BackupJobsField = Field(default=None, description="Backup CronJobs; absent: none.")
    optimizer: OptimizerSettings | None = Field(default=None, description="Content optimizer; absent: none.")
    network: NetworkSettings = Field(
        default_factory=NetworkSettings, description="NetworkPolicies from declared uses; endpoints outside the plan."
    )
    database: DatabaseSettings | None = Field(
        default=None, description="Self-managed PostgreSQL 15 and the PgBouncer pooler; absent: none."
    )
    alerting: AlertingSettings = Field(
        default_factory=AlertingSettings, description="SNS topic for cloud alarms, subscribed like Alertmanager."
    )
    traffic: TrafficSettings = Field(
        default_factory=TrafficSettings, description="Istio traffic policy per service (services[].traffic)."
    )

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def protect(self) -> bool:
        return self.is_prod if self.protect_data is None else self.protect_data

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        problems = [f"missing required tag {key!r}" for key in REQUIRED_TAGS if key not in value]
        problems += [f"key {k!r} must match {_TAG_KEY.pattern}" for k in value if not _TAG_KEY.match(k)]
        problems += [
            f"{k}: value {v!r} must match {_TAG_VALUE.pattern}" for k, v in value.items() if not _TAG_VALUE.match(v)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _cross_section(self) -> StackConfig:
        problems: list[str] = []
        names = [s.name for s in self.services]
        for i, svc in enumerate(self.services):
            if names.count(svc.name) > 1 and names.index(svc.name) != i:
                problems.append(
                    f"services[{i}].name: {svc.name!r} is already used by services[{names.index(svc.name)}]"
                )
        if self.dr.enabled and self.dr.region == self.cloud.aws.region:
            problems.append(
                f"dr.region: {self.dr.region!r} equals cloud.aws.region; a DR region must be another region"
            )
        if self.backup.azure.enabled and not self.cloud.azure.enabled:
            problems.append("backup.azure.enabled: needs cloud.azure.enabled (location, resource group) to be set")
        if self.backup.gcs.enabled and not self.cloud.gcp.enabled:
            problems.append("backup.gcs.enabled: needs cloud.gcp.enabled and cloud.gcp.project")
        if self.dr.enabled and not self.backup.aws.enabled:
            problems.append("dr.enabled: needs backup.aws.enabled (the DR region replicates the S3 vault)")
        problems += recovery_target_problems(self.dr, self.backup.wal_archive_timeout_seconds)
        cdn_zones = [(zone.name, zone.zone_id, zone.plan) for zone in self.cdn.zones]
        problems += edge_problems(self.dr, cdn_zones, self.cdn.enabled)
        if self.monitoring.enabled and self.backup_jobs is not None and self.monitoring.scrape.pushgateway is None:
            problems.append(
                "monitoring.scrape.pushgateway: the backup jobs push their metrics to a Pushgateway "
                "(backup_jobs.pushgateway_url), so it must be scraped; set it (namespace, selector, port)"
            )
        lag = self.monitoring.thresholds.replication_lag_seconds
        if self.monitoring.enabled and self.dr.enabled and lag >= self.dr.rpo_target_seconds:
            problems.append(
                f"monitoring.thresholds.replication_lag_seconds: {lag:g} is not below dr.rpo_target_seconds "
                f"{self.dr.rpo_target_seconds}; the alert must fire before the RPO is lost"
            )
        if self.budgets.enabled and self.cloud.gcp.enabled and not self.budgets.gcp_billing_account:
            problems.append(
                "budgets.gcp_billing_account: required when cloud.gcp.enabled (a GCP budget belongs to a billing "
                "account; find it with `gcloud billing accounts list`)"
            )
        budget_clouds = ("aws", *(c for c in ("azure", "gcp") if getattr(self.cloud, c).enabled))
        problems += split_problems(self.budgets, budget_clouds)
        problems += self._alerting_problems()
        if self.is_prod and self.redis.enabled and self.redis.replicas_per_master < 1:
            problems.append(
                "redis.replicas_per_master: 0 in prod; a master without a replica loses its shard on failure"
            )
        zones = len(self.cloud.kubernetes.zones)
        if self.redis.enabled and not self.redis.allow_replica_in_same_zone and self.redis.pods_per_shard > zones:
            problems.append(
                f"redis.replicas_per_master: {self.redis.replicas_per_master} needs {self.redis.pods_per_shard} "
                f"zones (a master and each replica in its own zone) but cloud.kubernetes.zones lists {zones}; "
                "add zones, lower replicas_per_master or set redis.allow_replica_in_same_zone"
            )
        wal_mode = self.backup_jobs.wal_archive.mode if self.backup_jobs is not None else None
        problems += database_problems(self.database, len(self.cloud.kubernetes.zones), wal_mode)
        copies = [c for c in ("azure", "gcs") if getattr(self.backup, c).enabled]
        problems += standby_problems(
            self.dr,
            has_database=self.database is not None,
            wal_mode=wal_mode,
            copies=copies,
            primary_context=self.cloud.kubernetes.context,
        )
        problems += wiring_problems(self)
        raise_problems(problems)
        return self

    def _alerting_problems(self) -> list[str]:
        receivers = {r.name: (r.kind, r.to) for r in self.monitoring.receivers}
        routes = {severity: tuple(names) for severity, names in self.monitoring.routes.items()}
        own_topic = ["optimizer.alarm_topic_arn"] if self.optimizer and not self.optimizer.alarm_topic_arn else []
        return alerting_problems(self.alerting, receivers, routes, own_topic)


class ConfigError(Exception):
    """A stack configuration that cannot be used; ``problems`` holds one ``path: message`` line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid stack configuration\n" + "\n".join(f"  {p}" for p in problems))


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-after[", "function-before[", "function-wrap[")) or part in (
            "list[",
            "tuple[",
        ):
            continue
        else:
            path += f".{part}" if path else part
    return path


_BOUNDS = {
    "greater_than_equal": ("below the minimum", "ge"),
    "greater_than": ("not above the minimum (exclusive)", "gt"),
    "less_than_equal": ("above the maximum", "le"),
    "less_than": ("not below the maximum (exclusive)", "lt"),
}


def _describe(error: Any) -> list[str]:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "constrained-"))))
    path = _yaml_path(loc)
    message: str = error["msg"]
    if error["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    elif error["type"] == "missing":
        message = "is required"
    elif error["type"] == "extra_forbidden":
        message = "is not a known setting (check the spelling; see the config reference in README.md)"
    elif error["type"] == "literal_error":
        message = f"{error['input']!r} is not allowed; " + message.replace("Input should be", "expected")
    elif error["type"] in _BOUNDS:
        word, key = _BOUNDS[error["type"]]
        message = f"{error['input']!r} is {word} {error['ctx'][key]}"
    elif "input" in error and not isinstance(error["input"], (dict, list)):
        message = f"{error['input']!r}: " + message.replace("Input should be", "expected")
    lines = []
    for part in message.split(PROBLEM_SEPARATOR):
        sub, sep, rest = part.partition(": ")
        # "field: message" from a model validator names a field inside this model: join the paths.
        if sep and re.fullmatch(r"[a-z_][a-z0-9_]*(\[[0-9]+\])?(\.[a-z0-9_]+(\[[0-9]+\])?)*", sub):
            full = f"{path}.{sub}" if path else sub
            lines.append(f"{full}: {rest}")
        else:
            lines.append(f"{path}: {part}" if path else part)
    return lines


def parse_config(values: Mapping[str, Any], source: str = "stack config") -> StackConfig:
    """Validate plain values (top-level keys without the namespace) into a :class:`StackConfig`."""
    try:
        return StackConfig.model_validate(dict(values))
    except ValidationError as exc:
        problems: list[str] = []
        errors = exc.errors()
        for error in errors:
            # pydantic also reports a too-short tuple when its items failed: noise, the items say why.
            nested = any(
                len(e["loc"]) > len(error["loc"]) and e["loc"][: len(error["loc"])] == error["loc"] for e in errors
            )
            if error["type"] == "too_short" and nested:
                continue
            problems.extend(_describe(error))
        raise ConfigError(source, problems) from None


def stack_values(raw_config: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Pick the ``platform:*`` keys out of a stack file's ``config:`` map; other namespaces are providers'."""
    values: dict[str, Any] = {}
    for key, value in raw_config.items():
        namespace, sep, name = str(key).partition(":")
        if sep and namespace == PROJECT:
            if isinstance(value, dict) and set(value) == {"secure"}:
                raise ConfigError(source, [f"{name}: encrypted values are not used by this project's config"])
            values[name] = value
    return values


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``platform:*`` values of a stack file, keyed without the namespace."""
    if not path.is_file():
        raise ConfigError(str(path), ["file not found (expected Pulumi.<stack>.yaml next to Pulumi.yaml)"])
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError(str(path), ["expected a mapping with a `config:` mapping inside"])
    return stack_values(document.get("config") or {}, str(path))


def load_stack_file(path: Path) -> StackConfig:
    """Load and validate a ``Pulumi.<stack>.yaml`` without the Pulumi engine (plan, CLIs, tests)."""
    return parse_config(read_stack_file(path), str(path))


def load_from_pulumi() -> StackConfig:
    """Load the running stack's configuration through the Pulumi SDK (``pulumi up`` / mocks).

    Structured values reach the program as JSON strings, scalars as plain strings; both are decoded here.
    """
    import pulumi

    config = pulumi.Config(PROJECT)
    values: dict[str, Any] = {}
    for key in StackConfig.model_fields:
        raw = config.get(key)
        if raw is None:
            continue
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return parse_config(values, f"stack {pulumi.get_stack()}")
