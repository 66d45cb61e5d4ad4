"""The scaling profile of one service: the subset of the stack's ``services[]`` entry the scaler needs.

The forecaster CronJob gets these values as flags (the platform renders them); the simulator and the
benchmark read them from a stack file (``Pulumi.<stack>.yaml``, key ``platform:services``) so that a
simulation replays exactly what the stack ships. This package is deployed on its own (the CronJob image),
so it reads the YAML itself instead of importing the platform's config package: the models below
describe only the keys it uses, with the platform's defaults for the keys a stack file leaves out. A
test reads both stacks through both parsers and compares them, so a default changed on one side and
not the other fails the build instead of silently simulating something else.

Keys the scaler does not use (image, probes, memory targets, ...) are ignored here; the platform's own
validation of the whole file is the authority on them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVICES_KEY = "platform:services"
"""Where a stack file keeps its services (project namespace ``platform``)."""
DEFAULT_QUERY = 'sum(rate(http_requests_total{{service="{service}"}}[5m]))'
"""Request rate of one service; ``{service}`` is filled in, literal braces doubled (str.format)."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ProfileError(ValueError):
    """The stack or service named on the command line does not exist or does not fit the request."""


class _Exact(BaseModel):
    """A mapping the scaler models completely: an unknown key is a typo, and an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class _Subset(BaseModel):
    """A mapping of which the scaler reads a few keys; the rest belongs to the platform."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class StepPolicy(_Exact):
    """One HPA scaling policy: at most ``value`` pods (or percent) of change per ``period_seconds``."""

    type: Literal["Pods", "Percent"]
    value: int = Field(gt=0)
    period_seconds: int = Field(default=60, ge=1, le=1800)


class Behavior(_Exact):
    """One direction of an HPA ``behavior``: stabilization window and rate-limiting policies."""

    stabilization_window_seconds: int = Field(ge=0, le=3600)
    policies: tuple[StepPolicy, ...] = Field(min_length=1)
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"


def default_scale_up() -> Behavior:
    return Behavior(
        stabilization_window_seconds=0,
        policies=(
            StepPolicy(type="Percent", value=100, period_seconds=300),
            StepPolicy(type="Pods", value=4, period_seconds=300),
        ),
        select_policy="Max",
    )


def default_scale_down() -> Behavior:
    return Behavior(
        stabilization_window_seconds=600,
        policies=(StepPolicy(type="Percent", value=10),),
        select_policy="Min",
    )


def minutes_of_day(clock: str) -> int:
    """Minutes since midnight of ``HH:MM``."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class Window(_Exact):
    """A recurring peak window; KEDA's cron trigger holds ``ceil(baseline x factor)`` replicas in it."""

    name: str
    start: str
    end: str
    factor: float = Field(ge=1.0, le=10.0)
    days: tuple[Weekday, ...] = Field(default=WEEKDAYS, min_length=1)
    timezone: str = "UTC"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time of day HH:MM (00:00-23:59)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA timezone name (e.g. 'UTC', 'Europe/Berlin')") from None
        return value

    @model_validator(mode="after")
    def _has_duration(self) -> Window:
        if self.start == self.end:
            raise ValueError(f"end {self.end} equals start; a window needs a duration")
        return self

    @property
    def start_minute(self) -> int:
        return minutes_of_day(self.start)

    @property
    def end_minute(self) -> int:
        return minutes_of_day(self.end)

    def covers(self, minute_of_day: int) -> bool:
        """Active at this minute of the day (start inclusive, end exclusive; end < start crosses midnight)."""
        start, end = self.start_minute, self.end_minute
        if start < end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end


class Prediction(_Subset):
    """The forecaster's settings (the CronJob gets each as a flag)."""

    enabled: bool = False
    look_ahead_minutes: int = Field(default=30, ge=5, le=240)
    confidence_threshold: float = Field(default=0.8, ge=0.5, le=0.99)
    interval_minutes: int = Field(default=5, ge=1, le=60)
    history_days: int = Field(default=14, ge=10, le=90)
    query: str = DEFAULT_QUERY
    replaces_schedules: bool = False
    """While a run's forecast is trusted, its count replaces the peak windows' floors (KEDA formula); the
    windows apply whenever it abstains."""
    live_headroom: bool = True
    """KEDA's formula multiplies the live request rate by the run's calibrated margin (headroom.py)."""


