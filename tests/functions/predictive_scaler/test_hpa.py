"""The simulator's HPA against hand-checked cases of the controller's documented arithmetic."""

from __future__ import annotations

from collections import deque

import pytest

from functions.predictive_scaler.hpa import (
    Hpa,
    external_average_value_replicas,
    plain_metric_replicas,
    scale_down_limit,
    scale_up_limit,
)
from functions.predictive_scaler.profile import Behavior, Scaling


def behavior(window: int, *policies: tuple[str, int, int], select: str = "Max") -> Behavior:
    return Behavior.model_validate(
        {
            "stabilization_window_seconds": window,
            "policies": [{"type": t, "value": v, "period_seconds": p} for t, v, p in policies],
            "select_policy": select,
        }
    )


def profile(up: Behavior, down: Behavior, **overrides: object) -> Scaling:
    values: dict[str, object] = {
        "min_replicas": 1,
        "max_replicas": 100,
        "target_cpu_utilization": 70,
        "target_memory_utilization": None,
        "target_rps_per_pod": None,
        "scale_up": up,
        "scale_down": down,
    }
    values.update(overrides)
    return Scaling.model_validate(values)


FAST_UP = behavior(0, ("Percent", 1000, 15))
FAST_DOWN = behavior(0, ("Percent", 100, 15))


@pytest.mark.parametrize(
    ("utilization", "expected"),
    [
        (70.0, 10),  # on target
        (76.0, 10),  # ratio 1.086: inside the 10 % tolerance
        (63.5, 10),  # ratio 0.907: inside
        (78.0, 12),  # ratio 1.114: ceil(11.14)
        (35.0, 5),  # ratio 0.5
        (62.0, 9),  # ratio 0.886: ceil(8.86)
    ],
)
def test_tolerance_on_a_utilization_metric(utilization: float, expected: int) -> None:
    proposal = plain_metric_replicas(10, ready=10, unready=0, usage_per_ready_pod=utilization, target=70)
    assert proposal == expected


def test_starting_pods_count_as_idle_when_scaling_up() -> None:
    # 10 ready pods at 100 % (target 70) and 5 starting: 1000 / (15 x 70) = 0.95, inside the tolerance.
    assert plain_metric_replicas(15, ready=10, unready=5, usage_per_ready_pod=100, target=70) == 15
    # At 140 %: 1400 / 1050 = 1.33 -> ceil(1.33 x 15) = 20 (not ceil(2 x 10) + 5 = 25).
    assert plain_metric_replicas(15, ready=10, unready=5, usage_per_ready_pod=140, target=70) == 20
    # Scaling down ignores the starting pods: ceil(0.5 x 10) = 5.
    assert plain_metric_replicas(15, ready=10, unready=5, usage_per_ready_pod=35, target=70) == 5
    # No ready pod, no metric: keep the current count.
    assert plain_metric_replicas(4, ready=0, unready=4, usage_per_ready_pod=0, target=70) == 4


def test_external_average_value_metric() -> None:
    assert external_average_value_replicas(10, 10.5, 1.0) == 10  # 5 %: tolerated
    assert external_average_value_replicas(10, 10.9, 1.0) == 10
    # 11 / 10 is 10 % "exactly", but 1 - 1.1 is -0.10000000000000009 in float64 (Go too): it scales.
    assert external_average_value_replicas(10, 11.0, 1.0) == 11
    assert external_average_value_replicas(10, 12.0, 1.0) == 12
    assert external_average_value_replicas(10, 0.0, 1.0) == 0  # abstaining trigger proposes nothing
    assert external_average_value_replicas(20, 15.0, 1.0) == 15


def test_scale_up_policies_and_select_policy() -> None:
    rules = behavior(0, ("Percent", 100, 60), ("Pods", 4, 60))
    assert scale_up_limit(3, deque(), deque(), rules, now=0) == 7  # max(ceil(3 x 2) = 6, 3 + 4)
    assert scale_up_limit(10, deque(), deque(), rules, now=0) == 20  # max(20, 14)
    minimum = behavior(0, ("Percent", 100, 60), ("Pods", 4, 60), select="Min")
    assert scale_up_limit(3, deque(), deque(), minimum, now=0) == 6
    disabled = behavior(0, ("Pods", 4, 60), select="Disabled")
    assert scale_up_limit(3, deque(), deque(), disabled, now=0) == 3


def test_scale_down_percent_truncates_like_go() -> None:
    rules = behavior(0, ("Percent", 10, 60))
    assert scale_down_limit(20, deque(), deque(), rules, now=0) == 18
    assert scale_down_limit(15, deque(), deque(), rules, now=0) == 13  # int(13.5)
    both = behavior(0, ("Percent", 10, 60), ("Pods", 5, 60), select="Max")
    assert scale_down_limit(20, deque(), deque(), both, now=0) == 15  # Max change: lowest floor
    least = behavior(0, ("Percent", 10, 60), ("Pods", 5, 60), select="Min")
    assert scale_down_limit(20, deque(), deque(), least, now=0) == 18


