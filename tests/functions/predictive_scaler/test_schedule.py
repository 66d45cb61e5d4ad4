"""Schedule math as the simulator applies it (KEDA cron triggers with absolute replicas)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from functions.predictive_scaler.profile import Scaling, Window
from functions.predictive_scaler.schedule import scheduled_replicas_at, window_active
from functions.predictive_scaler.simulate import cron_values, window_mask


def seed_profile(**overrides: object) -> Scaling:
    values: dict[str, object] = {
        "min_replicas": 5,
        "max_replicas": 100,
        "baseline_replicas": 10,
        "schedules": (
            Window(name="morning", start="08:00", end="10:00", factor=1.5),
            Window(name="evening", start="18:00", end="22:00", factor=2.0),
        ),
    }
    values.update(overrides)
    return Scaling.model_validate(values)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_peak_and_off_peak_replicas() -> None:
    scaling = seed_profile()
    assert scheduled_replicas_at(scaling, at("2024-03-04T09:00")) == 15  # ceil(10 x 1.5)
    assert scheduled_replicas_at(scaling, at("2024-03-04T19:00")) == 20  # ceil(10 x 2.0)
    assert scheduled_replicas_at(scaling, at("2024-03-04T11:00")) is None
    # start inclusive, end exclusive
    assert scheduled_replicas_at(scaling, at("2024-03-04T08:00")) == 15
    assert scheduled_replicas_at(scaling, at("2024-03-04T09:59")) == 15
    assert scheduled_replicas_at(scaling, at("2024-03-04T10:00")) is None


def test_factor_is_clamped_to_max_and_rounded_up() -> None:
    scaling = seed_profile(
        max_replicas=12,
        schedules=(Window(name="peak", start="08:00", end="10:00", factor=2.0),),
    )
    assert scheduled_replicas_at(scaling, at("2024-03-04T09:00")) == 12  # 20 clamped to max 12
    odd = seed_profile(baseline_replicas=7, schedules=(Window(name="peak", start="08:00", end="10:00", factor=1.5),))
    assert scheduled_replicas_at(odd, at("2024-03-04T09:00")) == 11  # ceil(10.5)


def test_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    night = Window(name="night", start="22:00", end="02:00", factor=2.0, days=("fri",))
    scaling = seed_profile(schedules=(night,))
    friday_late = at("2024-03-08T23:30")  # a Friday
    saturday_early = at("2024-03-09T01:30")
    assert scheduled_replicas_at(scaling, friday_late) == 20
    assert scheduled_replicas_at(scaling, saturday_early) == 20  # Friday's window, after midnight
    assert scheduled_replicas_at(scaling, at("2024-03-09T02:00")) is None
    assert scheduled_replicas_at(scaling, at("2024-03-09T23:30")) is None  # Saturday: no window starts
    assert scheduled_replicas_at(scaling, at("2024-03-08T01:30")) is None  # Thursday's night: not listed


def test_timezone_is_applied() -> None:
    berlin = Window(name="peak", start="08:00", end="10:00", factor=2.0, timezone="Europe/Berlin")
    scaling = seed_profile(schedules=(berlin,))
    assert scheduled_replicas_at(scaling, at("2024-01-15T07:30")) == 20  # 08:30 CET
    assert scheduled_replicas_at(scaling, at("2024-01-15T09:30")) is None  # 10:30 CET
    assert scheduled_replicas_at(scaling, at("2024-07-15T06:30")) == 20  # 08:30 CEST
    assert scheduled_replicas_at(scaling, at("2024-07-15T08:30")) is None  # 10:30 CEST


def test_overlapping_windows_take_the_highest() -> None:
    scaling = seed_profile(
        schedules=(
            Window(name="wide", start="07:00", end="12:00", factor=1.2),
            Window(name="narrow", start="09:00", end="10:00", factor=3.0),
        )
    )
    assert scheduled_replicas_at(scaling, at("2024-03-04T09:30")) == 30
    assert scheduled_replicas_at(scaling, at("2024-03-04T11:00")) == 12


@pytest.mark.parametrize(
    "window",
    [
        Window(name="day", start="08:00", end="10:00", factor=1.5),
        Window(name="night", start="22:30", end="01:15", factor=2.0, days=("mon", "sat")),
        Window(name="berlin", start="18:00", end="22:00", factor=2.0, timezone="Europe/Berlin"),
    ],
)
def test_simulator_mask_matches_the_scalar_rules(window: Window) -> None:
    # Every 7 minutes over three weeks spanning the March DST change in Europe.
    start = int(at("2024-03-20T00:00").timestamp())
    stamps = np.arange(start, start + 21 * 86_400, 7 * 60, dtype=np.int64)
    mask = window_mask(window, stamps)
    expected = [window_active(window, datetime.fromtimestamp(int(s), UTC)) for s in stamps]
    assert mask.tolist() == expected
    assert mask.any()


def test_cron_values_are_keda_metrics() -> None:
    scaling = seed_profile()
    stamps = np.array([at(t).timestamp() for t in ("2024-03-04T09:00", "2024-03-04T11:00", "2024-03-04T19:00")])
    morning, evening = cron_values(scaling, stamps.astype(np.int64))
    assert morning.tolist() == [15.0, 1.0, 1.0]  # desiredReplicas while active, 1 otherwise
    assert evening.tolist() == [1.0, 1.0, 20.0]
