"""Scheduled (cron) replicas at a moment, the way KEDA's cron triggers will apply them.

Each window becomes one KEDA cron trigger with an absolute ``desiredReplicas`` of
``ScalingSettings.scheduled_replicas(window)`` (``ceil(baseline x factor)`` clamped to [min, max]). A
window that ends before it starts crosses midnight; ``days`` are the days it *starts* on, so the hours
after midnight belong to the previous day's window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from components.settings.base import minutes_of_day
from components.settings.services import ScalingSettings, ScheduleWindow

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def window_active(window: ScheduleWindow, moment: datetime) -> bool:
    """Whether ``window`` is active at ``moment`` (an aware datetime), in the window's own timezone."""
    local = moment.astimezone(ZoneInfo(window.timezone))
    minute = local.hour * 60 + local.minute
    if not window.covers(minute):
        return False
    start, end = minutes_of_day(window.start), minutes_of_day(window.end)
    started_on = local
    if start > end and minute < end:
        started_on = local - timedelta(days=1)
    return _WEEKDAYS[started_on.weekday()] in window.days


def scheduled_replicas_at(scaling: ScalingSettings, moment: datetime) -> int | None:
    """The highest scheduled replica count active at ``moment``, or None outside every window."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    active = [scaling.scheduled_replicas(w) for w in scaling.schedules if window_active(w, moment)]
    return max(active) if active else None
