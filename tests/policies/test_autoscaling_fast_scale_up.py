"""autoscaling-fast-scale-up: both real plans scale up without a held-back window; a window over the limit
(or a disabled scale-up) on any HPA or ScaledObject fails the gate, naming that autoscaler."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, pack_config, records_of, violations

RULE = "autoscaling-fast-scale-up"


def _scale_up(inputs: dict[str, Any]) -> dict[str, Any]:
    spec = inputs["spec"]
    if "behavior" in spec:
        return spec["behavior"]["scaleUp"]
    return spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleUp"]


def _scalers(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [r for r in records if r["type"].endswith(("HorizontalPodAutoscaler", "ScaledObject"))]
    assert {r["type"].rsplit(":", 1)[-1] for r in found} == {"HorizontalPodAutoscaler", "ScaledObject"}
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_scale_up_within_a_minute(stack: str) -> None:
    records = records_of(plan_of(stack))
    for scaler in _scalers(records):
        assert _scale_up(scaler["inputs"])["stabilizationWindowSeconds"] <= 60, scaler["urn"]
    assert [v for v in violations(records, stack) if v.policy == RULE] == []


@pytest.mark.parametrize("stack", STACKS)
def test_a_held_back_scale_up_is_caught_on_every_autoscaler(stack: str) -> None:
    records = records_of(plan_of(stack))
    for scaler in _scalers(records):
        kind = scaler["type"].rsplit(":", 1)[-1]
        slow, urn = mutate(records, kind, lambda i: _scale_up(i).update(stabilizationWindowSeconds=300), scaler["name"])
        found = [v for v in violations(slow, stack) if v.policy == RULE]
        assert [v.urn for v in found] == [urn], (stack, urn, found)
        assert "stabilization window is 300 s" in found[0].message
        disabled, urn = mutate(records, kind, lambda i: _scale_up(i).update(selectPolicy="Disabled"), scaler["name"])
        assert any(v.urn == urn and "Disabled" in v.message for v in violations(disabled, stack) if v.policy == RULE)


def test_the_limit_comes_from_the_pack_config() -> None:
    records = records_of(plan_of("prod"))
    scaler = _scalers(records)[0]
    kind = scaler["type"].rsplit(":", 1)[-1]
    forty, _ = mutate(records, kind, lambda i: _scale_up(i).update(stabilizationWindowSeconds=45), scaler["name"])
    assert not [v for v in violations(forty, "prod") if v.policy == RULE]  # within the default 60 s
    config = pack_config("prod") | {RULE: {"maxSeconds": 30}}
    assert [v for v in violations(forty, "prod", config=config) if v.policy == RULE]
