"""Alert thresholds, severity routing and receivers.

Seed figures: any backup failure; error rate > 5 % for 2 m; cache memory > 90 %; cache hit rate < 70 % for
5 m; p95 response time > 2000 ms for 5 m, and the stricter 500 ms API target as an alert of its own; database connection failures; replication lag tied
to the 1-minute RPO (one guide says 5 minutes: that would let the RPO be lost before anyone is told).
Routing: critical -> pager + chat, high -> email + chat, medium -> chat.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.lib.settings import DnsLabel, PinnedImage, Settings, raise_problems

Severity = Literal["critical", "high", "medium"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium")

_DURATION = re.compile(r"^([0-9]+)([smh])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def duration_seconds(value: str) -> int:
    """Seconds in a Prometheus duration of one unit (``30s``, ``2m``, ``1h``)."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration (a whole number with s, m or h, e.g. '2m')")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _alert_delay(value: str) -> str:
    seconds = duration_seconds(value)
    if not 0 < seconds <= 86_400:
        raise ValueError(f"{value!r} must be between 1s and 24h")
    return value


AlertDelay = Annotated[str, AfterValidator(_alert_delay)]
"""How long a condition must hold before the alert fires (the rule's ``for``)."""


class Thresholds(Settings):
    error_rate_ratio: float = Field(default=0.05, gt=0, lt=1, description="5xx share of requests (seed: 5 %).")
    error_rate_for: AlertDelay = Field(default="2m", description="How long before firing (seed: 2 m).")
    cache_memory_ratio: float = Field(default=0.90, gt=0, lt=1, description="Redis used/maxmemory (seed: 90 %).")
    cache_memory_for: AlertDelay = Field(
        default="2m", description="Memory alert delay (the seed gives none; 2 m rides out a burst)."
    )
    cache_down_for: AlertDelay = Field(
        default="1m",
        description="How long a Redis node may be unreachable to its exporter (redis_up == 0) before alerting; a "
        "cluster fails over in seconds, so a node still down after a minute needs a person.",
    )
    cache_hit_rate_min: float = Field(
        default=0.70, gt=0, lt=1, description="Redis keyspace hit ratio floor (seed: 70 %)."
    )
    cache_hit_rate_for: AlertDelay = Field(default="5m", description="Hit-rate alert delay (seed: 5 m).")
    response_time_seconds: float = Field(
        default=2.0, gt=0, le=60, description="95th-percentile response time per service (seed: p95 under 2000 ms)."
    )
    response_time_for: AlertDelay = Field(default="5m", description="Response-time alert delay (seed: 5 m).")
    p95_latency_seconds: float = Field(
        default=0.5, gt=0, le=60, description="The stricter p95 API latency target per service (its own alert)."
    )
    p95_latency_for: AlertDelay = Field(default="10m", description="API latency target alert delay.")
    replication_lag_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Replica lag alert; must stay below dr.rpo_target_seconds so it fires before the RPO is lost.",
    )
    replication_lag_for: AlertDelay = Field(default="1m", description="Replication-lag alert delay.")
    database_down_for: AlertDelay = Field(
        default="1m", description="How long postgres_exporter may fail to connect (pg_up == 0) before alerting."
    )
    backup_missed_runs: int = Field(
        default=2,
        ge=1,
        le=48,
        description="Alert when a backup class's last success is older than this many of its schedule intervals.",
    )


Kind = Literal["pagerduty", "slack", "email"]


