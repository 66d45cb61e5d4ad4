"""Scheduled (cron) replicas at a moment, the way KEDA's cron triggers will apply them.

Each window becomes one KEDA cron trigger with an absolute ``desiredReplicas`` of
``Scaling.scheduled_replicas(window)`` (``ceil(baseline x factor)`` clamped to [min, max]). A window that
ends before it starts crosses midnight; ``days`` are the days it *starts* on, so the hours after midnight
belong to the previous day's window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from functions.predictive_scaler.profile import WEEKDAYS, Scaling, minutes_of_day


class WindowLike(Protocol):
    """What a peak window needs to answer "active now?" (the platform's window model fits it too)."""

    @property
    def start(self) -> str: ...
    @property
    def end(self) -> str: ...
    @property
    def days(self) -> Sequence[str]: ...
    @property
    def timezone(self) -> str: ...


def window_active(window: WindowLike, moment: datetime) -> bool:
    """Whether ``window`` is active at ``moment`` (an aware datetime), in the window's own timezone."""
    local = moment.astimezone(ZoneInfo(window.timezone))
    minute = local.hour * 60 + local.minute
    start, end = minutes_of_day(window.start), minutes_of_day(window.end)
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return False
    started_on = local - timedelta(days=1) if start > end and minute < end else local
    return WEEKDAYS[started_on.weekday()] in window.days


def scheduled_replicas_at(scaling: Scaling, moment: datetime) -> int | None:
    """The highest scheduled replica count active at ``moment``, or None outside every window."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    active = [scaling.scheduled_replicas(w) for w in scaling.schedules if window_active(w, moment)]
    return max(active) if active else None
