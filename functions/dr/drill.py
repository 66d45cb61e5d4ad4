"""A failover drill that changes nothing: every step of a failover up to the irreversible one, against the
live parts, plus the controller's own loop through a simulated region loss with the live settings.

Steps: the RTO bound of the settings is within the target; the simulated failover promotes once and recovers
within the target; the primary answers from the DR side; the DR database is a standby (its replay age is
reported); the lease can be taken and given back (table reachable, nobody else holds it); the publication is
readable and still names the primary. Pushes ``dr_controller_last_drill_timestamp_seconds`` and
``dr_controller_drill_success``.
"""

from __future__ import annotations

from typing import Any

from functions.dr.controller import Controller
from functions.dr.errors import DrError
from functions.dr.sim import simulate_rto


def _step(name: str, ok: bool, **detail: Any) -> dict[str, Any]:
    return {"step": name, "ok": ok, **detail}


def run_drill(controller: Controller) -> dict[str, Any]:
    config = controller.config
    steps: list[dict[str, Any]] = []
    bound = controller.bound()
    steps.append(_step("rto_bound", bound["rto_bound_seconds"] <= config.rto_target_seconds, **bound))
    simulated = simulate_rto(config, "region", promotion_seconds=config.database.promotion_budget_seconds)
    steps.append(
        _step(
            "simulated_region_failover",
            simulated["rto_seconds"] <= config.rto_target_seconds and simulated["promote_calls"] == 1,
            **simulated,
        )
    )
    probe = controller.prober.probe()
    steps.append(
        _step("primary_answers", not probe.failed, app_ok=probe.app_ok, database_ok=probe.db_ok, **probe.detail)
    )
    status = controller.backend.status()
    steps.append(_step("dr_database_is_standby", status.role == "standby", role=status.role, **status.detail))
    try:
        controller.lease.acquire()
        controller.lease.release()
        steps.append(_step("lease", True))
    except DrError as err:
        steps.append(_step("lease", False, error=str(err)))
    try:
        current = controller.publisher.current()
        dr_writer = str(controller.backend.writer_endpoint()) if status.role != "unreachable" else None
        steps.append(_step("publication", all(v is not None and v != dr_writer for v in current.values()), **current))
    except DrError as err:
        steps.append(_step("publication", False, error=str(err)))
    ok = all(step["ok"] for step in steps)
    controller.metrics.send(
        {
            "dr_controller_last_drill_timestamp_seconds": controller.clock.wall(),
            "dr_controller_drill_success": float(ok),
        },
        controller.clock.wall(),
    )
    controller.events.emit(
        "drill_finished",
        "info" if ok else "warning",
        notify=not ok,
        ok=ok,
        failed=[s["step"] for s in steps if not s["ok"]],
    )
    return {"ok": ok, "steps": steps}