def test_policy_period_counts_earlier_changes() -> None:
    scaling = profile(behavior(0, ("Percent", 100, 60), ("Pods", 4, 60)), FAST_DOWN, target_cpu_utilization=None,
                      target_rps_per_pod=50.0)  # fmt: skip
    hpa = Hpa(scaling, 3, startup_seconds=0)
    # Wants 20; the first step is max(6, 7) = 7.
    assert hpa.sync(0, cpu_utilization=None, rps_per_pod=None, external=[20]) == 7
    # 15 s later the period still starts at 3 replicas: limit 7, no change.
    assert hpa.sync(15, cpu_utilization=None, rps_per_pod=None, external=[20]) == 7
    assert hpa.sync(45, cpu_utilization=None, rps_per_pod=None, external=[20]) == 7
    # At 60 s the event is exactly one period old (cutoff is strict): from 7, max(14, 11) = 14.
    assert hpa.sync(60, cpu_utilization=None, rps_per_pod=None, external=[20]) == 14
    assert hpa.sync(120, cpu_utilization=None, rps_per_pod=None, external=[20]) == 20
    assert hpa.scale_events == 3


def test_scale_up_stabilization_takes_the_minimum_over_the_window() -> None:
    scaling = profile(behavior(60, ("Percent", 1000, 15)), behavior(120, ("Percent", 100, 15)),
                      target_rps_per_pod=50.0)  # fmt: skip
    hpa = Hpa(scaling, 10, startup_seconds=0)
    # The initial recommendation (10 at t=0) holds the count until it leaves the 60 s window.
    for now in (0, 15, 30, 45):
        assert hpa.sync(now, cpu_utilization=70, rps_per_pod=None, external=[20]) == 10
    assert hpa.sync(60, cpu_utilization=70, rps_per_pod=None, external=[20]) == 20


def test_scale_down_stabilization_takes_the_maximum_over_the_window() -> None:
    scaling = profile(FAST_UP, behavior(120, ("Percent", 100, 15)))
    hpa = Hpa(scaling, 20, startup_seconds=0)
    # Load halves at t=0: every sync proposes 10, but the window remembers 20 (initial) until t=120.
    for now in range(0, 120, 15):
        assert hpa.sync(now, cpu_utilization=35, rps_per_pod=None) == 20
    assert hpa.sync(120, cpu_utilization=35, rps_per_pod=None) == 10
    # A short spike inside the window keeps the count up for a full window after it.
    hpa2 = Hpa(scaling, 10, startup_seconds=0)
    assert hpa2.sync(0, cpu_utilization=70, rps_per_pod=None) == 10
    assert hpa2.sync(15, cpu_utilization=140, rps_per_pod=None) == 20
    assert hpa2.sync(30, cpu_utilization=35, rps_per_pod=None) == 20  # 20 pods at half load: wants 10
    assert hpa2.sync(120, cpu_utilization=35, rps_per_pod=None) == 20
    assert hpa2.sync(135, cpu_utilization=35, rps_per_pod=None) == 10


def test_max_over_metrics_and_clamps() -> None:
    scaling = profile(FAST_UP, FAST_DOWN, min_replicas=2, max_replicas=30, target_rps_per_pod=50.0)
    hpa = Hpa(scaling, 10, startup_seconds=0)
    # CPU wants 10 (on target), rps wants ceil(60/50 x 10) = 12, cron wants 15, prediction abstains.
    assert hpa.proposals(0, cpu_utilization=70, rps_per_pod=60, external=[15, 0]) == [10, 12, 15, 0]
    assert hpa.sync(0, cpu_utilization=70, rps_per_pod=60, external=[15, 0]) == 15
    assert hpa.sync(15, cpu_utilization=70, rps_per_pod=50, external=[80]) == 30  # max_replicas
    assert hpa.sync(30, cpu_utilization=1, rps_per_pod=1, external=[1]) == 2  # min_replicas


def test_new_pods_are_ready_after_the_startup_delay_and_leave_first() -> None:
    scaling = profile(FAST_UP, FAST_DOWN)
    hpa = Hpa(scaling, 4, startup_seconds=90)
    assert hpa.sync(0, cpu_utilization=140, rps_per_pod=None) == 8
    assert hpa.ready(0) == 4
    assert hpa.ready(89) == 4
    assert hpa.ready(90) == 8
    # While the new pods start, the starting pods count as idle: 4 x 140 / (8 x 70) = 1.0 -> no change.
    assert hpa.sync(15, cpu_utilization=140, rps_per_pod=None) == 8
    # Load falls before they are ready: ceil(60 / 70 x 4) = 4, and the not-ready pods are removed first.
    assert hpa.sync(30, cpu_utilization=60, rps_per_pod=None) == 4
    assert hpa.ready(30) == 4
    assert hpa.ready(1000) == 4