class Receiver(Settings):
    name: DnsLabel = Field(description="Receiver name (what routes refer to).")
    kind: Kind = Field(description="Integration type.")
    secret_name: DnsLabel | None = Field(
        default=None, description="Kubernetes Secret holding the routing key / webhook URL (pagerduty, slack)."
    )
    secret_key: str = Field(
        default="url", pattern=r"^[-._a-zA-Z0-9]+$", description="Key in that Secret (a Secret data key)."
    )
    to: str | None = Field(default=None, description="Email address (email kind).")
    channel: str | None = Field(default=None, description="Slack channel (slack kind); None uses the webhook's.")

    @model_validator(mode="after")
    def _has_destination(self) -> Receiver:
        problems = []
        if self.kind in ("pagerduty", "slack") and not self.secret_name:
            problems.append(
                f"secret_name: a {self.kind} receiver needs the Secret holding its key/URL (no destination)"
            )
        if self.kind == "email" and not self.to:
            problems.append("to: an email receiver needs an address (no destination)")
        if self.to is not None and (self.kind != "email" or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.to)):
            problems.append(
                f"to: {self.to!r} is not an email address" if self.kind == "email" else "to: only email receivers"
            )
        if self.channel is not None and self.kind != "slack":
            problems.append("channel: only slack receivers have a channel")
        raise_problems(problems)
        return self


_PORT_NAME = r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$"


class ScrapeEndpoint(Settings):
    """Where something installed outside this stack serves metrics: a Service selected by labels."""

    namespace: DnsLabel = Field(description="Namespace of its Service.")
    selector: dict[str, str] = Field(min_length=1, description="matchLabels of its Service.")
    port: str = Field(pattern=_PORT_NAME, description="Name of the Service port serving metrics.")
    path: str = Field(default="/metrics", pattern=r"^/", description="HTTP path of the exposition.")


class DatabaseExporter(Settings):
    """A ``postgres_exporter`` Deployment for a database that has no exporter of its own (RDS)."""

    name: DnsLabel = Field(
        description="Exporter name, e.g. `primary` or `dr-replica` (Deployment `postgres-exporter-<name>`)."
    )
    role: Literal["primary", "replica"] = Field(description="Labels its series `role`; the lag alert reads replicas.")
    url_secret: DnsLabel = Field(description="Secret holding the database URL (postgresql://user:pass@host/db).")
    url_key: str = Field(default="url", pattern=r"^[-._a-zA-Z0-9]+$", description="Key of the URL in that Secret.")


class ScrapeSettings(Settings):
    """Scrape targets that no component of this stack runs but whose metrics the rules and dashboards read."""

    pushgateway: ScrapeEndpoint | None = Field(
        default=ScrapeEndpoint(
            namespace="monitoring", selector={"app.kubernetes.io/name": "prometheus-pushgateway"}, port="http"
        ),
        description="The Pushgateway batch jobs push to (prometheus-pushgateway chart defaults); scraped with "
        "honorLabels so the pushed `job` survives. None: nothing pushes (backup_jobs must then be absent).",
    )
    velero: ScrapeEndpoint | None = Field(
        default=ScrapeEndpoint(
            namespace="velero", selector={"app.kubernetes.io/name": "velero"}, port="http-monitoring"
        ),
        description="Velero's metrics Service (velero chart defaults); scraped when backup.velero_namespaces is set.",
    )
    database: ScrapeEndpoint | None = Field(
        default=None,
        description="A postgres_exporter Service in front of a database this stack does not render (a database "
        "component passes its own target instead).",
    )
    database_exporters: tuple[DatabaseExporter, ...] = Field(
        default=(),
        description="postgres_exporter Deployments to run for databases without an exporter (RDS primary, DR replica).",
    )
    exporter_image: PinnedImage = Field(
        default="quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
        description="postgres_exporter image (v0.13+ serves pg_replication_lag_seconds, which the lag alert reads).",
    )
    interval: str = Field(default="30s", pattern=r"^[0-9]+(s|m)$", description="Scrape interval of these targets.")

    @model_validator(mode="after")
    def _unique(self) -> ScrapeSettings:
        names = [e.name for e in self.database_exporters]
        raise_problems(
            [
                f"database_exporters: name {n!r} is used more than once"
                for n in sorted({n for n in names if names.count(n) > 1})
            ]
        )
        return self


