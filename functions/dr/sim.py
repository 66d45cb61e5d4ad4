"""A simulated primary, DR database, lease and publication on a :class:`SimClock`, driving the real
:class:`Controller`: the RTO the controller's own loop produces with given settings, without waiting for it.

Each stand-in costs simulated time where the real part costs real time: a probe of a dead host takes the
probe timeout, a promotion takes the promotion time given, a write check succeeds only once the promotion is
done. Everything else (counting, gating, the lease, the record, waiting) is the controller's real code.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from functions.dr.backends import Status
from functions.dr.bounds import rto_bound
from functions.dr.clock import SimClock
from functions.dr.config import ControllerConfig
from functions.dr.controller import Controller, Outcome
from functions.dr.errors import LockHeldError
from functions.dr.events import Events
from functions.dr.health import Probe
from functions.dr.metrics import Metrics
from functions.dr.publish import Endpoint


@dataclass
class SimPrimary:
    """``down(t)`` says whether the app and the database are down at simulated time t (seconds)."""

    clock: SimClock
    timeout_seconds: float
    down: Callable[[float], tuple[bool, bool]]
    probes: list[Probe] = field(default_factory=list)

    def probe(self) -> Probe:
        at = self.clock.now()
        app_down, db_down = self.down(at)
        if app_down or db_down:
            self.clock.advance(self.timeout_seconds)  # a dead host answers with a timeout
        probe = Probe(at, not app_down, not db_down)
        self.probes.append(probe)
        return probe


class SimBackend:
    """A standby whose promotion takes ``promotion_seconds``; ``blocking`` like ``pg_promote(wait => true)``,
    otherwise like RDS (the call returns, the instance becomes available later)."""

    def __init__(
        self,
        clock: SimClock,
        promotion_seconds: float,
        *,
        blocking: bool = True,
        budget_seconds: int = 60,
        poll_seconds: float = 0.5,
    ) -> None:
        self.kind = "simulated"
        self.clock = clock
        self.promotion_seconds = promotion_seconds
        self.blocking = blocking
        self.budget_seconds = budget_seconds
        self.poll_seconds = poll_seconds
        self.ready_at: float | None = None
        self.promote_calls = 0
        self.fenced = 0

    def status(self) -> Status:
        if self.ready_at is not None and self.clock.now() >= self.ready_at:
            return Status("writer", {})
        return Status("standby" if self.ready_at is None else "promoting", {})

    def promote(self) -> None:
        self.promote_calls += 1
        self.ready_at = self.clock.now() + self.promotion_seconds
        if self.blocking:
            self.clock.advance(self.promotion_seconds)

    def writable(self) -> tuple[bool, str]:
        ok = self.ready_at is not None and self.clock.now() >= self.ready_at
        return ok, "write committed" if ok else "in recovery"

    def writer_endpoint(self) -> Endpoint:
        return Endpoint("db-rw.dr.internal", 5432)

    def fence_old_primary(self) -> str:
        self.fenced += 1
        return "unreachable: simulated region loss"

    def freeze(self) -> str:
        return "replay paused (simulated)"


class MemoryLease:
    def __init__(self, clock: SimClock, owner: str = "sim", lease_seconds: int = 900) -> None:
        self.clock = clock
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.lock: dict[str, str] | None = None
        self.saved: dict[str, str] | None = None
        self.probes: dict[str, float] | None = None

    def acquire(self) -> None:
        now = self.clock.wall()
        if self.lock and float(self.lock["expires_at"]) >= now and self.lock["owner"] != self.owner:
            raise LockHeldError(f"lock held by {self.lock['owner']}")
        self.lock = {"owner": self.owner, "expires_at": str(now + self.lease_seconds)}

    def release(self) -> None:
        if self.lock and self.lock["owner"] == self.owner:
            self.lock = None

    def holder(self) -> dict[str, str] | None:
        return self.lock

    def record(self) -> dict[str, str] | None:
        return self.saved

    def write_record(self, fields: dict[str, str | float | int]) -> None:
        self.saved = {k: str(v) for k, v in fields.items()}

    def clear_record(self) -> bool:
        had, self.saved = self.saved is not None, None
        return had

    def probe_state(self) -> dict[str, float] | None:
        return self.probes

    def save_probe_state(self, consecutive: int, first_failure_wall: float | None, last_probe_wall: float) -> None:
        self.probes = {"consecutive": float(consecutive), "last_probe_wall": last_probe_wall}
        if first_failure_wall is not None:
            self.probes["first_failure_wall"] = first_failure_wall


class MemoryPublisher:
    def __init__(self, initial: str = "db-rw.primary.internal:5432") -> None:
        self.value: str | None = initial
        self.writes = 0

    def current(self) -> dict[str, str | None]:
        return {"ssm": self.value}

    def publish(self, endpoint: Endpoint) -> list[str]:
        if self.value == str(endpoint):
            return []
        self.value, self.writes = str(endpoint), self.writes + 1
        return ["ssm:simulated"]


@dataclass
class Simulation:
    controller: Controller
    clock: SimClock
    primary: SimPrimary
    backend: SimBackend
    lease: MemoryLease
    publisher: MemoryPublisher
    events: Events


def build(
    config: ControllerConfig,
    down: Callable[[float], tuple[bool, bool]],
    *,
    promotion_seconds: float,
    blocking: bool = True,
) -> Simulation:
    clock = SimClock()
    primary = SimPrimary(clock, config.health.timeout_seconds, down)
    backend = SimBackend(
        clock,
        promotion_seconds,
        blocking=blocking,
        budget_seconds=config.database.promotion_budget_seconds,
        poll_seconds=config.database.poll_seconds,
    )
    lease, publisher = MemoryLease(clock), MemoryPublisher()
    events = Events(clock, config.database_id, stream=io.StringIO())
    controller = Controller(
        config,
        clock=clock,
        prober=primary,
        backend=backend,  # type: ignore[arg-type]  # structurally a Backend
        publisher=publisher,
        lease=lease,
        events=events,
        metrics=Metrics(config.database_id),
    )
    return Simulation(controller, clock, primary, backend, lease, publisher, events)


def outage(scenario: str, fail_at: float) -> Callable[[float], tuple[bool, bool]]:
    """Region loss: app and database down from ``fail_at``; app crash: only the app."""
    if scenario == "region":
        return lambda t: (t >= fail_at, t >= fail_at)
    if scenario == "app-crash":
        return lambda t: (t >= fail_at, False)
    raise ValueError(f"no simulated outage for scenario {scenario!r}")


def simulate_rto(
    config: ControllerConfig, scenario: str, *, promotion_seconds: float, blocking: bool = True, fail_at: float = 35.0
) -> dict[str, Any]:
    """Runs the controller's watch loop through an outage starting at ``fail_at``; the RTO from the first
    failed probe to a writable database (region) or to the detection (app crash), plus the DNS TTL clients
    may hold the old answer, beside the bound from the same numbers and the target."""
    sim = build(config, outage(scenario, fail_at), promotion_seconds=promotion_seconds, blocking=blocking)
    probes_budget = int((fail_at + config.database.promotion_budget_seconds) / config.health.interval_seconds) + 20
    outcome: Outcome = sim.controller.watch(max_probes=probes_budget) if scenario == "region" else _until_detected(sim)
    first_failed = next((p.at for p in sim.primary.probes if p.failed), None)
    if first_failed is None:
        raise RuntimeError("the simulated outage produced no failed probe")
    if scenario == "region":
        if outcome.action != "promoted":
            raise RuntimeError(f"simulated region loss ended with {outcome.action}: {outcome.detail}")
        to_recovered = float(outcome.detail["rto_seconds"])
    else:
        to_recovered = sim.clock.now() - first_failed
    bound = rto_bound(
        interval_seconds=config.health.interval_seconds,
        failure_threshold=config.health.failure_threshold,
        dns_ttl_seconds=config.dns_ttl_seconds,
        promotion_budget_seconds=config.database.promotion_budget_seconds,
        scenario=scenario,
    )
    return {
        "scenario": scenario,
        "action": outcome.action,
        "first_failed_probe_at": first_failed,
        "to_writable_seconds" if scenario == "region" else "to_detected_seconds": round(to_recovered, 3),
        "dns_ttl_seconds": config.dns_ttl_seconds,
        "rto_seconds": round(to_recovered + config.dns_ttl_seconds, 3),
        "rto_bound_seconds": bound.seconds,
        "rto_target_seconds": config.rto_target_seconds,
        "promote_calls": sim.backend.promote_calls,
    }


def _until_detected(sim: Simulation) -> Outcome:
    outcome = sim.controller.watch(max_probes=1000, until=frozenset({"no_promotion"}))
    if outcome.action != "no_promotion":
        raise RuntimeError(f"simulated app crash ended with {outcome.action}")
    return outcome
