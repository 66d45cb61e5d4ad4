"""The controller's decisions on a simulated clock: counting, gating, idempotency, the lease, scenarios, RTO."""

from __future__ import annotations

import json

import pytest

from functions.dr.bounds import rto_bound
from functions.dr.cli import run
from functions.dr.errors import DrError, LockHeldError
from functions.dr.sim import build, outage, simulate_rto
from tests.functions.dr.conftest import make_config


def _events(sim_events: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [e for e in sim_events if e["event"] == name]


def test_region_loss_promotes_once_after_threshold_failures_and_publishes() -> None:
    sim = build(make_config(), outage("region", 35), promotion_seconds=20)
    outcome = sim.controller.watch(max_probes=40)
    assert outcome.action == "promoted"
    failed = [p for p in sim.primary.probes if p.failed]
    assert len(failed) == 3, "promotion must follow exactly failure_threshold failed probes"
    assert sim.backend.promote_calls == 1
    assert sim.backend.fenced == 1
    assert sim.publisher.value == "db-rw.dr.internal:5432"
    assert sim.lease.saved is not None and sim.lease.saved["status"] == "promoted"
    assert sim.lease.lock is None, "the lease is released after the failover"
    # first failed probe at 40 s; 3rd failure at 60 s + 5 s timeout; promotion 20 s -> writable at 85 s
    assert outcome.detail["rto_seconds"] == pytest.approx(45.0)
    names = [e["event"] for e in sim.events.emitted]
    assert names.index("failover_started") < names.index("old_primary_fence") < names.index("failover_finished")


def test_flapping_primary_never_promotes() -> None:
    # down two probes out of every three: never three in a row
    def flapping(t: float) -> tuple[bool, bool]:
        down = (int(t) // 10) % 3 != 2
        return down, down

    sim = build(make_config(), flapping, promotion_seconds=20)
    outcome = sim.controller.watch(max_probes=60)
    assert len(sim.primary.probes) == 60
    assert sum(p.failed for p in sim.primary.probes) >= 30
    assert outcome.action != "promoted"
    assert sim.backend.promote_calls == 0
    assert sim.publisher.writes == 0


def test_app_crash_with_database_answering_does_not_promote() -> None:
    sim = build(make_config(), outage("app-crash", 0), promotion_seconds=20)
    outcome = sim.controller.watch(max_probes=10)
    assert sim.backend.promote_calls == 0
    assert outcome.action == "no_promotion"
    assert len(_events(sim.events.emitted, "app_crash_detected")) == 1, "one notice per outage, not per probe"


def test_auto_promote_off_holds_then_confirm_promotes() -> None:
    sim = build(make_config(auto_promote=False), outage("region", 0), promotion_seconds=20)
    outcome = sim.controller.watch(max_probes=8)
    assert outcome.action == "held" and outcome.exit_code == 3
    assert sim.backend.promote_calls == 0
    assert len(_events(sim.events.emitted, "promotion_held")) == 1
    assert sim.controller.metrics.sent["dr_controller_promotion_held"] == 1.0
    code, result = run(["failover", "--scenario", "region"], sim.controller)
    assert code == 3 and result["action"] == "held"
    code, result = run(["failover", "--scenario", "region", "--confirm"], sim.controller)
    assert code == 0 and result["action"] == "promoted", result
    assert sim.backend.promote_calls == 1


def test_second_run_after_promotion_is_a_no_op_and_repairs_the_publication() -> None:
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    assert sim.controller.failover("region", confirm=True).action == "promoted"
    sim.publisher.value = "someone-else:5432"
    again = sim.controller.failover("region", confirm=True)
    assert again.action == "already_promoted"
    assert sim.backend.promote_calls == 1
    assert sim.publisher.value == "db-rw.dr.internal:5432"
    assert sim.controller.watch(max_probes=5).action == "already_promoted"
    assert sim.backend.promote_calls == 1


def test_promoted_without_record_is_finished_not_promoted_again() -> None:
    """A controller that crashed after pg_promote: the standby is already the writer, no record exists."""
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    sim.backend.ready_at = 0.0
    outcome = sim.controller.failover("region", confirm=True)
    assert outcome.action == "already_promoted"
    assert sim.backend.promote_calls == 0
    assert sim.lease.saved is not None and sim.lease.saved["by"] == "recovered"


def test_lease_held_by_another_controller_blocks_promotion() -> None:
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    sim.lease.lock = {"owner": "other", "expires_at": str(sim.clock.wall() + 600)}
    with pytest.raises(LockHeldError, match="other"):
        sim.controller.failover("region", confirm=True)
    assert sim.backend.promote_calls == 0
    sim.clock.advance(601)  # the other holder crashed: its lease expires
    assert sim.controller.failover("region", confirm=True).action == "promoted"


def test_promotion_that_never_becomes_writable_fails_within_the_budget() -> None:
    sim = build(make_config(), outage("region", 0), promotion_seconds=10_000, blocking=False)
    with pytest.raises(DrError, match="promotion_budget_seconds 60"):
        sim.controller.failover("region", confirm=True)
    assert sim.clock.now() <= 5 + 60 + 0.5, "one DR-side probe (5 s timeout), then at most the budget"
    assert sim.controller.metrics.sent["dr_controller_failover_success"] == 0.0
    assert _events(sim.events.emitted, "failover_failed")
    assert sim.lease.lock is None and sim.lease.saved is None


def test_watch_survives_a_lease_held_elsewhere_and_promotes_once_it_expires() -> None:
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    sim.lease.lock = {"owner": "other", "expires_at": str(sim.clock.wall() + 45)}
    outcome = sim.controller.watch(max_probes=20)
    assert outcome.action == "promoted"
    assert sim.backend.promote_calls == 1
    retries = _events(sim.events.emitted, "failover_retry")
    assert retries and "held by other" in str(retries[0]["error"])


def test_manual_failover_refused_while_primary_answers_without_confirm() -> None:
    sim = build(make_config(), lambda t: (False, False), promotion_seconds=5)
    outcome = sim.controller.failover("region", confirm=False)
    assert outcome.action == "refused" and outcome.exit_code == 1
    assert sim.backend.promote_calls == 0


def test_unconfirmed_failover_with_auto_promote_probes_the_full_threshold() -> None:
    # down for the first two probes only: the third answers, so no promotion
    sim = build(make_config(), lambda t: (t < 15, t < 15), promotion_seconds=5)
    outcome = sim.controller.failover("region", confirm=False)
    assert outcome.action == "refused" and "probe 3" in outcome.detail["reason"]
    assert sim.backend.promote_calls == 0
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    outcome = sim.controller.failover("region", confirm=False)
    assert outcome.action == "promoted" and len(sim.primary.probes) == 3
    assert outcome.detail["rto_seconds"] == pytest.approx(2 * 10 + 5 + 5)


def test_a_promotion_already_under_way_is_waited_for_not_repeated() -> None:
    sim = build(make_config(), outage("region", 0), promotion_seconds=30, blocking=False)
    sim.backend.ready_at = sim.clock.now() + 30  # an earlier run called promote, then crashed
    outcome = sim.controller.failover("region", confirm=True)
    assert outcome.action == "promoted"
    assert sim.backend.promote_calls == 0


def test_drill_passes_on_a_healthy_pair_and_fails_after_a_failover() -> None:
    sim = build(make_config(), lambda t: (False, False), promotion_seconds=5)
    code, result = run(["drill"], sim.controller)
    assert code == 0 and result["ok"], result
    assert [s["step"] for s in result["steps"]] == [
        "rto_bound",
        "simulated_region_failover",
        "primary_answers",
        "dr_database_is_standby",
        "lease",
        "publication",
    ]
    assert sim.backend.promote_calls == 0 and sim.lease.lock is None
    assert sim.controller.metrics.sent["dr_controller_drill_success"] == 1.0
    sim.controller.failover("region", confirm=True)
    code, result = run(["drill"], sim.controller)
    failed = {s["step"] for s in result["steps"] if not s["ok"]}
    assert code == 1 and failed == {"dr_database_is_standby", "publication"}
    assert sim.controller.metrics.sent["dr_controller_drill_success"] == 0.0


def test_corruption_fences_and_freezes_but_never_promotes() -> None:
    sim = build(make_config(), lambda t: (False, False), promotion_seconds=5)
    assert sim.controller.failover("database-corruption", confirm=False).action == "held"
    assert sim.backend.fenced == 0
    outcome = sim.controller.failover("database-corruption", confirm=True)
    assert outcome.action == "pitr_required"
    assert sim.backend.fenced == 1 and sim.backend.promote_calls == 0
    assert "restore --pitr" in outcome.detail["next"]


def test_app_crash_failover_refused_when_the_database_is_down_too() -> None:
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    outcome = sim.controller.failover("app-crash", confirm=True)
    assert outcome.action == "refused" and "region" in outcome.detail["reason"]
    assert sim.backend.promote_calls == 0


@pytest.mark.parametrize("scenario", ["region", "app-crash"])
@pytest.mark.parametrize("blocking", [True, False])
def test_simulated_rto_with_prod_settings_is_within_bound_and_target(scenario: str, blocking: bool) -> None:
    config = make_config()
    result = simulate_rto(
        config, scenario, promotion_seconds=config.database.promotion_budget_seconds, blocking=blocking
    )
    bound = rto_bound(
        interval_seconds=10, failure_threshold=3, dns_ttl_seconds=60, promotion_budget_seconds=60, scenario=scenario
    )
    assert result["rto_bound_seconds"] == bound.seconds
    assert result["rto_seconds"] <= bound.seconds <= 300
    # the loop adds nothing beyond the bound's terms: at most one probe timeout short of it
    assert result["rto_seconds"] >= bound.seconds - config.health.timeout_seconds


def test_simulated_rto_grows_with_the_exported_numbers() -> None:
    slow = make_config(
        health={
            "interval_seconds": 30,
            "failure_threshold": 5,
            "timeout_seconds": 5,
            "primary_url": "https://o.example.com/",
        },
        dns_ttl_seconds=300,
    )
    result = simulate_rto(slow, "region", promotion_seconds=60)
    assert result["rto_bound_seconds"] == 30 * 5 + 300 + 60
    assert result["rto_seconds"] > 300, "a slow config must show an RTO over the target"


def test_bound_command_lists_the_numbers_the_stack_exports(tmp_path: object) -> None:
    sim = build(make_config(), lambda t: (False, False), promotion_seconds=5)
    code, result = run(["bound"], sim.controller)
    assert code == 0
    assert result["rto_bound_seconds"] == 150
    assert "health.interval_seconds" in result["exported_numbers"]
    json.dumps(result)


def test_scheduled_short_runs_carry_the_failure_count() -> None:
    """Runs of two probes (threshold 3): a carried count promotes on the second run's first failed probe; a
    count older than two intervals starts over."""
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    assert sim.controller.watch(max_probes=2, carry=True).action == "not_confirmed"
    assert sim.backend.promote_calls == 0
    sim.clock.advance(10)  # the scheduler's next beat
    outcome = sim.controller.watch(max_probes=2, carry=True)
    assert outcome.action == "promoted"
    assert len(sim.primary.probes) == 3
    assert outcome.detail["rto_seconds"] == pytest.approx(2 * 10 + 5 + 5 + 5)  # 3 probes, sleeps, promotion

    stale = build(make_config(), outage("region", 0), promotion_seconds=5)
    stale.controller.watch(max_probes=2, carry=True)
    stale.clock.advance(25)  # more than two intervals since the last probe
    assert stale.controller.watch(max_probes=2, carry=True).action == "not_confirmed"
    assert stale.backend.promote_calls == 0
