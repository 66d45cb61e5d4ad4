"""Alert thresholds, severity routing and receivers (seed: error rate > 5 % for 2 m, cache memory > 90 %,
hit rate < 70 % for 5 m, response time > 2 s for 5 m, replication lag tied to the 1-minute RPO)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.settings.base import DnsLabel, Settings, raise_problems

Severity = Literal["critical", "high", "medium"]
Duration = str


class Thresholds(Settings):
    error_rate_ratio: float = Field(default=0.05, gt=0, lt=1, description="5xx share of requests (seed: 5 %).")
    error_rate_for: str = Field(
        default="2m", pattern=r"^[0-9]+[smh]$", description="How long before firing (seed: 2 m)."
    )
    cache_memory_ratio: float = Field(default=0.90, gt=0, lt=1, description="Redis used/maxmemory (seed: 90 %).")
    cache_hit_rate_min: float = Field(
        default=0.70, gt=0, lt=1, description="Redis keyspace hit ratio floor (seed: 70 %)."
    )
    cache_hit_rate_for: str = Field(
        default="5m", pattern=r"^[0-9]+[smh]$", description="Hit-rate alert delay (seed: 5 m)."
    )
    response_time_seconds: float = Field(default=2.0, gt=0, le=60, description="Average response time (seed: 2 s).")
    response_time_for: str = Field(
        default="5m", pattern=r"^[0-9]+[smh]$", description="Response-time alert delay (seed: 5 m)."
    )
    p95_latency_seconds: float = Field(default=0.5, gt=0, le=60, description="p95 latency target.")
    replication_lag_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Replica lag alert; below the 60 s RPO so it fires before the RPO is lost.",
    )
    backup_max_age_seconds: int = Field(
        default=3600, ge=60, description="Alert when the last successful backup is older than this."
    )


class Receiver(Settings):
    name: DnsLabel = Field(description="Receiver name.")
    kind: Literal["pagerduty", "slack", "email"] = Field(description="Integration type.")
    secret_name: str | None = Field(
        default=None, description="Kubernetes Secret holding the routing key / webhook URL (pagerduty, slack)."
    )
    secret_key: str = Field(default="url", description="Key in that Secret.")
    to: str | None = Field(default=None, description="Email address (email kind).")
    channel: str | None = Field(default=None, description="Slack channel (slack kind).")

    @model_validator(mode="after")
    def _has_destination(self) -> Receiver:
        problems = []
        if self.kind in ("pagerduty", "slack") and not self.secret_name:
            problems.append(
                f"secret_name: a {self.kind} receiver needs the Secret holding its key/URL (no destination)"
            )
        if self.kind == "email" and not self.to:
            problems.append("to: an email receiver needs an address (no destination)")
        raise_problems(problems)
        return self


def _default_routes() -> dict[Severity, tuple[str, ...]]:
    return {"critical": ("pager", "chat"), "high": ("email", "chat"), "medium": ("chat",)}


class MonitoringSettings(Settings):
    enabled: bool = Field(default=True, description="Deploy rules, dashboards and routing.")
    release_label: str = Field(
        default="kube-prometheus-stack",
        description="`release` label value kube-prometheus-stack's ruleSelector matches (prometheus-community/helm-charts#3648).",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds, description="Alert thresholds.")
    receivers: tuple[Receiver, ...] = Field(
        default=(
            Receiver(name="pager", kind="pagerduty", secret_name="alertmanager-pagerduty", secret_key="routing-key"),
            Receiver(
                name="chat", kind="slack", secret_name="alertmanager-slack", secret_key="webhook-url", channel="#alerts"
            ),
            Receiver(name="email", kind="email", to="oncall@example.com"),
        ),
        description="Alert destinations; secrets referenced, never inlined.",
    )
    routes: dict[Severity, tuple[str, ...]] = Field(
        default_factory=_default_routes,
        description="Receivers per severity (seed: critical -> pager + chat, high -> email + chat, medium -> chat).",
    )

    @model_validator(mode="after")
    def _routes_known(self) -> MonitoringSettings:
        names = {r.name for r in self.receivers}
        problems = [
            f"routes.{sev}: unknown receiver {name!r} (known: {', '.join(sorted(names))})"
            for sev, targets in self.routes.items()
            for name in targets
            if name not in names
        ]
        raise_problems(problems)
        return self
