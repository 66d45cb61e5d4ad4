"""The failover decision and its steps, independent of where probes, promotions and publications go.

Guards, in the order they apply:
1. ``failure_threshold`` failed probes *in a row* from the DR side (one success resets the count: flapping
   never promotes); a notification only starts this confirmation.
2. The database probe tells an application crash (database answers: no promotion) from a lost region.
3. ``auto_promote`` off: a confirmed outage is reported (event + ``dr_controller_promotion_held``) and only
   ``failover --confirm`` promotes.
4. A failover record or an already-writable standby makes every later run a no-op (it only repairs a
   publication that differs).
5. A DynamoDB lease: a second controller gets ``LockHeldError`` instead of promoting concurrently; the record is
   re-read under the lease.
6. The old primary is fenced (read-only) before the standby is promoted, when it still answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from functions.dr.backends import Backend
from functions.dr.clock import Clock
from functions.dr.config import ControllerConfig
from functions.dr.errors import DrError
from functions.dr.events import Events
from functions.dr.health import Detector, Prober, Scenario
from functions.dr.metrics import Metrics
from functions.dr.publish import Endpoint
from functions.dr.signals import Signal

Action = Literal[
    "promoted", "already_promoted", "held", "no_promotion", "not_confirmed", "refused", "pitr_required", "healthy"
]
EXIT_HELD = 3


class LeaseLike(Protocol):
    def acquire(self) -> None: ...
    def release(self) -> None: ...
    def holder(self) -> dict[str, str] | None: ...
    def record(self) -> dict[str, str] | None: ...
    def write_record(self, fields: dict[str, str | float | int]) -> None: ...
    def clear_record(self) -> bool: ...
    def probe_state(self) -> dict[str, float] | None: ...
    def save_probe_state(self, consecutive: int, first_failure_wall: float | None, last_probe_wall: float) -> None: ...


class PublisherLike(Protocol):
    def current(self) -> dict[str, str | None]: ...
    def publish(self, endpoint: Endpoint) -> list[str]: ...


@dataclass
class Outcome:
    action: Action
    scenario: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_HELD if self.action == "held" else 1 if self.action == "refused" else 0

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "scenario": self.scenario, **self.detail}


class Controller:
    def __init__(
        self,
        config: ControllerConfig,
        *,
        clock: Clock,
        prober: Prober,
        backend: Backend,
        publisher: PublisherLike,
        lease: LeaseLike,
        events: Events,
        metrics: Metrics,
    ) -> None:
        self.config = config
        self.clock = clock
        self.prober = prober
        self.backend = backend
        self.publisher = publisher
        self.lease = lease
        self.events = events
        self.metrics = metrics
        self._reported: set[str] = set()  # outage notices already sent (one per outage, not per probe)

    # --- detection -------------------------------------------------------------------------------

    def _observe(self, detector: Detector) -> bool:
        probe = self.prober.probe()
        down = detector.observe(probe)
        self.metrics.send(
            {
                "dr_controller_primary_up": 0.0 if probe.failed else 1.0,
                "dr_controller_consecutive_failures": float(detector.consecutive),
            },
            self.clock.wall(),
        )
        if probe.failed:
            self.events.emit(
                "probe_failed",
                "warning",
                consecutive=detector.consecutive,
                threshold=detector.threshold,
                app_ok=probe.app_ok,
                database_ok=probe.db_ok,
                probes=probe.detail,
            )
        return down

    def _wait_next(self, started: float) -> None:
        self.clock.sleep(self.config.health.interval_seconds - (self.clock.now() - started))

    def watch(
        self,
        max_probes: int | None = None,
        until: frozenset[str] = frozenset({"promoted", "already_promoted"}),
        *,
        carry: bool = False,
    ) -> Outcome:
        """Probes every interval until an outcome in ``until`` (a finished failover by default), or until
        ``max_probes`` probes were made; returns the last outcome.

        ``carry``: the failure count survives between runs (kept beside the lease), for a scheduler that
        starts one short run after another; a count older than two intervals is stale and starts over.
        """
        detector = Detector(self.config.health.failure_threshold)
        if carry:
            self._resume(detector)
        made = 0
        last: Outcome = Outcome("healthy", "none")
        while max_probes is None or made < max_probes:
            started = self.clock.now()
            made += 1
            down = self._observe(detector)
            if carry:
                self._save(detector)
            if made == 1 and detector.consecutive == 0:
                self._standby_freshness()
            if down:
                assert detector.last is not None and detector.first_failure_at is not None
                try:
                    last = self.on_confirmed_outage(detector.last.scenario, detector.first_failure_at)
                except DrError as err:  # already reported (failover_failed / lock held): try again next probe
                    self.events.emit("failover_retry", "warning", error=str(err))
                    last = Outcome("refused", detector.last.scenario, {"error": str(err)})
                if last.action in until:
                    return last
            else:
                if self._reported and detector.consecutive == 0:
                    self._reported.clear()
                    self.metrics.send({"dr_controller_promotion_held": 0.0}, self.clock.wall())
                    self.events.emit("primary_recovered", notify=True)
                last = Outcome("healthy" if detector.consecutive == 0 else "not_confirmed", "none")
            if max_probes is not None and made >= max_probes:
                break  # no sleep after the last probe: the next run starts on the scheduler's beat
            self._wait_next(started)
        return last

    def _standby_freshness(self) -> None:
        """Once per run while the primary answers: a heartbeat commit on the primary, then the standby's replay
        age as a metric (the stale-standby alarm reads it). Backends without a warm standby skip it."""
        heartbeat = getattr(self.backend, "heartbeat_primary", None)
        if heartbeat is None:
            return
        try:
            beat = heartbeat()
            status = self.backend.status()
        except DrError as err:
            self.events.emit("standby_check_failed", "warning", error=str(err))
            return
        age = status.detail.get("replay_age_seconds")
        if status.role == "standby" and isinstance(age, int | float):
            self.metrics.send({"dr_controller_standby_replay_age_seconds": float(age)}, self.clock.wall())
        elif status.role == "unreachable":  # a promoted writer has no replay age: nothing to say
            self.events.emit("standby_unreachable", "warning", heartbeat=beat, detail=status.detail)

    def _resume(self, detector: Detector) -> None:
        state = self.lease.probe_state()
        if not state:
            return
        age = self.clock.wall() - state.get("last_probe_wall", 0.0)
        first = state.get("first_failure_wall")
        if age <= 2 * self.config.health.interval_seconds and first is not None:
            detector.resume(int(state.get("consecutive", 0)), self.clock.now() - (self.clock.wall() - first))

    def _save(self, detector: Detector) -> None:
        first = detector.first_failure_at
        first_wall = None if first is None else self.clock.wall() - (self.clock.now() - first)
        self.lease.save_probe_state(detector.consecutive, first_wall, self.clock.wall())

    def confirm(self, signal: Signal) -> Outcome:
        """A notification arrived: probe from the DR side up to ``failure_threshold`` times, one interval apart."""
        self.events.emit("signal", source=signal.source, state=signal.state, name=signal.name, reason=signal.reason)
        if not signal.unhealthy:
            return Outcome("healthy", "none", {"signal": signal.state})
        detector = Detector(self.config.health.failure_threshold)
        for attempt in range(self.config.health.failure_threshold):
            started = self.clock.now()
            if self._observe(detector):
                assert detector.last is not None and detector.first_failure_at is not None
                return self.on_confirmed_outage(detector.last.scenario, detector.first_failure_at)
            if detector.consecutive == 0:
                self.events.emit("signal_not_confirmed", name=signal.name, probes=attempt + 1, notify=True)
                return Outcome("not_confirmed", "none", {"probes": attempt + 1})
            self._wait_next(started)
        return Outcome("not_confirmed", "none")

    def on_confirmed_outage(self, scenario: Scenario, first_failure_at: float) -> Outcome:
        if scenario == "app-crash":
            if "app-crash" not in self._reported:
                self._reported.add("app-crash")
                self.events.emit(
                    "app_crash_detected", "warning", notify=True, action="no promotion: the primary database answers"
                )
            return Outcome("no_promotion", scenario, {"reason": "the primary database answers from the DR side"})
        if not self.config.auto_promote:
            if "held" not in self._reported:
                self._reported.add("held")
                self.metrics.send({"dr_controller_promotion_held": 1.0}, self.clock.wall())
                self.events.emit(
                    "promotion_held",
                    "critical",
                    notify=True,
                    reason="auto_promote is off",
                    run="python -m functions.dr failover --scenario region --confirm",
                )
            return Outcome("held", scenario, {"reason": "auto_promote is off; run failover --confirm"})
        return self.failover("region", confirm=True, first_failure_at=first_failure_at, by="auto")

    # --- failover --------------------------------------------------------------------------------

    def failover(
        self, scenario: str, *, confirm: bool, first_failure_at: float | None = None, by: str = "operator"
    ) -> Outcome:
        if scenario == "database-corruption":
            return self._corruption(confirm)
        if scenario == "app-crash":
            return self._app_crash()
        if scenario != "region":
            raise DrError(f"--scenario: {scenario!r}; allowed: region, database-corruption, app-crash")
        done = self._already_promoted(scenario)
        if done:
            return done
        if not confirm and not self.config.auto_promote:
            return self.on_confirmed_outage("region", first_failure_at or self.clock.now())
        if first_failure_at is None and not confirm:
            confirmed = self._confirm_region()
            if isinstance(confirmed, Outcome):
                return confirmed
            first_failure_at = confirmed
        return self._promote(scenario, first_failure_at, by)

    def _app_crash(self) -> Outcome:
        probe = self.prober.probe()
        if probe.db_ok is False:
            reason = (
                "the primary database does not answer from the DR side: this is a region failure; "
                "run failover --scenario region"
            )
            return Outcome("refused", "app-crash", {"reason": reason})
        self.events.emit("app_crash_failover", notify=True, action="no promotion", app_ok=probe.app_ok)
        return Outcome(
            "no_promotion", "app-crash", {"reason": "the database stays the writer; traffic moves at the edge"}
        )

    def _confirm_region(self) -> Outcome | float:
        """auto_promote on and no human: the DR-side confirmation a notification gets. Returns the first
        failed probe's time, or the refusal when the primary (or its database) answers."""
        detector = Detector(self.config.health.failure_threshold)
        for attempt in range(self.config.health.failure_threshold):
            started = self.clock.now()
            down = self._observe(detector)
            probe = detector.last
            assert probe is not None
            if not probe.failed:
                reason = f"the primary answered probe {attempt + 1} from the DR side; add --confirm"
                return Outcome("refused", "region", {"reason": reason})
            if probe.db_ok:
                return Outcome(
                    "refused", "region", {"reason": "the primary database answers from the DR side; add --confirm"}
                )
            if down and detector.first_failure_at is not None:
                return detector.first_failure_at
            self._wait_next(started)
        raise DrError("the DR-side confirmation ended without a verdict")  # unreachable: threshold probes decide

    def _already_promoted(self, scenario: str) -> Outcome | None:
        record = self.lease.record()
        status = self.backend.status()
        if record is None and status.role != "writer":
            return None
        endpoint = Endpoint.parse(record["writer_endpoint"]) if record else self.backend.writer_endpoint()
        changed = self.publisher.publish(endpoint)
        if record is None:  # promoted before a crash (or by hand): finish the bookkeeping
            self._write_record(scenario, endpoint, by="recovered", rto=None, promotion=None, fence="unknown")
        self.events.emit("already_promoted", writer=str(endpoint), republished=changed, role=status.role)
        return Outcome(
            "already_promoted", scenario, {"writer": str(endpoint), "republished": changed, "record": record}
        )

    def _write_record(
        self, scenario: str, endpoint: Endpoint, *, by: str, rto: float | None, promotion: float | None, fence: str
    ) -> None:
        fields: dict[str, str | float | int] = {
            "status": "promoted",
            "scenario": scenario,
            "writer_endpoint": str(endpoint),
            "promoted_at": self.clock.wall(),
            "by": by,
            "owner": getattr(self.lease, "owner", "?"),
            "fence": fence,
        }
        if rto is not None:
            fields["rto_seconds"] = round(rto, 3)
        if promotion is not None:
            fields["promotion_seconds"] = round(promotion, 3)
        self.lease.write_record(fields)

    def _promote(self, scenario: str, first_failure_at: float | None, by: str) -> Outcome:
        self.lease.acquire()
        try:
            done = self._already_promoted(scenario)  # someone finished while we waited for the lease
            if done:
                return done
            status = self.backend.status()
            if status.role == "unreachable":
                raise DrError(f"the DR database does not answer: {status.detail}")
            self.events.emit("failover_started", "critical", notify=True, scenario=scenario, by=by, **status.detail)
            fence = self.backend.fence_old_primary()
            self.events.emit("old_primary_fence", result=fence)
            started = self.clock.now()
            if status.role == "promoting":  # an earlier run's promotion is under way: wait for it, do not repeat
                self.events.emit("promotion_in_progress", **status.detail)
            else:
                self.backend.promote()
            why = self._wait_writable(started)
            promotion = self.clock.now() - started
            rto = self.clock.now() - first_failure_at if first_failure_at is not None else None
            endpoint = self.backend.writer_endpoint()
            changed = self.publisher.publish(endpoint)
            self._write_record(scenario, endpoint, by=by, rto=rto, promotion=promotion, fence=fence)
        except DrError as err:
            self.metrics.send({"dr_controller_failover_success": 0.0}, self.clock.wall())
            self.events.emit("failover_failed", "critical", notify=True, error=str(err))
            raise
        finally:
            self.lease.release()
        values = {
            "dr_controller_promoted": 1.0,
            "dr_controller_promotion_held": 0.0,
            "dr_controller_promotion_seconds": promotion,
            "dr_controller_last_failover_timestamp_seconds": self.clock.wall(),
            "dr_controller_failover_success": 1.0,
        }
        if rto is not None:
            values["dr_controller_rto_seconds"] = rto
        self.metrics.send(values, self.clock.wall())
        detail = {
            "writer": str(endpoint),
            "published": changed,
            "fence": fence,
            "write_check": why,
            "promotion_seconds": round(promotion, 3),
            "rto_seconds": round(rto, 3) if rto is not None else None,
        }
        self.events.emit("failover_finished", "critical", notify=True, **detail)
        return Outcome("promoted", scenario, detail)

    def _wait_writable(self, started: float) -> str:
        deadline = started + self.backend.budget_seconds
        while True:
            ok, why = self.backend.writable()
            if ok:
                return why
            if self.clock.now() >= deadline:
                raise DrError(
                    f"the promoted database took no write within database.promotion_budget_seconds "
                    f"{self.backend.budget_seconds}: {why}"
                )
            self.clock.sleep(min(self.backend.poll_seconds, max(0.0, deadline - self.clock.now())))

    def _corruption(self, confirm: bool) -> Outcome:
        """The standby replays the same WAL as the primary, so promoting it promotes the corruption: stop the
        damage (fence the primary, pause the standby's replay) and hand over to a point-in-time restore."""
        if not confirm:
            return Outcome(
                "held",
                "database-corruption",
                {"reason": "fencing the primary read-only needs --confirm", "next": "failover --confirm"},
            )
        fence = self.backend.fence_old_primary()
        freeze = self.backend.freeze()
        detail = {
            "fence": fence,
            "standby": freeze,
            "next": "python -m functions.backup restore --pitr <time before the damage> --to <new data dir> "
            "--target <DR-region copy of the archive> (then start it and publish it with failover on a fresh "
            "controller config)",
        }
        self.events.emit("corruption_contained", "critical", notify=True, **detail)
        return Outcome("pitr_required", "database-corruption", detail)

    # --- status, drill ---------------------------------------------------------------------------

    def bound(self) -> dict[str, Any]:
        from functions.dr.cli import bound_of

        return bound_of(self.config)

    def status(self) -> dict[str, Any]:
        probe = self.prober.probe()
        backend = self.backend.status()
        return {
            "auto_promote": self.config.auto_promote,
            "primary": {"up": not probe.failed, "app_ok": probe.app_ok, "database_ok": probe.db_ok, **probe.detail},
            "dr_database": {"kind": self.backend.kind, "role": backend.role, **backend.detail},
            "published": self.publisher.current(),
            "failover_record": self.lease.record(),
            "lock": self.lease.holder(),
            **self.bound(),
        }
