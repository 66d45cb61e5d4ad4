"""Every DestinationRule and VirtualService of both plans passes the real Istio 1.30.3 CRD schema, strictly
(unknown fields rejected, the CRDs' CEL rules evaluated); the checker itself rejects what the API server would."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.components.traffic.crd_schema import crd_version_schema, go_duration_seconds, problems
from tests.plans import STACKS, manifests_of_kind, plan_of, stack_values


def _traffic_objects(stack: str) -> list[dict[str, Any]]:
    plan = plan_of(stack)
    return manifests_of_kind(plan, "DestinationRule") + manifests_of_kind(plan, "VirtualService")


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_traffic_object_validates_against_its_crd(stack: str) -> None:
    objects = _traffic_objects(stack)
    services = [s["name"] for s in stack_values(stack)["services"]]
    assert len(objects) == 2 * len(services), "one DestinationRule and one VirtualService per service"
    for manifest in objects:
        assert problems(manifest) == [], manifest["metadata"]["name"]


def _first(kind: str) -> dict[str, Any]:
    plan = plan_of("prod")
    return copy.deepcopy(manifests_of_kind(plan, kind)[0])


def _set(manifest: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node: Any = manifest
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    node[keys[-1]] = value
    return manifest


BAD = [
    ("DestinationRule", "spec.trafficPolicy.outlierDetection.consecutive5xxErros", 5, "consecutive5xxErros"),
    ("DestinationRule", "spec.trafficPolicy.outlierDetection.interval", "10", "valid duration"),
    ("DestinationRule", "spec.trafficPolicy.outlierDetection.baseEjectionTime", "0s", "valid duration"),
    ("DestinationRule", "spec.trafficPolicy.loadBalancer.simple", "WEIGHTED_ROUND_ROBIN", "is not one of"),
    ("DestinationRule", "spec.trafficPolicy.connectionPool.http.maxRequests", 10, "maxRequests"),
    ("DestinationRule", "spec.trafficPolicy.connectionPool.tcp.maxConnections", "many", "is not of type"),
    ("VirtualService", "spec.http.0.retries.perTryTimeout", "2 seconds", "valid duration"),
    ("VirtualService", "spec.http.0.retries.backoff", "0.5ms", "valid duration"),
    ("VirtualService", "spec.http.0.route.0.weight", "100", "is not of type"),
    ("VirtualService", "spec.http.0.timeouts", "10s", "timeouts"),
    ("VirtualService", "spec.http.0.retries.jitter", True, "jitter"),
]


@pytest.mark.parametrize(("kind", "path", "value", "expected"), BAD, ids=[b[1].rsplit(".", 1)[-1] for b in BAD])
def test_the_checker_rejects_what_the_api_server_would(kind: str, path: str, value: Any, expected: str) -> None:
    manifest = _set(_first(kind), path, value)
    found = problems(manifest)
    assert any(expected in p for p in found), found


def test_the_crds_cel_rules_on_maps_are_evaluated() -> None:
    manifest = _first("DestinationRule")
    manifest["spec"]["workloadSelector"] = {"matchLabels": {"version": "v*"}}
    assert any("wildcard not allowed in label value match" in p for p in problems(manifest))
    manifest["spec"]["workloadSelector"] = {"matchLabels": {"": "v1"}}
    assert any("key must not be empty" in p for p in problems(manifest))


def test_unknown_cel_rules_are_not_skipped() -> None:
    schema = crd_version_schema("VirtualService")
    rules = [
        r["rule"]
        for r in schema["properties"]["spec"]["properties"]["http"]["items"]["properties"]["timeout"][
            "x-kubernetes-validations"
        ]
    ]
    assert rules == ["duration(self) >= duration('1ms')"]


def test_go_durations() -> None:
    assert go_duration_seconds("1m30s") == 90
    assert go_duration_seconds("25ms") == pytest.approx(0.025)
    with pytest.raises(ValueError):
        go_duration_seconds("10")
