"""CDN rules: compliant on both real plans, and each catches its mutation naming the resource."""

from __future__ import annotations

import copy
from typing import Any

from tests.plans import plan_of
from tests.policies.helpers import mutate, records_of, violations

RULESET = "cloudflare:index/ruleset:Ruleset"


def _of_policy(records: list[dict[str, Any]], policy: str) -> list[Any]:
    return [v for v in violations(records, "prod") if v.policy == policy]


def _phase(records: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    return next(r for r in records if r["type"] == RULESET and r["inputs"]["phase"] == phase)


def test_real_plans_pass_the_cdn_rules() -> None:
    found = {
        stack: [v for v in violations(records_of(plan_of(stack)), stack) if v.policy.startswith("cdn-")]
        for stack in ("staging", "prod")
    }
    assert found == {"staging": [], "prod": []}, found


def test_second_ruleset_for_a_phase_is_caught() -> None:
    records = records_of(plan_of("prod"))
    duplicate = copy.deepcopy(_phase(records, "http_request_cache_settings"))
    duplicate["urn"] += "-copy"
    duplicate["name"] += "-copy"
    found = _of_policy([*records, duplicate], "cdn-one-ruleset-per-phase")
    assert {v.urn for v in found} == {duplicate["urn"], _phase(records, "http_request_cache_settings")["urn"]}


def test_old_tls_is_caught() -> None:
    records, urn = mutate(
        records_of(plan_of("prod")),
        "zoneSetting:ZoneSetting",
        lambda i: i.update(value="1.0"),
        name=next(r["name"] for r in records_of(plan_of("prod")) if r["inputs"].get("settingId") == "min_tls_version"),
    )
    assert any(v.urn == urn and "TLS 1.0" in v.message for v in _of_policy(records, "cdn-min-tls-1-2"))


def test_missing_min_tls_setting_is_caught() -> None:
    records = [r for r in records_of(plan_of("prod")) if r["inputs"].get("settingId") != "min_tls_version"]
    assert any("does not declare min_tls_version" in v.message for v in _of_policy(records, "cdn-min-tls-1-2"))


def test_missing_hsts_is_caught() -> None:
    def drop_hsts(inputs: dict[str, Any]) -> None:
        for rule in inputs["rules"]:
            rule.get("actionParameters", {}).get("headers", {}).pop("Strict-Transport-Security", None)

    records = records_of(plan_of("prod"))
    name = _phase(records, "http_response_headers_transform")["name"]
    records, urn = mutate(records, "ruleset:Ruleset", drop_hsts, name=name)
    assert any(v.urn == urn and "Strict-Transport-Security" in v.message for v in _of_policy(records, "cdn-hsts"))


def test_ratelimit_without_colo_is_caught() -> None:
    records = records_of(plan_of("prod"))
    name = _phase(records, "http_ratelimit")["name"]

    def drop_colo(inputs: dict[str, Any]) -> None:
        inputs["rules"][0]["ratelimit"]["characteristics"].remove("cf.colo.id")

    records, urn = mutate(records, "ruleset:Ruleset", drop_colo, name=name)
    assert any(v.urn == urn and "lacks cf.colo.id" in v.message for v in _of_policy(records, "cdn-ratelimit-per-colo"))
