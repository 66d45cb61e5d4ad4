"""CdnRules on Pulumi's mock engine: what each stack declares on Cloudflare, in the engine's input shape.

Most tests run a small program that builds only the providers and the CDN components from a stack's
config (fast, and independent of other domains' work in progress); the last ones go through the full
``Platform`` to prove the wiring and the outputs contract.
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from components.cdn.expressions import check
from components.cdn.rules import PHASES
from components.platform.config import StackConfig, parse_config
from offline.engine import PlanResult, ResourceRecord, run_program
from tests.plans import STACKS, deep_merge, plan_of, stack_values

RULESET = "cloudflare:index/ruleset:Ruleset"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
REQUIRED_HEADERS = {
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Content-Security-Policy",
    "Referrer-Policy",
    "X-XSS-Protection",
}

PROGRAM = """
import pulumi
from components.cdn.component import CdnRules, CdnRulesArgs, cdn_outputs
from components.platform.config import load_from_pulumi
from components.platform.providers import build_providers

config = load_from_pulumi()
providers = build_providers(config)
opts = pulumi.ResourceOptions(provider=providers.cloudflare)
rules = {
    zone.name: CdnRules(
        f"cdn-{zone.key}",
        CdnRulesArgs(settings=config.cdn, zone=zone, environment=config.environment),
        opts=opts,
    )
    for zone in config.cdn.zones
}
pulumi.export("cdn", cdn_outputs(config.cdn, rules))
"""


@functools.cache
def _program() -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="cdn-program-")) / "program.py"
    path.write_text(PROGRAM)
    return path


def _values(stack: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    values = stack_values(stack)
    if changes:
        values = {**values, "cdn": deep_merge(values["cdn"], changes)}
    return values


@functools.cache
def cdn_plan(stack: str) -> PlanResult:
    return run_program(stack, _values(stack), _program())


def config_of(stack: str) -> StackConfig:
    return parse_config(stack_values(stack))


def rulesets(plan: PlanResult) -> list[ResourceRecord]:
    return [r for r in plan.resources if r.type == RULESET]


def ruleset(plan: PlanResult, phase: str, zone_id: str | None = None) -> dict[str, Any]:
    matches = [r.inputs for r in rulesets(plan) if r.inputs["phase"] == phase]
    if zone_id is not None:
        matches = [m for m in matches if m["zoneId"] == zone_id]
    assert len(matches) == 1
    return matches[0]


def rule(plan: PlanResult, phase: str, ref: str) -> dict[str, Any]:
    (found,) = [r for r in ruleset(plan, phase)["rules"] if r["ref"] == ref]
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_exactly_one_ruleset_per_phase_per_zone(stack: str) -> None:
    plan = cdn_plan(stack)
    counts = Counter((r.inputs["zoneId"], r.inputs["phase"]) for r in rulesets(plan))
    zones = {z.zone_id for z in config_of(stack).cdn.zones}
    assert counts == Counter({(zone, phase): 1 for zone in zones for phase in PHASES})
    for record in rulesets(plan):
        assert record.inputs["kind"] == "zone"
        assert record.provider and record.provider.endswith("pulumi:providers:cloudflare::cloudflare")


def test_each_configured_zone_gets_its_own_component() -> None:
    zones = [
        {"name": "example.com", "zone_id": "3b5c7d9e1f2a4b6c8d0e1f2a3b4c5d6e", "plan": "enterprise",
         "advanced_rate_limiting": True},
        {"name": "cdn.example.net", "zone_id": "ab" * 16, "plan": "enterprise", "advanced_rate_limiting": True},
    ]  # fmt: skip
    plan = run_program("prod", _values("prod", {"zones": zones}), _program())
    counts = Counter((r.inputs["zoneId"], r.inputs["phase"]) for r in rulesets(plan))
    assert counts == Counter({(z["zone_id"], p): 1 for z in zones for p in PHASES})
    components = [r.name for r in plan.resources if r.type == "platform:cdn:CdnRules"]
    assert components == ["cdn-example-com", "cdn-cdn-example-net"]
    assert set(plan.outputs["cdn"]["zones"]) == {"example.com", "cdn.example.net"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_rule_has_a_stable_ref_and_a_description(stack: str) -> None:
    for record in rulesets(cdn_plan(stack)):
        refs = [r["ref"] for r in record.inputs["rules"]]
        assert len(refs) == len(set(refs))
        for r in record.inputs["rules"]:
            assert r["ref"].replace("_", "").isalnum() and r["description"]

    # Stable: the same config gives the same refs (ids are never used as refs).
    def refs_by_phase(plan: PlanResult) -> dict[str, list[str]]:
        return {x.inputs["phase"]: [r["ref"] for r in x.inputs["rules"]] for x in rulesets(plan)}

    again = run_program(stack, _values(stack), _program())
    assert refs_by_phase(again) == refs_by_phase(cdn_plan(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_every_content_class_gets_its_ttls_from_config(stack: str) -> None:
    plan = cdn_plan(stack)
    classes = config_of(stack).cdn.content_classes
    assert classes, f"the {stack} stack configures no CDN content classes"
    for cls in classes:
        params = rule(plan, "http_request_cache_settings", f"cache_class_{cls.name}")["actionParameters"]
        assert params["cache"] is True
        if cls.origin_cache_control:
            # The origin decides: no Cache-Control, no edge copy; browsers get the origin's header.
            assert params["edgeTtl"] == {"mode": "bypass_by_default"}
            assert params["browserTtl"] == {"mode": "respect_origin"}
            continue
        assert params["edgeTtl"] == {"mode": "override_origin", "default": cls.edge_ttl_seconds}
        if cls.browser_ttl_seconds:
            assert params["browserTtl"] == {"mode": "override_origin", "default": cls.browser_ttl_seconds}
        else:
            assert params["browserTtl"] == {"mode": "bypass"}
        expression = rule(plan, "http_request_cache_settings", f"cache_class_{cls.name}")["expression"]
        assert all(f'"{ext}"' in expression for ext in cls.extensions)


def test_prod_api_public_is_cached_five_minutes_keyed_like_the_seed() -> None:
    api = rule(cdn_plan("prod"), "http_request_cache_settings", "cache_route_api_public")
    assert 'eq "/api/public"' in api["expression"] and '"/api/public/"' in api["expression"]
    assert 'http.request.method in {"GET" "HEAD"}' in api["expression"]
    params = api["actionParameters"]
    assert params["edgeTtl"] == {"mode": "override_origin", "default": 300}
    # Enterprise: the key is stated in full (query string in, original host), like $scheme$request_method$host$request_uri.
    assert params["cacheKey"]["customKey"] == {"queryString": {"include": {"all": True}}, "host": {"resolved": False}}
    assert params["cacheKey"]["ignoreQueryStringsOrder"] is False


def test_staging_business_zone_pins_the_default_key_without_custom_key() -> None:
    api = rule(cdn_plan("staging"), "http_request_cache_settings", "cache_route_api_public")
    assert api["actionParameters"]["edgeTtl"]["default"] == 60
    assert "customKey" not in api["actionParameters"]["cacheKey"]


@pytest.mark.parametrize("stack", STACKS)
def test_authenticated_requests_bypass_the_cache_and_that_rule_comes_last(stack: str) -> None:
    cache = ruleset(cdn_plan(stack), "http_request_cache_settings")["rules"]
    last = cache[-1]
    assert last["ref"] == "cache_bypass_authenticated" and last["actionParameters"] == {"cache": False}
    config = config_of(stack).cdn
    for cookie in config.bypass_cookies:
        assert f'http.request.cookies["{cookie}"]' in last["expression"]
    assert f'http.request.headers["{config.user_header}"]' in last["expression"]
    # Routes override classes (later cache rules win): every route rule sits after every class rule.
    refs = [r["ref"] for r in cache]
    assert max(i for i, r in enumerate(refs) if r.startswith("cache_class_")) < min(
        i for i, r in enumerate(refs) if r.startswith("cache_route_")
    )


@pytest.mark.parametrize("stack", STACKS)
def test_every_rate_limit_rule_counts_per_colo(stack: str) -> None:
    rules = ruleset(cdn_plan(stack), "http_ratelimit")["rules"]
    assert len(rules) == len(config_of(stack).cdn.rate_limits)
    for r in rules:
        assert "cf.colo.id" in r["ratelimit"]["characteristics"]
        assert "cf.colo.id" not in r["expression"]


def test_prod_rate_limits_carry_the_seed_figures() -> None:
    plan = cdn_plan("prod")
    per_ip = rule(plan, "http_ratelimit", "ratelimit_per_ip")["ratelimit"]
    assert per_ip["characteristics"] == ["cf.colo.id", "ip.src"]
    assert (per_ip["requestsPerPeriod"], per_ip["period"]) == (1_000, 60)
    per_user = rule(plan, "http_ratelimit", "ratelimit_per_user")
    assert per_user["ratelimit"]["characteristics"] == ["cf.colo.id", 'http.request.headers["authorization"]']
    assert per_user["ratelimit"]["requestsPerPeriod"] == 100
    assert 'len(http.request.headers["authorization"]) > 0' in per_user["expression"]
    glob = rule(plan, "http_ratelimit", "ratelimit_global")["ratelimit"]
    assert glob["characteristics"] == ["cf.colo.id", "http.host"] and glob["requestsPerPeriod"] == 10_000


@pytest.mark.parametrize("stack", STACKS)
def test_security_headers_are_set_on_every_response(stack: str) -> None:
    security = rule(cdn_plan(stack), "http_response_headers_transform", "headers_security")
    assert security["expression"] == "true" and security["action"] == "rewrite"
    headers = security["actionParameters"]["headers"]
    assert set(headers) >= REQUIRED_HEADERS
    assert all(h["operation"] == "set" and h["value"] for h in headers.values())
    assert headers["X-Content-Type-Options"]["value"] == "nosniff"
    hsts = config_of(stack).cdn.security_headers.hsts_max_age_seconds
    assert headers["Strict-Transport-Security"]["value"].startswith(f"max-age={hsts}")


def test_fingerprinted_assets_get_immutable_cache_control() -> None:
    immutable = rule(cdn_plan("prod"), "http_response_headers_transform", "headers_immutable_static")
    assert immutable["actionParameters"]["headers"]["Cache-Control"] == {
        "operation": "set",
        "value": "public, max-age=31536000, immutable",
    }
    assert "http.response.code eq 200" in immutable["expression"]


@pytest.mark.parametrize("stack", STACKS)
def test_compression_prefers_brotli_then_gzip(stack: str) -> None:
    (compress,) = ruleset(cdn_plan(stack), "http_response_compression")["rules"]
    assert compress["action"] == "compress_response"
    assert compress["actionParameters"]["algorithms"] == [{"name": "brotli"}, {"name": "gzip"}]
    assert '"text/html"' in compress["expression"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_emitted_expression_parses(stack: str) -> None:
    for record in rulesets(cdn_plan(stack)):
        for r in record.inputs["rules"]:
            check(r["expression"])


@pytest.mark.parametrize("stack", STACKS)
def test_zone_settings(stack: str) -> None:
    settings = {r.inputs["settingId"]: r.inputs["value"] for r in cdn_plan(stack).resources if r.type == ZONE_SETTING}
    assert settings == {"http3": "on", "min_tls_version": "1.2", "always_use_https": "on", "0rtt": "off"}


def test_zero_rtt_only_when_configured() -> None:
    plan = run_program("staging", _values("staging", {"zero_rtt": True, "min_tls_version": "1.3"}), _program())
    settings = {r.inputs["settingId"]: r.inputs["value"] for r in plan.resources if r.type == ZONE_SETTING}
    assert settings["0rtt"] == "on" and settings["min_tls_version"] == "1.3"


def test_staging_and_prod_render_different_config_driven_values() -> None:
    staging, prod = cdn_plan("staging"), cdn_plan("prod")
    s_cfg, p_cfg = config_of("staging").cdn, config_of("prod").cdn

    def edge_ttls(plan: PlanResult) -> dict[str, int]:
        return {
            r["ref"]: r["actionParameters"]["edgeTtl"]["default"]
            for r in ruleset(plan, "http_request_cache_settings")["rules"]
            if "default" in r["actionParameters"].get("edgeTtl", {})
        }

    assert edge_ttls(staging) != edge_ttls(prod)
    assert (
        edge_ttls(staging)["cache_class_images"]
        == next(c for c in s_cfg.content_classes if c.name == "images").edge_ttl_seconds
    )
    assert (
        edge_ttls(prod)["cache_class_images"]
        == next(c for c in p_cfg.content_classes if c.name == "images").edge_ttl_seconds
    )
    s_limits = [r["ref"] for r in ruleset(staging, "http_ratelimit")["rules"]]
    p_limits = [r["ref"] for r in ruleset(prod, "http_ratelimit")["rules"]]
    assert s_limits == ["ratelimit_per_ip"] and p_limits == [
        "ratelimit_per_ip",
        "ratelimit_per_user",
        "ratelimit_global",
    ]
    s_ip = rule(staging, "http_ratelimit", "ratelimit_per_ip")["ratelimit"]
    assert (s_ip["period"], s_ip["requestsPerPeriod"]) == (10, 100)  # 600/min counted over 10 s
    assert staging.outputs["cdn"]["purge_token_name"] != prod.outputs["cdn"]["purge_token_name"]
    s_hsts = rule(staging, "http_response_headers_transform", "headers_security")["actionParameters"]["headers"]
    assert s_hsts["Strict-Transport-Security"]["value"].startswith("max-age=86400")


def test_a_config_change_changes_the_rendered_rules() -> None:
    plan = run_program("prod", _values("prod", {"compression": ["zstd", "brotli", "gzip"]}), _program())
    (compress,) = ruleset(plan, "http_response_compression")["rules"]
    assert [a["name"] for a in compress["actionParameters"]["algorithms"]] == ["zstd", "brotli", "gzip"]


@pytest.mark.parametrize("stack", STACKS)
def test_platform_wires_cdn_and_exports_the_contract(stack: str) -> None:
    plan = plan_of(stack)
    config = config_of(stack).cdn
    components = [r for r in plan.resources if r.type == "platform:cdn:CdnRules"]
    assert [c.name for c in components] == [f"cdn-{z.key}" for z in config.zones]
    assert all(c.parent and c.parent.endswith(f"platform:index:Platform::platform-{stack}") for c in components)
    cdn = plan.outputs["cdn"]
    assert cdn["purge_token_name"] == config.purge_token_name
    for zone in config.zones:
        exported = cdn["zones"][zone.name]
        assert exported["zone_id"] == zone.zone_id and exported["plan"] == zone.plan
        ids = {r.inputs["phase"]: r for r in plan.resources if r.type == RULESET and r.inputs["zoneId"] == zone.zone_id}
        assert set(exported["rulesets"]) == set(PHASES) == set(ids)
        assert all(len(v) == 32 for v in exported["rulesets"].values())


def test_disabled_cdn_declares_nothing_and_exports_no_section() -> None:
    from tests.plans import plan_with

    plan = plan_with("staging", {"cdn": {"enabled": False}})
    assert not [r for r in plan.resources if r.type.startswith("cloudflare:")]
    assert "cdn" not in plan.outputs


@pytest.mark.parametrize("stack", STACKS)
def test_documents_are_cached_only_as_the_origin_says(stack: str) -> None:
    """HTML and JSON never get a forced edge TTL: a personalised page without Cache-Control stays uncached."""
    plan = cdn_plan(stack)
    text = rule(plan, "http_request_cache_settings", "cache_class_text")
    assert '"html"' in text["expression"] and '"json"' in text["expression"]
    assert text["actionParameters"]["edgeTtl"] == {"mode": "bypass_by_default"}


@pytest.mark.parametrize("stack", STACKS)
def test_any_session_cookie_or_credential_header_bypasses_the_cache_last(stack: str) -> None:
    rules = ruleset(cdn_plan(stack), "http_request_cache_settings")["rules"]
    bypass = rules[-1]
    assert bypass["ref"] == "cache_bypass_authenticated" and bypass["actionParameters"] == {"cache": False}
    cdn = config_of(stack).cdn
    assert len(cdn.bypass_cookies) >= 10, "common session cookie names by default"
    for cookie in (*cdn.bypass_cookies, "PHPSESSID", "JSESSIONID", "connect.sid", "sessionid"):
        assert f'len(http.request.cookies["{cookie}"]) > 0' in bypass["expression"]
    assert 'len(http.request.headers["authorization"]) > 0' in bypass["expression"]
    assert check(bypass["expression"]).fields


def test_bypass_on_any_cookie() -> None:
    from components.cdn.config import CdnSettings
    from components.cdn.rules import bypass_rule

    expression = bypass_rule(CdnSettings(bypass_on_any_cookie=True, bypass_cookies=()))["expression"]
    assert expression.startswith("len(http.cookie) > 0 or ") and check(expression).fields


def test_csp_is_set_per_path_not_blanket() -> None:
    plan = cdn_plan("prod")
    security = rule(plan, "http_response_headers_transform", "headers_security")["actionParameters"]["headers"]
    baseline = security["Content-Security-Policy"]["value"]
    assert "default-src" not in baseline and "frame-ancestors 'none'" in baseline
    account = rule(plan, "http_response_headers_transform", "headers_csp_account")
    assert (
        account["expression"]
        == '(http.request.uri.path eq "/account" or starts_with(http.request.uri.path, "/account/"))'
    )
    assert account["actionParameters"]["headers"]["Content-Security-Policy"]["value"].startswith("default-src 'self'")
    assert check(account["expression"]).fields == {"http.request.uri.path"}


def test_longest_csp_prefix_comes_last_and_baseline_can_be_dropped() -> None:
    from components.cdn.config import CdnSettings
    from components.cdn.rules import header_rules

    settings = CdnSettings.model_validate(
        {
            "security_headers": {
                "content_security_policy": None,
                "content_security_policies": [
                    {"path_prefix": "/app/admin", "policy": "default-src 'none'"},
                    {"path_prefix": "/app", "policy": "default-src 'self'"},
                ],
            }
        }
    )
    rules = header_rules(settings)
    assert "Content-Security-Policy" not in rules[0]["action_parameters"]["headers"]
    csp = [r["ref"] for r in rules if r["ref"].startswith("headers_csp")]
    assert csp == ["headers_csp_app", "headers_csp_app_admin"]
