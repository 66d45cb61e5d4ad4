"""dr-recovery-bounds, per copy and per failure: prod's exported RPOs pass; the same stack keeping RDS's log
upload (wal_archive.mode rds) fails naming the 300 s and the dump gap; a copy or a failure over the target, or a
failure no copy survives, fails on the stack."""

from __future__ import annotations

import copy
from typing import Any

from tests.plans import plan_of, plan_with
from tests.policies.helpers import records_of, violations

POLICY = "dr-recovery-bounds"


def _found(records: list[dict[str, Any]], outputs: dict[str, Any]) -> list[str]:
    return [v.message for v in violations(records, "prod", outputs) if v.policy == POLICY]


def test_prod_exports_every_copy_and_failure_within_the_target() -> None:
    plan = plan_of("prod")
    bounds = plan.outputs["dr"]["bounds"]
    assert set(bounds["rpo_by_destination"]) == {"s3", "azure_blob", "gcs", "dr_replica"}
    assert set(bounds["rpo_by_failure"]) == {"region_loss", "cloud_loss", "corruption"}
    assert all(bounds["rpo_by_destination"][d]["seconds"] <= 60 for d in ("s3", "azure_blob", "gcs"))
    assert _found(records_of(plan), plan.outputs) == []


def test_a_stack_that_keeps_rds_log_shipping_fails_for_the_three_clouds() -> None:
    keep_rds = {"kind": "rds_replica", "primary_endpoint": None, "standby_endpoint": None}
    plan = plan_with(
        "prod",
        {
            "backup_jobs": {"wal_archive": {"mode": "rds"}},
            "database": {"allow_no_wal_archive": True},
            "dr": {"database": keep_rds},
        },
    )
    messages = _found(records_of(plan), plan.outputs)
    assert any("rpo_by_destination.s3 300 s" in m and "RDS's 300 s log upload" in m for m in messages), messages
    assert any("rpo_by_destination.azure_blob 21600 s" in m and "scheduled dumps" in m for m in messages), messages
    assert any("rpo_by_failure.cloud_loss 21600 s (via azure_blob)" in m for m in messages), messages
    assert plan.outputs["dr"]["bounds"]["wal_archive_seconds"] == 300, "archive_timeout configures nothing with rds"


def test_a_copy_or_failure_over_the_target_fails() -> None:
    plan = plan_of("prod")
    outputs = copy.deepcopy(plan.outputs)
    bounds = outputs["dr"]["bounds"]
    bounds["rpo_by_destination"]["gcs"]["seconds"] = 75
    bounds["rpo_by_failure"]["cloud_loss"] = {"seconds": None, "via": None}
    messages = _found(records_of(plan), outputs)
    assert any(m.startswith("dr.bounds.rpo_by_destination.gcs 75 s exceeds the target 60 s") for m in messages)
    assert "dr.bounds.rpo_by_failure.cloud_loss: no copy of the database survives it" in messages
