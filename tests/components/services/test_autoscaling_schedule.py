"""Schedule math of the KEDA cron triggers: absolute replicas, and start/end crons that KEDA evaluates right.

KEDA's cron scaler is active when its next ``end`` fire time is not after its next ``start`` fire time
(pkg/scalers/cron_scaler.go). ``keda_cron_active`` re-implements that rule with croniter, and the tests
check the emitted expressions against the window semantics the predictive scaler's simulator uses
(``functions.predictive_scaler.schedule.window_active``) minute by minute over whole weeks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from pydantic import ValidationError

from components.services.autoscaling_manifests import (
    HEADROOM_CEILING,
    HEADROOM_FACTOR,
    forecast_formula,
    scaled_object_manifest,
)
from components.services.autoscaling_schedule import cron_trigger, day_field, end_cron, start_cron
from components.services.config import ScalingSettings, ScheduleWindow, ServiceSettings
from functions.predictive_scaler.schedule import window_active

SEED_WINDOWS = (
    ScheduleWindow(name="morning-peak", start="08:00", end="10:00", factor=1.5),
    ScheduleWindow(name="evening-peak", start="18:00", end="22:00", factor=2.0),
)


def seed_scaling(**overrides: object) -> ScalingSettings:
    values: dict[str, object] = {
        "min_replicas": 5,
        "max_replicas": 100,
        "baseline_replicas": 10,
        "schedules": SEED_WINDOWS,
    }
    values.update(overrides)
    return ScalingSettings.model_validate(values)


def keda_cron_active(metadata: dict[str, str], now: datetime) -> bool:
    """KEDA's rule: not active if the next start comes before the next end, else active until the end."""
    local = now.astimezone(ZoneInfo(metadata["timezone"]))
    next_start = croniter(metadata["start"], local).get_next(datetime)
    next_end = croniter(metadata["end"], local).get_next(datetime)
    if next_start < next_end and local < next_start:
        return False
    return local <= next_end


def keda_replicas(scaling: ScalingSettings, now: datetime) -> int | None:
    """Highest desiredReplicas among the active cron triggers (None: no window active)."""
    active = [
        int(t["metadata"]["desiredReplicas"])
        for t in (cron_trigger(scaling, w) for w in scaling.schedules)
        if keda_cron_active(t["metadata"], now)
    ]
    return max(active) if active else None


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_seed_replicas_at_0900_1900_and_1100_utc() -> None:
    scaling = seed_scaling()
    assert keda_replicas(scaling, at("2024-03-04T09:00")) == 15  # ceil(10 x 1.5)
    assert keda_replicas(scaling, at("2024-03-04T19:00")) == 20  # ceil(10 x 2.0)
    assert keda_replicas(scaling, at("2024-03-04T11:00")) is None  # off-peak: the other triggers decide


def test_window_edges_start_inclusive_end_exclusive() -> None:
    scaling = seed_scaling()
    assert keda_replicas(scaling, at("2024-03-04T07:59")) is None
    assert keda_replicas(scaling, at("2024-03-04T08:00")) == 15
    assert keda_replicas(scaling, at("2024-03-04T09:59")) == 15
    assert keda_replicas(scaling, at("2024-03-04T10:00")) is None


def test_factor_is_clamped_to_max_and_rounded_up() -> None:
    clamped = seed_scaling(max_replicas=12)
    trigger = cron_trigger(clamped, SEED_WINDOWS[1])
    assert trigger["metadata"]["desiredReplicas"] == "12"  # ceil(20) clamped to 12
    odd = seed_scaling(baseline_replicas=7)
    assert cron_trigger(odd, SEED_WINDOWS[0])["metadata"]["desiredReplicas"] == "11"


def test_seed_crons_and_explicit_timezone() -> None:
    scaling = seed_scaling()
    assert cron_trigger(scaling, SEED_WINDOWS[0]) == {
        "type": "cron",
        "name": "cron-morning-peak",
        "metadata": {"timezone": "UTC", "start": "0 8 * * *", "end": "0 10 * * *", "desiredReplicas": "15"},
    }


def test_window_crossing_midnight_ends_on_the_next_day() -> None:
    night = ScheduleWindow(name="night", start="22:30", end="02:00", factor=2.0, days=("fri", "sat"))
    assert start_cron(night) == "30 22 * * 5-6"
    assert end_cron(night) == "0 2 * * 0,6"  # Saturday and Sunday mornings
    scaling = seed_scaling(schedules=(night,))
    assert keda_replicas(scaling, at("2024-03-08T23:30")) == 20  # Friday night
    assert keda_replicas(scaling, at("2024-03-09T01:30")) == 20  # Saturday early: Friday's window
    assert keda_replicas(scaling, at("2024-03-10T01:59")) == 20  # Sunday early: Saturday's window
    assert keda_replicas(scaling, at("2024-03-10T02:00")) is None
    assert keda_replicas(scaling, at("2024-03-08T01:30")) is None  # Friday early: Thursday has no window
    assert keda_replicas(scaling, at("2024-03-10T23:00")) is None  # Sunday night: no window starts


