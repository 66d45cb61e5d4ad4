"""The Kubernetes HPA (autoscaling/v2) replica arithmetic, step by step, for the simulator.

Follows the controller's code path (pkg/controller/podautoscaler): per-metric proposals with the 10 %
tolerance (Resource/Pods metrics averaged over *ready* pods, with not-yet-ready pods counted as 0 when
scaling up; External AverageValue metrics as ``ceil(value / target)``), the max over metrics, then
``stabilizeRecommendationWithBehaviors`` (max of the recommendations inside the scale-down window, min
inside the scale-up window, strictly-after cutoffs) and ``convertDesiredReplicasWithBehaviorRate``
(Pods/Percent policies over their periods, ``selectPolicy`` Max/Min/Disabled, min/max clamp). KEDA
ScaledObjects feed the same controller: cron and metrics-api triggers are External metrics with an
AverageValue target, so they meet the CPU and request-rate metrics in the same max().

Pods: a new pod becomes ready ``startup_seconds`` after it is created; scale-down removes not-ready
pods first, newest first (the ReplicaSet's deletion order).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from functions.predictive_scaler.profile import Behavior, Scaling

TOLERANCE = 0.1
"""Default ``--horizontal-pod-autoscaler-tolerance``."""


def plain_metric_replicas(
    current: int,
    *,
    ready: int,
    unready: int,
    usage_per_ready_pod: float,
    target: float,
    tolerance: float = TOLERANCE,
) -> int:
    """Proposal of one Resource (utilization) or Pods (average value) metric.

    ``usage_per_ready_pod`` is the metric's average over ready pods; pods still starting are "unready"
    (no metrics): ignored when scaling down, counted as using 0 when scaling up, which stops the
    controller from adding pods again for load that the starting pods will take.
    """
    if ready == 0:
        return current
    ratio = usage_per_ready_pod / target
    if unready == 0 or ratio <= 1.0:
        if abs(1.0 - ratio) <= tolerance:
            return current
        return math.ceil(ratio * ready - 1e-9)
    new_ratio = usage_per_ready_pod * ready / ((ready + unready) * target)
    if abs(1.0 - new_ratio) <= tolerance or new_ratio < 1.0:
        return current
    proposal = math.ceil(new_ratio * (ready + unready) - 1e-9)
    return current if proposal < current else proposal


def external_average_value_replicas(current: int, value: float, target: float, tolerance: float = TOLERANCE) -> int:
    """Proposal of an External metric with an AverageValue target (KEDA cron and metrics-api triggers)."""
    if current > 0 and abs(1.0 - value / (target * current)) <= tolerance:
        return current
    return math.ceil(value / target - 1e-9)


@dataclass
class _Event:
    time: float
    change: int


def _change_in_period(events: deque[_Event], now: float, period: int) -> int:
    cutoff = now - period
    return sum(e.change for e in events if e.time > cutoff)


def _replicas_at_period_start(current: int, ups: deque[_Event], downs: deque[_Event], period: int, now: float) -> int:
    """The replica count a policy's period started from: the HPA measures each policy's limit from there."""
    return current - _change_in_period(ups, now, period) + _change_in_period(downs, now, period)


def scale_up_limit(current: int, ups: deque[_Event], downs: deque[_Event], rules: Behavior, now: float) -> int:
    if rules.select_policy == "Disabled":
        return current
    pick = min if rules.select_policy == "Min" else max
    result: int | None = None
    for policy in rules.policies:
        start = _replicas_at_period_start(current, ups, downs, policy.period_seconds, now)
        if policy.type == "Pods":
            proposed = start + policy.value
        else:
            proposed = math.ceil(start * (1 + policy.value / 100) - 1e-9)
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_down_limit(current: int, ups: deque[_Event], downs: deque[_Event], rules: Behavior, now: float) -> int:
    if rules.select_policy == "Disabled":
        return current
    # For scale-down the "Min" policy (smallest change) is the *highest* floor.
    pick = max if rules.select_policy == "Min" else min
    result: int | None = None
    for policy in rules.policies:
        start = _replicas_at_period_start(current, ups, downs, policy.period_seconds, now)
        # Percent: Go's int32() conversion truncates toward zero.
        proposed = start - policy.value if policy.type == "Pods" else int(start * (1 - policy.value / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


@dataclass
class Hpa:
    """One HPA (or KEDA's HPA) and the Deployment it scales."""

    scaling: Scaling
    replicas: int
    startup_seconds: float = 90.0
    tolerance: float = TOLERANCE
    ready_at: list[float] = field(default_factory=list)
    """Ready time of each pod, ascending (new pods are appended with the latest ready time)."""
    up_window: deque[tuple[float, int]] = field(default_factory=deque)
    """Recommendations inside the scale-up window, kept increasing: the front is their minimum."""
    down_window: deque[tuple[float, int]] = field(default_factory=deque)
    """Recommendations inside the scale-down window, kept decreasing: the front is their maximum."""
    ups: deque[_Event] = field(default_factory=deque)
    downs: deque[_Event] = field(default_factory=deque)
    scale_events: int = 0

    def __post_init__(self) -> None:
        if not self.ready_at:
            self.ready_at = [-math.inf] * self.replicas
        self._longest_period = max(
            p.period_seconds for p in (*self.scaling.scale_up.policies, *self.scaling.scale_down.policies)
        )
        self._initialised = False

    def ready(self, now: float) -> int:
        return bisect_right(self.ready_at, now)

    def proposals(
        self,
        now: float,
        *,
        cpu_utilization: float | None,
        rps_per_pod: float | None,
        external: Sequence[float],
    ) -> list[int]:
        """Per-metric proposals; ``cpu_utilization`` (%) and ``rps_per_pod`` are averages over ready pods."""
        current = self.replicas
        ready = self.ready(now)
        unready = current - ready
        s = self.scaling
        out: list[int] = []
        if s.target_cpu_utilization is not None and cpu_utilization is not None:
            out.append(
                plain_metric_replicas(
                    current,
                    ready=ready,
                    unready=unready,
                    usage_per_ready_pod=cpu_utilization,
                    target=s.target_cpu_utilization,
                    tolerance=self.tolerance,
                )
            )
        if s.target_rps_per_pod is not None and rps_per_pod is not None:
            out.append(
                plain_metric_replicas(
                    current,
                    ready=ready,
                    unready=unready,
                    usage_per_ready_pod=rps_per_pod,
                    target=s.target_rps_per_pod,
                    tolerance=self.tolerance,
                )
            )
        out.extend(external_average_value_replicas(current, v, 1.0, self.tolerance) for v in external)
        return out

    def stabilize(self, now: float, desired: int) -> int:
        """Clamp ``desired`` between the min of the scale-up window and the max of the scale-down window.

        Same result as the controller's scan over stored recommendations (cutoffs are strict: a
        recommendation exactly one window old no longer counts), kept as two monotonic queues so a
        year of 15 s syncs stays fast.
        """
        up_cutoff = now - self.scaling.scale_up.stabilization_window_seconds
        down_cutoff = now - self.scaling.scale_down.stabilization_window_seconds
        for queue, cutoff in ((self.up_window, up_cutoff), (self.down_window, down_cutoff)):
            while queue and queue[0][0] <= cutoff:
                queue.popleft()
        while self.up_window and self.up_window[-1][1] >= desired:
            self.up_window.pop()
        self.up_window.append((now, desired))
        while self.down_window and self.down_window[-1][1] <= desired:
            self.down_window.pop()
        self.down_window.append((now, desired))
        up_rec = self.up_window[0][1]
        down_rec = self.down_window[0][1]
        return min(max(self.replicas, up_rec), down_rec)

    def rate_limit(self, now: float, desired: int) -> int:
        s = self.scaling
        current = self.replicas
        low, high = s.min_replicas, s.max_replicas
        if desired > current:
            limit = max(current, scale_up_limit(current, self.ups, self.downs, s.scale_up, now))
            high = min(high, limit)
        elif desired < current:
            limit = min(current, scale_down_limit(current, self.ups, self.downs, s.scale_down, now))
            low = max(low, limit)
        return max(low, min(high, desired))

    def sync(
        self,
        now: float,
        *,
        cpu_utilization: float | None,
        rps_per_pod: float | None,
        external: Sequence[float] = (),
    ) -> int:
        """One controller sync; returns the new replica count (and scales the pods to it)."""
        s = self.scaling
        if not self._initialised:
            self._initialised = True
            if s.scale_down.stabilization_window_seconds > 0:
                # maybeInitScaleDownStabilizationWindow: the current count is the first recommendation.
                self.up_window.append((now, self.replicas))
                self.down_window.append((now, self.replicas))
        current = self.replicas
        if current > s.max_replicas:
            desired = s.max_replicas
        elif current < s.min_replicas:
            desired = s.min_replicas
        else:
            proposals = self.proposals(now, cpu_utilization=cpu_utilization, rps_per_pod=rps_per_pod, external=external)
            desired = max(proposals) if proposals else current
            desired = self.rate_limit(now, self.stabilize(now, desired))
        if desired != current:
            self._scale(now, desired)
        return self.replicas

    def _scale(self, now: float, desired: int) -> None:
        change = desired - self.replicas
        events = self.ups if change > 0 else self.downs
        events.append(_Event(now, abs(change)))
        for queue in (self.ups, self.downs):
            while queue and queue[0].time <= now - self._longest_period:
                queue.popleft()
        if change > 0:
            self.ready_at.extend([now + self.startup_seconds] * change)
        else:
            # Not-ready pods go first, newest first; ready_at is sorted ascending, so drop from the end.
            self.ready_at.sort()
            del self.ready_at[desired:]
        self.replicas = desired
        self.scale_events += 1
