"""The reachability rule passes on both plans and fails, naming the URN to fix, on plans whose
NetworkPolicies drop a declared edge (a port, a label) or open an undeclared one (an allow-all policy, a
use taken out of the declarations); plus the NetworkPolicy semantics it evaluates, case by case."""

from __future__ import annotations

import copy
import ipaddress
import json
from typing import Any

import pytest

from policies.rules._netpol import Address, Cluster, ContainerPort, Pod, parse_policy, representative, selector_matches
from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, records_of, violations

RULE = "wiring-reachability"
WIRING = "platform.example.com/network-wiring"


def _violations(records: list[dict[str, Any]], stack: str = "prod") -> list[Any]:
    return [v for v in violations(records, stack) if v.policy == RULE]


def _urn(records: list[dict[str, Any]], name: str) -> str:
    return next(r["urn"] for r in records if r["name"] == name)


def _wiring(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The annotations of the default-deny policy in ``records`` (a copy: the cached plan stays intact)."""
    deny = next(r for r in records if r["name"] == "network-default-deny")
    return deny["inputs"]["metadata"]["annotations"]


@pytest.mark.parametrize("stack", STACKS)
def test_both_plans_pass(stack: str) -> None:
    records = records_of(plan_of(stack))
    assert any(r["name"] == "network-default-deny" for r in records)
    assert _violations(records, stack) == []


def test_a_removed_port_breaks_the_declared_use() -> None:
    def drop_redis_port(inputs: dict[str, Any]) -> None:
        inputs["spec"]["egress"][0]["ports"] = [{"protocol": "TCP", "port": 6380}]

    records, _ = mutate(records_of(plan_of("prod")), "NetworkPolicy", drop_redis_port, "network-backend-egress")
    found = _violations(records)
    backend = _urn(records, "backend-deployment")
    assert any(v.urn == backend and "uses redis, but the NetworkPolicies deny" in v.message for v in found), found


def test_a_removed_istiod_egress_breaks_the_sidecars_use() -> None:
    def drop_istiod(inputs: dict[str, Any]) -> None:
        rules = inputs["spec"]["egress"]
        kept = [r for r in rules if {"protocol": "TCP", "port": 15012} not in r["ports"]]
        assert len(kept) == len(rules) - 1
        inputs["spec"]["egress"] = kept

    records, _ = mutate(records_of(plan_of("prod")), "NetworkPolicy", drop_istiod, "network-backend-egress")
    found = _violations(records)
    backend = _urn(records, "backend-deployment")
    assert any(
        v.urn == backend and "Deployment/backend uses istiod, but the NetworkPolicies deny" in v.message for v in found
    ), found


def test_a_removed_label_breaks_the_declared_use() -> None:
    def drop_label(inputs: dict[str, Any]) -> None:
        del inputs["spec"]["template"]["metadata"]["labels"]["redis-client"]

    records, urn = mutate(records_of(plan_of("prod")), "Deployment", drop_label, "api-gateway-deployment")
    found = _violations(records)
    assert any(v.urn == urn and "Deployment/api-gateway uses redis" in v.message for v in found), found


def test_an_extra_allow_all_policy_is_undeclared_reachability() -> None:
    records = copy.deepcopy(records_of(plan_of("prod")))
    deny = next(r for r in records if r["name"] == "network-default-deny")
    extra = copy.deepcopy(deny)
    extra["name"] = "allow-all"
    extra["urn"] = deny["urn"].replace("network-default-deny", "allow-all")
    extra["inputs"]["metadata"] = {"name": "allow-all", "namespace": "platform"}
    extra["inputs"]["spec"] = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}], "egress": [{}]}
    found = _violations([*records, extra])
    assert found
    frontend = _urn(records, "frontend-deployment")
    assert any(v.urn == frontend and "can reach" in v.message and "5432" in v.message for v in found), found
    assert any(extra["urn"] in v.message for v in found)
    assert any(v.urn == extra["urn"] for v in found), "a stranger's reach is reported at the policy that opens it"


def test_a_use_taken_out_of_the_declarations_is_undeclared_reachability() -> None:
    records = copy.deepcopy(records_of(plan_of("prod")))
    annotations = _wiring(records)
    doc = json.loads(annotations[WIRING])
    backend = next(c for c in doc["clients"] if c["role"] == "backend")
    backend["uses"].remove("redis")
    annotations[WIRING] = json.dumps(doc)
    found = _violations(records)
    urn = _urn(records, "backend-deployment")
    assert any(v.urn == urn and "Deployment/backend can reach StatefulSet/redis-shard-0" in v.message for v in found)


def test_a_workload_missing_from_the_declarations_is_reported() -> None:
    records = copy.deepcopy(records_of(plan_of("staging")))
    annotations = _wiring(records)
    doc = json.loads(annotations[WIRING])
    doc["clients"] = [c for c in doc["clients"] if c["role"] != "maintenance-daily"]
    annotations[WIRING] = json.dumps(doc)
    found = _violations(records, "staging")
    urn = _urn(records, "maintenance-daily")
    assert any(v.urn == urn and "declares no uses" in v.message for v in found), found


def test_sentinel_port_dropped_in_staging() -> None:
    def drop_sentinel(inputs: dict[str, Any]) -> None:
        inputs["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 26380}]

    records, _ = mutate(records_of(plan_of("staging")), "NetworkPolicy", drop_sentinel, "redis-sentinel-netpol")
    found = _violations(records, "staging")
    backend = _urn(records, "backend-deployment")
    assert any(v.urn == backend and "StatefulSet/redis-sentinel port 26379" in v.message for v in found), found


def test_no_default_deny_leaves_every_workload_unchecked() -> None:
    records = [r for r in records_of(plan_of("staging")) if r["name"] != "network-default-deny"]
    found = _violations(records, "staging")
    assert any(v.urn == _urn(records, "backend-deployment") and "no default-deny" in v.message for v in found)


# --- the semantics ---------------------------------------------------------------------------------


def _policy(spec: dict[str, Any], namespace: str = "app") -> Any:
    return parse_policy(f"urn:{len(str(spec))}", {"metadata": {"name": "p", "namespace": namespace}, "spec": spec})


WEB = Pod("web", "app", {"app": "web", "tier": "front"}, (ContainerPort("http", 8080), ContainerPort("metrics", 9090)))
DB = Pod("db", "app", {"app": "db"}, (ContainerPort("pg", 5432),))
PROM = Pod("prom", "monitoring", {"app": "prometheus"})


def test_selectors_take_labels_and_expressions() -> None:
    labels = {"app": "web", "tier": "front"}
    assert selector_matches({}, labels)
    assert selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "db"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, labels)  # fmt: skip
    assert selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "x", "operator": "Bogus"}]}, labels)


def test_unselected_pods_are_open_and_selected_ones_default_deny() -> None:
    assert Cluster([], {}).verdict(WEB, DB, 5432).allowed
    deny = _policy({"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]})
    assert not Cluster([deny], {}).verdict(WEB, DB, 5432).allowed
    assert Cluster([deny], {}).verdict(DB, WEB, 8080).allowed, "only db is isolated, and only for ingress"


def test_policy_types_default_from_the_rules_present() -> None:
    egress_only = _policy({"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]})
    assert egress_only.types == {"Ingress", "Egress"}
    assert not Cluster([egress_only], {}).verdict(WEB, DB, 5432).allowed


def test_named_ports_resolve_against_the_destination() -> None:
    deny_all = _policy({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    allow = _policy(
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                         "ports": [{"port": "metrics"}]}],
        }
    )  # fmt: skip
    cluster = Cluster([deny_all, allow], {})
    assert cluster.verdict(PROM, WEB, 9090).allowed
    assert not cluster.verdict(PROM, WEB, 8080).allowed
    assert not cluster.verdict(PROM, DB, 5432).allowed
    assert not cluster.verdict(WEB, WEB, 9090).allowed, "podSelector-less peer with namespaceSelector: that namespace"


def test_peers_intersect_namespace_and_pod_selectors() -> None:
    rule = {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "prometheus"}}}]}
    allow = _policy({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [rule]})
    cluster = Cluster([allow], {})
    assert cluster.verdict(PROM, DB, 5432).allowed
    assert not cluster.verdict(WEB, DB, 5432).allowed
    same_ns = _policy({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"podSelector": {}}]}]})
    assert Cluster([same_ns], {}).verdict(WEB, DB, 5432).allowed
    assert not Cluster([same_ns], {}).verdict(PROM, DB, 5432).allowed


def test_ip_blocks_ports_and_ranges() -> None:
    egress = _policy(
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                        "ports": [{"port": 5000, "endPort": 5999}]}],
        }
    )  # fmt: skip
    cluster = Cluster([egress], {})
    assert cluster.verdict(WEB, Address("a", ipaddress.ip_address("10.2.0.1")), 5432).allowed
    assert not cluster.verdict(WEB, Address("b", ipaddress.ip_address("10.1.0.1")), 5432).allowed
    assert not cluster.verdict(WEB, Address("c", ipaddress.ip_address("10.2.0.1")), 6000).allowed
    assert not cluster.verdict(WEB, Address("d", ipaddress.ip_address("10.2.0.1")), 5432, "UDP").allowed
    assert not cluster.verdict(WEB, DB, 5432).allowed, "ipBlocks do not match pods"
    assert representative("0.0.0.0/0", ["0.0.0.0/8"]) == ipaddress.ip_address("1.0.0.0")