def test_window_ending_at_midnight() -> None:
    late = ScheduleWindow(name="late", start="20:00", end="00:00", factor=1.5, days=("sun",))
    assert end_cron(late) == "0 0 * * 1"
    scaling = seed_scaling(schedules=(late,))
    assert keda_replicas(scaling, at("2024-03-10T23:59")) == 15
    assert keda_replicas(scaling, at("2024-03-11T00:00")) is None


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "*"),
        (("mon", "tue", "wed", "thu", "fri"), "1-5"),
        (("sat", "sun"), "0,6"),
        (("sun", "mon", "wed", "fri", "sat"), "0-1,3,5-6"),
        (("thu",), "4"),
    ],
)
def test_day_field(days: tuple[str, ...], expected: str) -> None:
    assert day_field(days) == expected  # type: ignore[arg-type]


WINDOWS = [
    ScheduleWindow(name="seed-morning", start="08:00", end="10:00", factor=1.5),
    ScheduleWindow(name="weekdays", start="07:15", end="09:45", factor=1.5, days=("mon", "tue", "wed", "thu", "fri")),
    ScheduleWindow(name="night", start="22:00", end="02:00", factor=2.0, days=("fri", "sat")),
    ScheduleWindow(name="sunday-night", start="23:30", end="00:30", factor=2.0, days=("sun",)),
    ScheduleWindow(name="berlin", start="18:00", end="01:00", factor=2.0, days=("wed",), timezone="Europe/Berlin"),
    ScheduleWindow(name="tokyo", start="09:00", end="17:30", factor=1.2, days=("mon", "thu"), timezone="Asia/Tokyo"),
]


@pytest.mark.parametrize("window", WINDOWS, ids=[w.name for w in WINDOWS])
def test_emitted_crons_match_the_window_semantics_all_week(window: ScheduleWindow) -> None:
    """Every 15 minutes over a week (a DST-free week in March): KEDA's evaluation == the window definition."""
    trigger = cron_trigger(seed_scaling(schedules=(window,)), window)
    metadata: dict[str, str] = trigger["metadata"]
    moment = at("2024-03-04T00:00")
    mismatches = []
    for _ in range(7 * 24 * 4):
        if keda_cron_active(metadata, moment) != window_active(window, moment):
            mismatches.append(moment.isoformat())
        moment += timedelta(minutes=15)
    assert not mismatches, f"{window.name}: {metadata}: differs at {mismatches[:5]}"


def test_scaled_object_carries_every_window() -> None:
    service = ServiceSettings.model_validate(
        {"name": "api", "image": "ghcr.io/example/api:1.0.0", "scaling": seed_scaling().model_dump()}
    )
    manifest = scaled_object_manifest(service, "platform", "https://kubernetes.default.svc")
    crons = [t for t in manifest["spec"]["triggers"] if t["type"] == "cron"]
    assert [t["name"] for t in crons] == ["cron-morning-peak", "cron-evening-peak"]
    assert [t["metadata"]["desiredReplicas"] for t in crons] == ["15", "20"]


def _predicting(**prediction: object) -> ServiceSettings:
    scaling = seed_scaling().model_dump() | {"prediction": {"enabled": True, **prediction}}
    return ServiceSettings.model_validate({"name": "api", "image": "ghcr.io/example/api:1.0.0", "scaling": scaling})


_FORMULA_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPR_BUILTINS = {"max", "min"}
KUBE_API = "https://kubernetes.default.svc"
HEADROOM = "min(max(headroom ?? 1, 1), 2)"


def test_windows_stay_plain_triggers_unless_a_formula_reads_them() -> None:
    manifest = scaled_object_manifest(_predicting(live_headroom=False), "platform", KUBE_API)
    assert "scalingModifiers" not in manifest["spec"]["advanced"]
    assert [t["name"] for t in manifest["spec"]["triggers"] if t["type"] == "cron"] == [
        "cron-morning-peak",
        "cron-evening-peak",
    ]
    assert "headroom" not in {t["name"] for t in manifest["spec"]["triggers"]}


