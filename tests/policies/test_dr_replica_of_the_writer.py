"""dr-replica-of-the-writer: both real plans pass (prod's DR database is the warm standby of its self-managed
writer; staging has no DR region); prod keeping its old DR RDS pair beside the self-managed database fails
naming the replica, and so does an Aurora secondary there; the RDS pair passes where RDS is the writer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plans import STACKS, plan_of, plan_with
from tests.policies.helpers import records_of, violations

POLICY = "dr-replica-of-the-writer"
KEEP_RDS = {"kind": "rds_replica", "primary_endpoint": None, "standby_endpoint": None}


def _found(records: list[dict[str, Any]], stack: str, outputs: dict[str, Any]) -> list[Any]:
    return [v for v in violations(records, stack, outputs) if v.policy == POLICY]


@pytest.mark.parametrize("stack", STACKS)
def test_both_plans_pass(stack: str) -> None:
    plan = plan_of(stack)
    assert _found(records_of(plan), stack, plan.outputs) == []


@pytest.mark.parametrize(("kind", "replica"), [("rds_replica", "dr-db-replica"), ("aurora_global", "dr-db-replica")])
def test_an_rds_replica_beside_the_self_managed_writer_fails_naming_it(kind: str, replica: str) -> None:
    plan = plan_with("prod", {"dr": {"database": {**KEEP_RDS, "kind": kind}}})
    found = _found(records_of(plan), "prod", plan.outputs)
    assert [v.urn.rsplit("::", 1)[-1] for v in found] == [replica], found
    assert "database-rw.platform.svc" in found[0].message and "nothing writes to that source" in found[0].message


def test_the_rds_pair_passes_where_rds_is_the_writer() -> None:
    plan = plan_with("prod", {"dr": {"database": KEEP_RDS}})
    outputs = {**plan.outputs, "database": {**plan.outputs["database"]}}
    outputs["database"]["writer"] = {"host": "dr-db-primary.abc.us-east-1.rds.amazonaws.com", "port": 5432}
    assert _found(records_of(plan), "prod", outputs) == []
