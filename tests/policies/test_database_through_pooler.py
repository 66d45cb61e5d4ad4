"""database-through-pooler: both plans pass; a service the NetworkPolicies let reach PostgreSQL, one whose env or
ConfigMap names a PostgreSQL Service, and a job taken off the direct-client list fail naming the URN."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, pack_config, records_of, violations

POLICY = "database-through-pooler"


def _found(records: list[dict[str, Any]], stack: str = "prod", config: dict[str, Any] | None = None) -> list[Any]:
    return [v for v in violations(records, stack, config=config) if v.policy == POLICY]


def _urn(records: list[dict[str, Any]], name: str) -> str:
    return next(r["urn"] for r in records if r["name"] == name)


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_pass(stack: str) -> None:
    records = records_of(plan_of(stack))
    assert any(r["name"] == "database-pooler" for r in records), "the plan declares no pooler: nothing is checked"
    assert any(r["name"] == "backend-deployment" for r in records)
    assert _found(records, stack) == []


def test_without_network_policies_every_service_reaches_postgres() -> None:
    records = [r for r in records_of(plan_of("prod")) if not r["type"].endswith(":NetworkPolicy")]
    urns = {v.urn for v in _found(records)}
    assert _urn(records, "backend-deployment") in urns
    assert _urn(records, "frontend-deployment") in urns
    assert _urn(records, "database-pooler") not in urns


def test_a_policy_admitting_the_backend_fails_naming_it() -> None:
    records = records_of(plan_of("prod"))
    backend = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "backend"}}}
    records, _ = mutate(
        records,
        ":NetworkPolicy",
        lambda i: i["spec"]["ingress"][0]["from"].append(backend),
        "network-database-server-ingress",
    )
    records, _ = mutate(records, ":NetworkPolicy", lambda i: i["spec"]["egress"].append({}), "network-backend-egress")
    found = _found(records)
    assert [v.urn for v in found] == [_urn(records, "backend-deployment")] * 2, [v.message for v in found]
    assert "network-database-server-ingress" in found[0].message


@pytest.mark.parametrize(
    "host", ["database-rw", "database-ro.platform.svc.cluster.local", "postgres://database-rw:5432/app"]
)
def test_env_naming_a_postgres_service_fails(host: str) -> None:
    def add_env(inputs: dict[str, Any]) -> None:
        inputs["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
            {"name": "DB_HOST", "value": host}
        )

    records, urn = mutate(records_of(plan_of("prod")), ":Deployment", add_env, "backend-deployment")
    found = _found(records)
    assert [v.urn for v in found] == [urn], [v.message for v in found]
    assert "env DB_HOST names the database Service" in found[0].message


def test_env_naming_the_pooler_passes() -> None:
    def add_env(inputs: dict[str, Any]) -> None:
        env = {"name": "DB_HOST", "value": "database-pooler.platform.svc"}
        inputs["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(env)

    records, _ = mutate(records_of(plan_of("prod")), ":Deployment", add_env, "backend-deployment")
    assert _found(records) == []


def test_configmap_read_by_a_service_naming_a_postgres_service_fails() -> None:
    records = records_of(plan_of("prod"))
    template = next(r for r in records if r["type"].endswith(":ConfigMap") and r["name"] == "database-pooler-config")
    added = copy.deepcopy(template)
    added["name"] = "backend-settings"
    added["urn"] = template["urn"].rsplit("::", 1)[0] + "::backend-settings"
    added["inputs"]["metadata"]["name"] = "backend-settings"
    added["inputs"]["data"] = {"DATABASE_HOST": "database-ro:5432"}
    records.append(added)
    records, _ = mutate(
        records,
        ":Deployment",
        lambda i: (
            i["spec"]["template"]["spec"]["containers"][0]
            .setdefault("envFrom", [])
            .append({"configMapRef": {"name": "backend-settings"}})
        ),
        "backend-deployment",
    )
    found = _found(records)
    assert [v.urn for v in found] == [added["urn"]], [v.message for v in found]


def test_a_job_off_the_direct_list_fails() -> None:
    config = pack_config("prod")
    config[POLICY] = {
        "directClientComponents": ["database", "pooler", "database-exporter", "backup", "backup-restore-test"]
    }
    records = records_of(plan_of("prod"))
    found = _found(records, config=config)
    assert found and all("maintenance" in v.urn for v in found), [v.message for v in found]
