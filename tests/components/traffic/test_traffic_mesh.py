"""With traffic enabled, the services that get traffic objects run the Istio sidecar: their pod templates
carry Istio's per-pod opt-in and their egress policy admits istiod (xDS and CA on 15012), declared among
their uses; jobs, the database and Redis stay out of the mesh, and nothing else may reach istiod."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.network.policies import WIRING_ANNOTATION
from offline.engine import PlanResult
from tests.plans import STACKS, manifests, plan_of, plan_with, stack_values

INJECT = "sidecar.istio.io/inject"
ISTIOD_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
    "podSelector": {"matchLabels": {"app": "istiod"}},
}
POD_KINDS = ("Deployment", "StatefulSet", "CronJob", "Job", "DaemonSet")


def _template_labels(manifest: dict[str, Any]) -> dict[str, str]:
    spec = manifest["spec"]
    template = spec["jobTemplate"]["spec"]["template"] if manifest["kind"] == "CronJob" else spec["template"]
    return template["metadata"].get("labels", {})


def _workloads(plan: PlanResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests(plan) if m["kind"] in POD_KINDS}


def _egress(plan: PlanResult) -> dict[str, dict[str, Any]]:
    return {
        m["metadata"]["name"]: m
        for m in manifests(plan)
        if m["kind"] == "NetworkPolicy" and m["metadata"]["name"].endswith("-egress")
    }


def _admits_istiod(policy: dict[str, Any]) -> bool:
    return any(
        ISTIOD_PEER in rule.get("to", []) and {"protocol": "TCP", "port": 15012} in rule.get("ports", [])
        for rule in policy["spec"]["egress"]
    )


def _meshed_uses(plan: PlanResult) -> dict[str, list[str]]:
    deny = next(m for m in manifests(plan) if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "default-deny")
    doc = json.loads(deny["metadata"]["annotations"][WIRING_ANNOTATION])
    return {c["role"]: c["uses"] for c in doc["clients"]}


def _assert_mesh(plan: PlanResult, meshed: set[str]) -> None:
    workloads = _workloads(plan)
    egress = _egress(plan)
    uses = _meshed_uses(plan)
    for (kind, name), manifest in workloads.items():
        labelled = _template_labels(manifest).get(INJECT) == "true"
        assert labelled == (kind == "Deployment" and name in meshed), (kind, name)
    for name in meshed:
        assert _admits_istiod(egress[f"{name}-egress"]), name
        assert "istiod" in uses[name], uses[name]
    others = [policy for role, policy in egress.items() if role.removesuffix("-egress") not in meshed]
    assert others, "the plan has unmeshed workloads with egress policies"
    assert not any(_admits_istiod(policy) for policy in others)
    assert not any("istiod" in u for role, u in uses.items() if role not in meshed)


@pytest.mark.parametrize("stack", STACKS)
def test_meshed_services_carry_the_inject_label_and_reach_istiod(stack: str) -> None:
    assert stack_values(stack)["traffic"]["enabled"] is True
    services = {s["name"] for s in stack_values(stack)["services"]}
    assert services
    _assert_mesh(plan_of(stack), services)


def test_a_service_without_traffic_objects_is_not_meshed() -> None:
    services = [dict(s) for s in stack_values("prod")["services"]]
    for s in services:
        if s["name"] == "frontend":
            s["traffic"] = {**s.get("traffic", {}), "enabled": False}
    plan = plan_with("prod", {"services": services})
    _assert_mesh(plan, {s["name"] for s in services} - {"frontend"})


def test_traffic_disabled_meshes_nothing() -> None:
    plan = plan_with("staging", {"traffic": {"enabled": False}})
    assert _workloads(plan)
    _assert_mesh(plan, set())