class Scaling(_Subset):
    """Replica range, targets, behaviour, schedules and prediction of one service."""

    min_replicas: int = Field(default=2, ge=1, le=1000)
    max_replicas: int = Field(default=10, ge=1, le=1000)
    baseline_replicas: int | None = Field(default=None, ge=1)
    target_cpu_utilization: int | None = Field(default=70, ge=1, le=100)
    target_rps_per_pod: float | None = Field(default=50.0, gt=0)
    scale_up: Behavior = Field(default_factory=default_scale_up)
    scale_down: Behavior = Field(default_factory=default_scale_down)
    schedules: tuple[Window, ...] = ()
    prediction: Prediction = Field(default_factory=Prediction)

    @model_validator(mode="after")
    def _range(self) -> Scaling:
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"max_replicas {self.max_replicas} is below min_replicas {self.min_replicas}")
        return self

    @property
    def baseline(self) -> int:
        return self.baseline_replicas if self.baseline_replicas is not None else self.min_replicas

    def scheduled_replicas(self, window: Window) -> int:
        """KEDA cron ``desiredReplicas`` of a window: ``ceil(baseline x factor)`` clamped into [min, max]."""
        wanted = math.ceil(self.baseline * window.factor - 1e-9)
        return max(self.min_replicas, min(self.max_replicas, wanted))


def cpu_millicores(quantity: str) -> int:
    """Millicores of a Kubernetes CPU quantity (``250m``, ``1.5``)."""
    text = quantity.strip()
    try:
        value = Decimal(text[:-1]) if text.endswith("m") else Decimal(text) * 1000
    except InvalidOperation:
        raise ValueError(
            f"{quantity!r} is not a CPU quantity (cores such as '1.5' or millicores such as '250m')"
        ) from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{quantity!r} must be a positive CPU quantity")
    return math.ceil(value)


class CpuAmount(_Subset):
    cpu: str

    @field_validator("cpu", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> str:
        text = str(value)
        cpu_millicores(text)
        return text


class Resources(_Subset):
    requests: CpuAmount = CpuAmount(cpu="250m")
    limits: CpuAmount = CpuAmount(cpu="500m")


class ServiceProfile(_Subset):
    """One ``services[]`` entry as the scaler sees it."""

    name: str
    resources: Resources = Field(default_factory=Resources)
    scaling: Scaling = Field(default_factory=Scaling)

    @property
    def cpu_ceiling_percent(self) -> float:
        """Highest CPU utilization a saturated pod reports: limits / requests, in percent of requests."""
        return 100.0 * cpu_millicores(self.resources.limits.cpu) / cpu_millicores(self.resources.requests.cpu)


def stack_path(stack: str) -> Path:
    """``prod`` -> ``<project>/Pulumi.prod.yaml``; a path to a ``.yaml`` file is taken as it is."""
    if stack.endswith((".yaml", ".yml")):
        return Path(stack)
    return PROJECT_ROOT / f"Pulumi.{stack}.yaml"


def _where(location: tuple[int | str, ...]) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_services(path: Path) -> tuple[ServiceProfile, ...]:
    """Every service of a stack file; a ProfileError names the file and each offending key."""
    if not path.is_file():
        raise ProfileError(f"--stack: {path} does not exist (give a stack name such as 'prod' or a stack file)")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: not a readable YAML stack file: {exc}") from None
    config = document.get("config") if isinstance(document, dict) else None
    services = (config or {}).get(SERVICES_KEY) if isinstance(config, dict) else None
    if not isinstance(services, list) or not services:
        raise ProfileError(f"{path}: config.{SERVICES_KEY} must be a non-empty list of services")
    profiles: list[ServiceProfile] = []
    problems: list[str] = []
    for index, entry in enumerate(services):
        try:
            profiles.append(ServiceProfile.model_validate(entry))
        except ValidationError as exc:
            for error in exc.errors():
                where = _where(("services", index, *error["loc"]))
                problems.append(f"{where}: {error['msg']}")
    if problems:
        raise ProfileError(f"{path}: invalid services:\n  " + "\n  ".join(problems))
    return tuple(profiles)


def load_service(stack: str, service: str | None, *, need_prediction: bool = True) -> ServiceProfile:
    """The named service of the stack, or (no name) the first service with prediction enabled."""
    path = stack_path(stack)
    services = read_services(path)
    names = ", ".join(s.name for s in services)
    if service is None:
        for candidate in services:
            if candidate.scaling.prediction.enabled or not need_prediction:
                return candidate
        raise ProfileError(f"--service: no service in {path} has scaling.prediction.enabled; name one of {names}")
    for candidate in services:
        if candidate.name == service:
            return candidate
    raise ProfileError(f"--service: {service!r} is not a service in {path}; choose one of {names}")
