"""Kubernetes and autoscaling rules: each passes on the real plans and fails on a mutated copy,
naming the URN of the offending resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, records_of, violations


def _container(inputs: dict[str, Any]) -> dict[str, Any]:
    return inputs["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_have_no_mandatory_violation(stack: str) -> None:
    plan = plan_of(stack)
    found = [v for v in violations(records_of(plan), stack, plan.outputs) if v.enforcement == "mandatory"]
    assert found == [], "\n".join(f"{v.policy} {v.urn}: {v.message}" for v in found)


Mutation = Callable[[dict[str, Any]], object]

RESOURCE_CASES: list[tuple[str, str, Mutation, str]] = [
    (
        "k8s-requests-limits",
        "apps/v1:Deployment",
        lambda i: _container(i)["resources"].pop("requests"),
        "lacks resources",
    ),
    (
        "k8s-requests-limits",
        "apps/v1:Deployment",
        lambda i: _container(i)["resources"]["limits"].pop("memory"),
        "limits.memory",
    ),
    ("k8s-probes", "apps/v1:Deployment", lambda i: _container(i).pop("livenessProbe"), "no livenessProbe"),
    (
        "k8s-pod-security",
        "apps/v1:Deployment",
        lambda i: _container(i)["securityContext"].update(privileged=True),
        "privileged is true",
    ),
    (
        "k8s-pod-security",
        "apps/v1:Deployment",
        lambda i: _container(i)["securityContext"].update(allowPrivilegeEscalation=True),
        "allowPrivilegeEscalation",
    ),
    (
        "k8s-pod-security",
        "apps/v1:Deployment",
        lambda i: (
            _container(i)["securityContext"].pop("runAsNonRoot"),
            i["spec"]["template"]["spec"].pop("securityContext"),
        ),
        "runAsNonRoot is not true",
    ),
    (
        "k8s-readonly-root-fs",
        "apps/v1:Deployment",
        lambda i: _container(i)["securityContext"].update(readOnlyRootFilesystem=False),
        "writable root filesystem",
    ),
    ("k8s-image-pinned", "apps/v1:Deployment", lambda i: _container(i).update(image="nginx:latest"), "'latest'"),
    ("k8s-image-pinned", "apps/v1:Deployment", lambda i: _container(i).update(image="ghcr.io/x/nginx"), "has no tag"),
    ("k8s-no-loadbalancer", "core/v1:Service", lambda i: i["spec"].update(type="LoadBalancer"), "type LoadBalancer"),
]


@pytest.mark.parametrize(
    ("policy", "type_suffix", "change", "expected"), RESOURCE_CASES, ids=[f"{c[0]}:{c[3]}" for c in RESOURCE_CASES]
)
def test_mutation_is_caught(policy: str, type_suffix: str, change: Mutation, expected: str) -> None:
    records, urn = mutate(records_of(plan_of("prod")), type_suffix, change)
    found = [v for v in violations(records, "prod") if v.policy == policy]
    assert any(v.urn == urn and expected in v.message for v in found), found


def test_loadbalancer_can_be_allowed_by_name() -> None:
    records, _ = mutate(records_of(plan_of("prod")), "core/v1:Service", lambda i: i["spec"].update(type="LoadBalancer"))
    lb_name = next(
        r["inputs"]["metadata"]["name"] for r in records if r["inputs"].get("spec", {}).get("type") == "LoadBalancer"
    )
    config = {"k8s-no-loadbalancer": {"allowedServices": [lb_name]}}
    assert not [v for v in violations(records, "prod", config=config) if v.policy == "k8s-no-loadbalancer"]


def test_waiver_needs_a_reason_and_is_reported() -> None:
    from policies.check import GateInputError
    from policies.rules._support import WAIVERS

    records, urn = mutate(
        records_of(plan_of("prod")), "apps/v1:Deployment", lambda i: _container(i).update(image="nginx:latest")
    )
    WAIVERS.entries.clear()
    config = {
        "k8s-image-pinned": {
            "waivers": [{"urn": urn, "reason": "vendor image only published as latest; tracked in OPS-12"}]
        }
    }
    assert not [v for v in violations(records, "prod", config=config) if v.policy == "k8s-image-pinned"]
    assert WAIVERS.entries and WAIVERS.entries[0]["urn"] == urn
    with pytest.raises(GateInputError, match=r"k8s-image-pinned\.waivers\.0\.reason"):
        violations(records, "prod", config={"k8s-image-pinned": {"waivers": [{"urn": urn, "reason": "x"}]}})


def _stack_case(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records


def test_pinned_replicas_on_autoscaled_workload_is_caught() -> None:
    records, urn = mutate(records_of(plan_of("prod")), "apps/v1:Deployment", lambda i: i["spec"].update(replicas=3))
    found = [v for v in violations(records, "prod") if v.policy == "autoscaling-one-controller"]
    if not any(r["type"].endswith(("HorizontalPodAutoscaler", "ScaledObject")) for r in records):
        pytest.fail("the prod plan declares no autoscalers yet")
    assert any(v.urn == urn and "sets spec.replicas" in v.message for v in found), found


def test_missing_pdb_is_caught() -> None:
    records = [r for r in records_of(plan_of("prod")) if not r["type"].endswith("PodDisruptionBudget")]
    found = [v for v in violations(records, "prod") if v.policy == "k8s-pdb-for-replicated"]
    assert found and all("no PodDisruptionBudget" in v.message for v in found)


def test_prod_min_replicas_only_in_prod() -> None:
    prod_records = records_of(plan_of("prod"))
    scaler_types = ("HorizontalPodAutoscaler", "ScaledObject")
    if not any(r["type"].endswith(scaler_types) for r in prod_records):
        pytest.fail("the prod plan declares no autoscalers yet")

    def lower(inputs: dict[str, Any]) -> None:
        spec = inputs["spec"]
        spec["minReplicas" if "minReplicas" in spec or "maxReplicas" in spec else "minReplicaCount"] = 1

    for suffix in scaler_types:
        if any(r["type"].endswith(suffix) for r in prod_records):
            records, urn = mutate(prod_records, suffix, lower)
            prod = [v for v in violations(records, "prod") if v.policy == "autoscaling-prod-min-replicas"]
            assert any(v.urn == urn for v in prod)
            staging = [v for v in violations(records, "staging") if v.policy == "autoscaling-prod-min-replicas"]
            assert staging == []


def _scalers(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [r for r in records if r["type"].endswith(("HorizontalPodAutoscaler", "ScaledObject"))]
    assert found, "the plan declares no autoscalers"
    return found


def test_inverted_replica_range_is_caught() -> None:
    def invert(inputs: dict[str, Any]) -> None:
        spec = inputs["spec"]
        if "maxReplicas" in spec:
            spec.update(minReplicas=spec["maxReplicas"] + 5)
        else:
            spec.update(minReplicaCount=spec["maxReplicaCount"] + 5)

    for stack in ("staging", "prod"):
        records = records_of(plan_of(stack))
        for scaler in _scalers(records):
            mutated, urn = mutate(records, scaler["type"].rsplit("/", 1)[-1], invert, name=scaler["name"])
            found = [v for v in violations(mutated, stack) if v.policy == "autoscaling-min-le-max"]
            assert any(v.urn == urn and "is above max replicas" in v.message for v in found), (stack, urn, found)


def test_utilization_target_without_requests_is_caught() -> None:
    records = records_of(plan_of("prod"))
    scaled = [r for r in _scalers(records) if '"cpu"' in json.dumps(r["inputs"])]
    assert scaled, "no autoscaler scales on cpu utilization in prod"
    scaler = scaled[0]
    target = scaler["inputs"]["spec"]["scaleTargetRef"]["name"]

    def drop_cpu_request(inputs: dict[str, Any]) -> None:
        for container in inputs["spec"]["template"]["spec"]["containers"]:
            container["resources"]["requests"].pop("cpu", None)

    deployment = next(
        r for r in records if r["type"].endswith("apps/v1:Deployment") and r["inputs"]["metadata"]["name"] == target
    )
    mutated, _ = mutate(records, "apps/v1:Deployment", drop_cpu_request, name=deployment["name"])
    found = [v for v in violations(mutated, "prod") if v.policy == "autoscaling-utilization-needs-requests"]
    assert any(v.urn == scaler["urn"] and "no cpu request" in v.message for v in found), found
