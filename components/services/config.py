"""Services (the web platform's workloads) and their scaling profiles.

Defaults are the seed guides' figures: CPU 70 %, memory 80 %, 50 requests/s per pod, scale-up within a
minute (no scale-up stabilization window; the seed's 300 s scale-up cooldown is the period of the
scale-up step policies, one step per 5 minutes), the 600 s scale-down cooldown as the scale-down
stabilization window, peak hours 08-10 and 18-22 UTC at 1.5-2x normal capacity, predictive scaling
30 minutes ahead at 80 % confidence.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.lib.settings import (
    ClockTime,
    CpuQuantity,
    DnsLabel,
    MemoryQuantity,
    PinnedImage,
    Settings,
    cpu_millicores,
    memory_bytes,
    minutes_of_day,
    raise_problems,
)
from components.traffic.config import ServiceTraffic

FORECASTER_SUFFIX = "-forecaster"
"""The predictive scaler's CronJob is named ``<service>-forecaster`` (components/services/autoscaling.py)."""
CRONJOB_NAME_LIMIT = 52
"""Kubernetes caps CronJob names at 52 characters (it appends an 11-character suffix to its Jobs)."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALL_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ResourceAmounts(Settings):
    cpu: CpuQuantity = Field(description="CPU quantity, e.g. '250m' or '1'.")
    memory: MemoryQuantity = Field(description="Memory quantity, e.g. '256Mi'.")


class ResourceSettings(Settings):
    """Container requests and limits. Utilization targets are percentages *of the requests*, so an
    autoscaled container without requests cannot scale on CPU or memory at all."""

    requests: ResourceAmounts = Field(
        default=ResourceAmounts(cpu="250m", memory="256Mi"),
        description="What the scheduler reserves; the base of utilization targets. Default from the seed "
        "deployment (250m / 256Mi).",
    )
    limits: ResourceAmounts = Field(
        default=ResourceAmounts(cpu="500m", memory="512Mi"),
        description="Hard ceiling; memory over it is OOM-killed. Default from the seed deployment (500m / 512Mi).",
    )

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ResourceSettings:
        problems = []
        if cpu_millicores(self.limits.cpu) < cpu_millicores(self.requests.cpu):
            problems.append(f"limits.cpu: {self.limits.cpu} is below requests.cpu {self.requests.cpu}")
        if memory_bytes(self.limits.memory) < memory_bytes(self.requests.memory):
            problems.append(f"limits.memory: {self.limits.memory} is below requests.memory {self.requests.memory}")
        raise_problems(problems)
        return self


class ProbeSettings(Settings):
    """HTTP liveness and readiness probes. Readiness gates traffic; liveness restarts a wedged pod, so it
    is deliberately more tolerant (it must not kill pods that are merely busy)."""

    readiness_path: str = Field(
        default="/ready", pattern=r"^/", description="HTTP path that answers 200 when the pod can take traffic."
    )
    liveness_path: str = Field(
        default="/healthz", pattern=r"^/", description="HTTP path that answers 200 while the process is healthy."
    )
    initial_delay_seconds: int = Field(
        default=10, ge=0, le=600, description="Delay before the first probe; covers start-up."
    )
    period_seconds: int = Field(default=10, ge=1, le=300, description="Probe interval (the seed's 10 s health checks).")
    failure_threshold: int = Field(
        default=3, ge=1, le=30, description="Consecutive failures before acting (the seed's 3)."
    )
    timeout_seconds: int = Field(default=2, ge=1, le=60, description="Per-probe timeout.")


class ScalingPolicy(Settings):
    type: Literal["Pods", "Percent"] = Field(description="Step in pods or in percent of current replicas.")
    value: int = Field(gt=0, description="Pods or percent allowed per period.")
    period_seconds: int = Field(
        default=60,
        ge=1,
        le=1800,
        description="Window the step applies to (HPA allows 1-1800): a cooldown between steps is this period, "
        "not a stabilization window.",
    )


class ScalingBehavior(Settings):
    stabilization_window_seconds: int = Field(
        ge=0,
        le=3600,
        description="How long the HPA remembers its recommendations. Scale-up follows the lowest one in the window, "
        "so a window delays every scale-up by up to its length: 0 (Kubernetes' own scale-up default) keeps "
        "scale-up within a sync; the policy rule allows at most 60 s. Scale-down follows the highest: 600 s, the "
        "seed's scale-down cooldown, keeps replicas through short dips.",
    )
    policies: tuple[ScalingPolicy, ...] = Field(min_length=1, description="Rate limits on replica changes.")
    select_policy: Literal["Max", "Min", "Disabled"] = Field(
        default="Max", description="Which policy wins when several allow a change."
    )


def _default_scale_up() -> ScalingBehavior:
    # The first step is immediate; the seed's 300 s cooldown bounds the next: at most double (or +4 pods)
    # within any 5 minutes.
    return ScalingBehavior(
        stabilization_window_seconds=0,
        policies=(
            ScalingPolicy(type="Percent", value=100, period_seconds=300),
            ScalingPolicy(type="Pods", value=4, period_seconds=300),
        ),
        select_policy="Max",
    )


def _default_scale_down() -> ScalingBehavior:
    return ScalingBehavior(
        stabilization_window_seconds=600,
        policies=(ScalingPolicy(type="Percent", value=10, period_seconds=60),),
        select_policy="Min",
    )


class ScheduleWindow(Settings):
    """A recurring peak window. Replicas during it are ``ceil(baseline x factor)`` clamped to max: KEDA's
    cron trigger takes an absolute ``desiredReplicas``, not a factor."""

    name: DnsLabel = Field(description="Window name, used in trigger names.")
    start: ClockTime = Field(description="Start, HH:MM in `timezone`.")
    end: ClockTime = Field(
        description="End, HH:MM in `timezone`; earlier than start means the window crosses midnight."
    )
    factor: float = Field(
        ge=1.0, le=10.0, description="Multiplier on baseline capacity (seed: 1.5-2x). Below 1 is not a peak."
    )
    days: tuple[Weekday, ...] = Field(default=ALL_DAYS, min_length=1, description="Days the window starts on.")
    timezone: str = Field(default="UTC", description="IANA timezone of start/end; explicit so DST never surprises.")

    @model_validator(mode="after")
    def _valid_window(self) -> ScheduleWindow:
        problems = []
        if self.start == self.end:
            problems.append(f"end: {self.end} equals start; a window needs a duration")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(self.timezone)
        except Exception:
            problems.append(f"timezone: {self.timezone!r} is not an IANA timezone name (e.g. 'UTC', 'Europe/Berlin')")
        raise_problems(problems)
        return self

    def covers(self, minute_of_day: int) -> bool:
        """Whether the window is active at a minute of the day (start inclusive, end exclusive)."""
        start, end = minutes_of_day(self.start), minutes_of_day(self.end)
        if start < end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end


class PredictionSettings(Settings):
    enabled: bool = Field(default=False, description="Run the predictive scaler for this service.")
    look_ahead_minutes: int = Field(
        default=30,
        ge=5,
        le=240,
        description="Forecast horizon (seed: 30): each run forecasts, bounds and backtests this far ahead; the count "
        "it publishes covers the next interval_minutes + 5 (until the next run's pods are ready).",
    )
    confidence_threshold: float = Field(
        default=0.8,
        ge=0.5,
        le=0.99,
        description="Stated confidence of the forecast's upper bound (seed: 80 %): capacity is sized on a bound "
        "meant to cover demand this often, and only while the backtest shows it doing so (within 25 points), the "
        "forecast beating the last value and the bound staying narrow; otherwise the run abstains.",
    )
    interval_minutes: int = Field(default=5, ge=1, le=60, description="How often the forecaster CronJob runs.")
    history_days: int = Field(
        default=14,
        ge=10,
        le=90,
        description="History read per run: 7 days of profile lags for the backtest over the rest (at least 3 "
        "days: a calibration and 2 days to judge it on).",
    )
    query: str = Field(
        default='sum(rate(http_requests_total{{service="{service}"}}[5m]))',
        description="PromQL for the request rate; `{service}` is replaced by the service name.",
    )
    replaces_schedules: bool = Field(
        default=False,
        description="While the forecaster's gate trusts its forecast, its count replaces the peak windows' floors "
        "(a KEDA scalingModifiers formula: max(request-rate replicas, forecast if published else the windows)); "
        "whenever it abstains or cannot be read, the windows apply as before. A window is a fixed guess of when "
        "the peaks come and holds its replicas every day (a closed office's weekends too), a trusted forecast has "
        "learned each day's peaks. Off by default: a window that encodes something the history cannot show (a "
        "launch, a sale) must keep its floor; turn it on where the windows are only the usual daily peaks. "
        "Needs KEDA 2.14 or later; no effect while prediction is off.",
    )
    live_headroom: bool = Field(
        default=True,
        description="Scale on the live request rate times the forecaster's calibrated margin (`data.headroom` of its "
        "ConfigMap, e.g. 1.137, calibrated on the very query the rps trigger reads) at every HPA sync, instead of "
        "leaving the margin to a replica count computed from data up to 5 minutes old: a KEDA scalingModifiers "
        "formula max(rps x headroom / target_rps_per_pod, forecast, windows). The margin is clamped to [1, 2]: "
        "1 (published when the forecaster has no calibrated margin) and a value KEDA hands the formula as missing "
        "give the plain request-rate target, a value below 1 never cuts it. An unreadable ConfigMap counts as "
        "missing only with KEDA's scalingModifiers fallback (2.20 or later); before that it fails the composite "
        "metric and the HPA holds its count while CPU and memory still scale up. Needs KEDA 2.14 or later (as "
        "replaces_schedules); no effect while prediction is off or without target_rps_per_pod.",
    )
    image: PinnedImage = Field(
        default="ghcr.io/example/predictive-scaler:0.2.0",
        description="Forecaster image (runs `python -m functions.predictive_scaler run`); pinned tag or digest.",
    )
    resources: ResourceSettings = Field(
        default=ResourceSettings(
            requests=ResourceAmounts(cpu="100m", memory="128Mi"),
            limits=ResourceAmounts(cpu="500m", memory="256Mi"),
        ),
        description="Forecaster container requests/limits: one query of ~4k points and a numpy backtest per run.",
    )

    @model_validator(mode="after")
    def _usable(self) -> PredictionSettings:
        problems = []
        try:
            self.query.format(service="probe")
        except (KeyError, IndexError, ValueError) as exc:
            problems.append(
                f"query: {self.query!r} is not a template with only {{service}} ({exc}); write literal braces as "
                "{{ and }}"
            )
        if self.enabled and self.interval_minutes >= self.look_ahead_minutes:
            problems.append(
                f"interval_minutes: {self.interval_minutes} is not below look_ahead_minutes "
                f"{self.look_ahead_minutes}; the published forecast would expire before the next run replaces it"
            )
        raise_problems(problems)
        return self


_HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?$")


def _http_url(value: str) -> str:
    if not _HTTP_URL.match(value):
        raise ValueError(f"{value!r} is not an http(s) URL, e.g. 'http://prometheus-operated.monitoring.svc:9090'")
    return value


HttpUrlText = Annotated[str, AfterValidator(_http_url)]


class ScalingSettings(Settings):
    min_replicas: int = Field(default=2, ge=1, le=1000, description="Floor; 2+ keeps a replica through a node drain.")
    max_replicas: int = Field(default=10, ge=1, le=1000, description="Ceiling; bounds cost.")
    baseline_replicas: int | None = Field(
        default=None,
        ge=1,
        description="Normal capacity that schedule factors multiply; defaults to min_replicas.",
    )
    target_cpu_utilization: int | None = Field(
        default=70, ge=1, le=100, description="Average CPU % of requests (seed: 60-70)."
    )
    target_memory_utilization: int | None = Field(
        default=80, ge=1, le=100, description="Average memory % of requests (seed: 70-80)."
    )
    target_rps_per_pod: float | None = Field(
        default=50.0, gt=0, description="Requests/s each pod should carry (seed: 50)."
    )
    rps_metric: str = Field(
        default="http_requests_per_second",
        pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
        description="Pods metric name served by the metrics adapter for the request rate.",
    )
    rps_query: str = Field(
        default='sum(rate(http_requests_total{{namespace="{namespace}",service="{service}"}}[2m]))',
        description="PromQL total request rate of the service, for KEDA's prometheus trigger (KEDA divides it by "
        "target_rps_per_pod); `{service}` and `{namespace}` are filled in, literal braces are doubled.",
    )
    prometheus_url: HttpUrlText = Field(
        default="http://prometheus-operated.monitoring.svc:9090",
        description="Prometheus that KEDA's prometheus trigger and the forecaster query; in-cluster default is the "
        "Service kube-prometheus-stack creates. Independent of the monitoring section.",
    )
    scale_up: ScalingBehavior = Field(
        default_factory=_default_scale_up,
        description="Scale-up behaviour: no stabilization window, the seed's 300 s cooldown as the policies' period.",
    )
    scale_down: ScalingBehavior = Field(
        default_factory=_default_scale_down,
        description="Scale-down behaviour: the seed's 600 s cooldown as the stabilization window, 10 % a minute.",
    )
    schedules: tuple[ScheduleWindow, ...] = Field(default=(), description="Peak windows (seed: 08-10 and 18-22 UTC).")
    prediction: PredictionSettings = Field(default_factory=PredictionSettings, description="Predictive scaling.")

    @property
    def baseline(self) -> int:
        return self.baseline_replicas if self.baseline_replicas is not None else self.min_replicas

    @property
    def uses_keda(self) -> bool:
        """Scheduled or predictive scaling needs KEDA; KEDA owns the HPA then (one controller per workload)."""
        return bool(self.schedules) or self.prediction.enabled

    def scheduled_replicas(self, window: ScheduleWindow) -> int:
        """Absolute replicas for a window: ``ceil(baseline x factor)`` clamped into [min, max]."""
        wanted = math.ceil(self.baseline * window.factor - 1e-9)
        return max(self.min_replicas, min(self.max_replicas, wanted))

    @model_validator(mode="after")
    def _consistent(self) -> ScalingSettings:
        problems = []
        if self.max_replicas < self.min_replicas:
            problems.append(f"max_replicas: {self.max_replicas} is below min_replicas {self.min_replicas}")
        if self.baseline_replicas is not None and not self.min_replicas <= self.baseline_replicas <= self.max_replicas:
            problems.append(
                f"baseline_replicas: {self.baseline_replicas} is outside [min_replicas {self.min_replicas}, "
                f"max_replicas {self.max_replicas}]"
            )
        if (
            self.target_cpu_utilization is None
            and self.target_memory_utilization is None
            and self.target_rps_per_pod is None
        ):
            problems.append("target_cpu_utilization: at least one of the CPU, memory or request-rate targets is needed")
        names = [w.name for w in self.schedules]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"schedules: window name {dup!r} is used more than once")
        if self.prediction.enabled and self.prediction.replaces_schedules and not self.schedules:
            problems.append(
                "prediction.replaces_schedules: there are no schedules windows for the forecast to stand in for; "
                "add windows or drop the key"
            )
        if self.prediction.enabled and self.target_rps_per_pod is None:
            problems.append(
                "prediction.enabled: needs target_rps_per_pod; the forecaster turns the forecast request rate into "
                "replicas with it"
            )
        try:
            self.rps_query.format(service="probe", namespace="probe")
        except (KeyError, IndexError, ValueError) as exc:
            problems.append(
                f"rps_query: {self.rps_query!r} is not a template with only {{service}} and {{namespace}} ({exc}); "
                "write literal braces as {{ and }}"
            )
        raise_problems(problems)
        return self


class MetricsSettings(Settings):
    """Where the service serves its Prometheus exposition (``http_requests_total``, the
    ``http_request_duration_seconds`` histogram): a port of its own named ``metrics`` by default, so the
    NetworkPolicy can open it to Prometheus alone and public traffic never reaches /metrics."""

    port: int | None = Field(
        default=9090,
        ge=1,
        le=65535,
        description="Container port named `metrics`; None serves metrics on the http port (then /metrics is as "
        "reachable as the service itself).",
    )
    path: str = Field(default="/metrics", pattern=r"^/", description="HTTP path of the exposition.")
    interval: str = Field(
        default="30s", pattern=r"^[0-9]+(s|m)$", description="Scrape interval (the alerts' 1 m rate window needs 2+)."
    )


class ServiceSettings(Settings):
    name: DnsLabel = Field(description="Service name; names the Deployment, Service and autoscaler.")
    image: PinnedImage = Field(description="Container image pinned to a tag (not 'latest') or digest.")
    port: int = Field(default=8080, ge=1, le=65535, description="Container port the Service targets.")
    tier: Literal["backend", "frontend", "worker"] = Field(
        default="backend", description="Role; drives labels and dashboards."
    )
    resources: ResourceSettings = Field(default_factory=ResourceSettings, description="Requests and limits.")
    probes: ProbeSettings = Field(default_factory=ProbeSettings, description="Liveness and readiness probes.")
    env: dict[str, str] = Field(default_factory=dict, description="Plain environment variables (never secrets).")
    scaling: ScalingSettings = Field(default_factory=ScalingSettings, description="Autoscaling profile.")
    metrics: MetricsSettings = Field(default_factory=MetricsSettings, description="Prometheus exposition.")
    allow_writable_root_filesystem: bool = Field(
        default=False, description="Opt out of the read-only root filesystem (a /tmp emptyDir is always mounted)."
    )
    uses: tuple[DnsLabel, ...] = Field(
        default=(),
        description="What the service connects to: `redis`, other services by name, or a `network.endpoints` name "
        "(`database`, `cloud-apis`, ...). NetworkPolicies allow exactly these (plus DNS); anything else is denied.",
    )
    traffic: ServiceTraffic = Field(
        default_factory=ServiceTraffic,
        description="How callers reach this service: weights, circuit breaker, retries, timeouts (Istio).",
    )
    exposure: Literal["internal", "public"] = Field(
        default="internal",
        description="public: the ingress controller (network.ingress_controller) may reach the service's port; "
        "internal: only the services that declare it in `uses`.",
    )

    @model_validator(mode="after")
    def _names_fit(self) -> ServiceSettings:
        if self.metrics.port == self.port:
            raise_problems(
                [f"metrics.port: {self.port} is the http port; use another port or null to serve metrics on http"]
            )
        cronjob = f"{self.name}{FORECASTER_SUFFIX}"
        if self.scaling.prediction.enabled and len(cronjob) > CRONJOB_NAME_LIMIT:
            raise_problems(
                [
                    f"name: {self.name!r} is too long for prediction: the forecaster CronJob {cronjob!r} would have "
                    f"{len(cronjob)} characters, Kubernetes allows {CRONJOB_NAME_LIMIT} "
                    f"(use at most {CRONJOB_NAME_LIMIT - len(FORECASTER_SUFFIX)} for the service name)"
                ]
            )
        return self