class AbsenceSettings(Settings):
    """Alerts on series that vanish: an alert over no data is silent, so a lost exporter looks healthy."""

    enabled: bool = Field(default=True, description="Alert when a series a critical alert or a scaler reads is absent.")
    delay: AlertDelay = Field(
        default="10m",
        description="How long a series may be missing before alerting (rides out a rollout, a scrape gap).",
    )
    severity: Severity = Field(
        default="high", description="Severity of an absence (high: the critical alert it feeds is blind, not firing)."
    )


def _default_job_severity() -> dict[str, Severity]:
    return {
        "backup": "critical",
        "verify": "high",
        "restore-test": "high",
        "prune": "high",
        "maintenance": "high",
        "bootstrap": "high",
        "forecaster": "medium",
        "video": "medium",
    }


class FailedJobSettings(Settings):
    """Alerts on failed Kubernetes Jobs (kube-state-metrics ``kube_job_failed``), per group of CronJobs."""

    enabled: bool = Field(default=True, description="Alert on failed Jobs of the stack's CronJobs and Jobs.")
    severity: dict[str, Severity] = Field(
        default_factory=_default_job_severity,
        description="Severity per Job group (backup runs page like BackupFailed; a missed forecast only degrades "
        "scaling to its schedule and CPU triggers).",
    )
    window: AlertDelay = Field(
        default="24h",
        description="A failed Job alerts while it started within this window: Jobs stay in history "
        "(failedJobsHistoryLimit) long after the next run succeeded.",
    )


def _default_routes() -> dict[Severity, tuple[str, ...]]:
    return {"critical": ("pager", "chat"), "high": ("email", "chat"), "medium": ("chat",)}


class MonitoringSettings(Settings):
    enabled: bool = Field(default=True, description="Deploy rules, dashboards and routing.")
    release_label: str = Field(
        default="kube-prometheus-stack",
        pattern=r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$",
        description="`release` label value kube-prometheus-stack's ruleSelector matches (prometheus-community/helm-charts#3648).",
    )
    dashboards_namespace: DnsLabel | None = Field(
        default=None,
        description="Namespace of the dashboard ConfigMaps (Grafana's sidecar must watch it); None: the platform namespace.",
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
        min_length=1,
        description="Alert destinations; secrets referenced, never inlined.",
    )
    routes: dict[Severity, tuple[str, ...]] = Field(
        default_factory=_default_routes,
        description="Receivers per severity (seed: critical -> pager + chat, high -> email + chat, medium -> chat).",
    )
    default_receiver: str = Field(
        default="chat", description="Receiver for an alert whose severity matches no route (nothing is dropped)."
    )
    repeat_interval: AlertDelay = Field(default="4h", description="Alertmanager repeat interval for a firing alert.")
    scrape: ScrapeSettings = Field(default_factory=ScrapeSettings, description="Scrape targets outside the stack.")
    absence: AbsenceSettings = Field(default_factory=AbsenceSettings, description="Alerts on absent series.")
    failed_jobs: FailedJobSettings = Field(default_factory=FailedJobSettings, description="Alerts on failed Jobs.")

    @model_validator(mode="after")
    def _routes_known(self) -> MonitoringSettings:
        names = [r.name for r in self.receivers]
        known = ", ".join(sorted(set(names)))
        problems = [
            f"receivers[{i}].name: {name!r} is already used by receivers[{names.index(name)}]"
            for i, name in enumerate(names)
            if names.index(name) != i
        ]
        problems += [
            f"routes.{sev}: unknown receiver {name!r} (known: {known})"
            for sev, targets in self.routes.items()
            for name in targets
            if name not in names
        ]
        problems += [
            f"routes.{sev}: no receivers; every severity the alerts use must reach someone"
            for sev in SEVERITIES
            if not self.routes.get(sev)
        ]
        if self.default_receiver not in names:
            problems.append(f"default_receiver: unknown receiver {self.default_receiver!r} (known: {known})")
        raise_problems(problems)
        return self