FORMULAS = [
    # (replaces_schedules, live_headroom, formula); live headroom off and replacing: the formula as before it.
    (True, False, "max(rps / 50, (forecast ?? 0) > 0 ? forecast : max(cron_morning_peak, cron_evening_peak))"),
    (
        True,
        True,
        f"max(rps * {HEADROOM} / 50, (forecast ?? 0) > 0 ? forecast : max(cron_morning_peak, cron_evening_peak))",
    ),
    (False, True, f"max(rps * {HEADROOM} / 50, forecast ?? 0, cron_morning_peak, cron_evening_peak)"),
]


@pytest.mark.parametrize(("replaces", "live", "formula"), FORMULAS, ids=["replacing", "replacing-live", "live"])
def test_the_formula_names_every_external_trigger_and_nothing_else(replaces: bool, live: bool, formula: str) -> None:
    """KEDA hands the HPA only the composite: an external trigger the formula leaves out would stop counting."""
    service = _predicting(replaces_schedules=replaces, live_headroom=live)
    manifest = scaled_object_manifest(service, "platform", KUBE_API)
    modifiers = manifest["spec"]["advanced"]["scalingModifiers"]
    assert (modifiers["target"], modifiers["metricType"]) == ("1", "AverageValue")
    assert modifiers["formula"] == forecast_formula(service) == formula
    external = {t["name"] for t in manifest["spec"]["triggers"] if t["type"] not in ("cpu", "memory")}
    words = set(_FORMULA_WORD.findall(modifiers["formula"])) - _EXPR_BUILTINS
    expected = {"rps", "forecast", "cron_morning_peak", "cron_evening_peak"} | ({"headroom"} if live else set())
    assert words == external == expected


def test_live_headroom_without_windows() -> None:
    scaling = seed_scaling().model_dump() | {"schedules": [], "prediction": {"enabled": True}}
    service = ServiceSettings.model_validate({"name": "api", "image": "ghcr.io/example/api:1.0.0", "scaling": scaling})
    manifest = scaled_object_manifest(service, "platform", KUBE_API)
    assert manifest["spec"]["advanced"]["scalingModifiers"]["formula"] == f"max(rps * {HEADROOM} / 50, forecast ?? 0)"
    assert [t["name"] for t in manifest["spec"]["triggers"]] == ["cpu", "memory", "rps", "forecast", "headroom"]


def test_headroom_factor_is_clamped_to_the_named_ceiling() -> None:
    assert HEADROOM_FACTOR == HEADROOM == f"min(max(headroom ?? 1, 1), {HEADROOM_CEILING})"
    assert 1.25 < HEADROOM_CEILING <= 2  # above what the forecaster publishes, never more than double


def test_a_fractional_request_rate_target_is_written_plainly() -> None:
    scaling = seed_scaling(target_rps_per_pod=12.5).model_dump() | {"prediction": {"enabled": True}}
    service = ServiceSettings.model_validate({"name": "api", "image": "ghcr.io/example/api:1.0.0", "scaling": scaling})
    assert forecast_formula(service).startswith(f"max(rps * {HEADROOM} / 12.5, ")


def test_one_window_and_no_request_rate_target() -> None:
    scaling = seed_scaling().model_dump()
    scaling |= {
        "schedules": scaling["schedules"][:1],
        "target_rps_per_pod": None,
        "prediction": {"enabled": False},
    }
    service = ServiceSettings.model_validate({"name": "api", "image": "ghcr.io/example/api:1.0.0", "scaling": scaling})
    assert forecast_formula(service) == "(forecast ?? 0) > 0 ? forecast : cron_morning_peak"


def test_replacing_needs_windows_and_means_nothing_without_a_forecast() -> None:
    scaling = seed_scaling().model_dump() | {"prediction": {"enabled": True, "replaces_schedules": True}}
    scaling["schedules"] = []
    with pytest.raises(ValidationError, match=r"prediction\.replaces_schedules: there are no schedules windows"):
        ServiceSettings.model_validate({"name": "api", "image": "ghcr.io/example/api:1.0.0", "scaling": scaling})
    off = seed_scaling().model_dump() | {
        "prediction": {"enabled": False, "replaces_schedules": True, "live_headroom": True}
    }
    service = ServiceSettings.model_validate({"name": "api", "image": "ghcr.io/example/api:1.0.0", "scaling": off})
    manifest = scaled_object_manifest(service, "platform", KUBE_API)
    assert "scalingModifiers" not in manifest["spec"]["advanced"]
    assert not [t for t in manifest["spec"]["triggers"] if t["type"] == "metrics-api"]
    assert {t["name"] for t in manifest["spec"]["triggers"] if t["type"] == "cron"} == {
        "cron-morning-peak",
        "cron-evening-peak",
    }
