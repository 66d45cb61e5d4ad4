"""Peak windows as KEDA cron triggers: start/end cron expressions and absolute replicas.

KEDA's cron scaler is active while the next ``end`` fire time comes no later than the next ``start`` fire
time (pkg/scalers/cron_scaler.go). So a window is two cron expressions that fire at its start and at its
end. ``days`` are the days a window *starts* on; a window that ends before it starts crosses midnight
and ends on the following day, so its ``end`` expression names the next weekday of each start day
(Fri 22:00 - 02:00 ends ``0 2 * * 6``). The replicas are absolute (``desiredReplicas``), computed by
``ScalingSettings.scheduled_replicas``: ``ceil(baseline x factor)`` clamped to [min, max].
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from components.lib.settings import minutes_of_day
from components.services.config import ALL_DAYS, ScalingSettings, ScheduleWindow, Weekday

#: Cron day-of-week numbers (0 = Sunday, as in every cron dialect KEDA and Kubernetes accept).
CRON_DAY: dict[Weekday, int] = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def crosses_midnight(window: ScheduleWindow) -> bool:
    return minutes_of_day(window.end) < minutes_of_day(window.start)


def next_day(day: Weekday) -> Weekday:
    return ALL_DAYS[(ALL_DAYS.index(day) + 1) % len(ALL_DAYS)]


def day_field(days: Iterable[Weekday]) -> str:
    """The cron day-of-week field for a set of days: ``*`` for all, else ranges (``1-5``) and lists (``0,6``)."""
    numbers = sorted({CRON_DAY[d] for d in days})
    if len(numbers) == len(CRON_DAY):
        return "*"
    parts: list[str] = []
    run_start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(run_start) if previous == run_start else f"{run_start}-{previous}")
        if number is not None:
            run_start = previous = number
    return ",".join(parts)


def _at(clock: str, days: Iterable[Weekday]) -> str:
    hours, minutes = clock.split(":")
    return f"{int(minutes)} {int(hours)} * * {day_field(days)}"


def start_cron(window: ScheduleWindow) -> str:
    """Cron expression firing when the window opens on each of its days."""
    return _at(window.start, window.days)


def end_cron(window: ScheduleWindow) -> str:
    """Cron expression firing when the window closes: the next day for a window crossing midnight."""
    days: list[Weekday] = [next_day(d) for d in window.days] if crosses_midnight(window) else list(window.days)
    return _at(window.end, days)


def cron_trigger_name(window: ScheduleWindow, *, in_formula: bool = False) -> str:
    """``cron-<window>``; in a scalingModifiers formula a name is an expression variable, so ``-`` becomes ``_``."""
    name = f"cron-{window.name}"
    return name.replace("-", "_") if in_formula else name


def cron_trigger(scaling: ScalingSettings, window: ScheduleWindow, *, in_formula: bool = False) -> dict[str, Any]:
    """A KEDA ``cron`` trigger for one window (metadata values are strings, as the CRD requires)."""
    return {
        "type": "cron",
        "name": cron_trigger_name(window, in_formula=in_formula),
        "metadata": {
            "timezone": window.timezone,
            "start": start_cron(window),
            "end": end_cron(window),
            "desiredReplicas": str(scaling.scheduled_replicas(window)),
        },
    }
