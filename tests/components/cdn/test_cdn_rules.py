"""Pure rule builders: plan-dependent shapes, ordering, and the last-line check before anything is declared."""

from __future__ import annotations

import copy

import pytest

from components.cdn.config import CachedRoute, CdnSettings, CdnZone, RateLimit
from components.cdn.rules import (
    CACHE_PHASE,
    RATELIMIT_PHASE,
    phase_rules,
    route_cache_key,
    verify,
    zone_settings,
)

ENTERPRISE = CdnZone(name="example.com", zone_id="ab" * 16, plan="enterprise", advanced_rate_limiting=True)
BUSINESS = CdnZone(name="example.com", zone_id="ab" * 16, plan="business")


def _settings(**changes: object) -> CdnSettings:
    return CdnSettings.model_validate({"zones": [ENTERPRISE.model_dump()], **changes})


def test_rule_counts_follow_the_config() -> None:
    settings = CdnSettings()
    rules = phase_rules(settings, settings.zones[0])
    assert len(rules[CACHE_PHASE]) == settings.cache_rule_count() == 4 + 1 + 1
    assert len(rules["http_response_headers_transform"]) == settings.header_rule_count() == 2
    assert len(rules[RATELIMIT_PHASE]) == 1


def test_uncached_route_bypasses_for_every_method() -> None:
    settings = _settings(
        routes=[{"name": "private", "path_prefix": "/api/private", "edge_ttl_seconds": 0, "cache": False}]
    )
    (route,) = [r for r in phase_rules(settings, ENTERPRISE)[CACHE_PHASE] if r["ref"] == "cache_route_private"]
    assert route["action_parameters"] == {"cache": False}
    assert "http.request.method" not in route["expression"]


def test_custom_cache_key_only_on_enterprise() -> None:
    seed = CachedRoute(name="api", path_prefix="/api/public", edge_ttl_seconds=300)
    no_query = CachedRoute(
        name="api", path_prefix="/api/public", edge_ttl_seconds=300, cache_key=("scheme", "method", "host", "uri")
    )
    assert "custom_key" not in route_cache_key(seed, BUSINESS)
    assert route_cache_key(seed, ENTERPRISE)["custom_key"]["query_string"] == {"include": {"all": True}}
    assert route_cache_key(no_query, ENTERPRISE)["custom_key"]["query_string"] == {"exclude": {"all": True}}


def test_rate_limit_periods_convert_the_per_minute_figure() -> None:
    settings = _settings(
        rate_limits=[
            {"name": "burst", "requests_per_minute": 600, "counting": "ip", "period_seconds": 10},
            {
                "name": "hourly",
                "requests_per_minute": 100,
                "counting": "ip",
                "period_seconds": 3600,
                "path_prefix": "/a",
            },
        ]
    )
    limits = {r["ref"]: r["ratelimit"] for r in phase_rules(settings, ENTERPRISE)[RATELIMIT_PHASE]}
    assert (limits["ratelimit_burst"]["period"], limits["ratelimit_burst"]["requests_per_period"]) == (10, 100)
    assert limits["ratelimit_hourly"]["requests_per_period"] == 6_000
    assert RateLimit(name="x", requests_per_minute=100, counting="ip").requests_per_period == 100


def test_verify_rejects_a_malformed_expression() -> None:
    rules = phase_rules(CdnSettings(), CdnSettings().zones[0])
    broken = copy.deepcopy(rules)
    broken[CACHE_PHASE][0]["expression"] = 'http.request.uri.path.extension in {"js" "css"'
    with pytest.raises(ValueError, match=r"http_request_cache_settings rule cache_class_static: expected '\}'"):
        verify(broken)


def test_verify_rejects_a_rate_limit_without_the_colo_characteristic() -> None:
    rules = phase_rules(CdnSettings(), CdnSettings().zones[0])
    rules[RATELIMIT_PHASE][0]["ratelimit"]["characteristics"] = ["ip.src"]
    with pytest.raises(ValueError, match=r"cf\.colo\.id is mandatory"):
        verify(rules)


def test_verify_rejects_repeated_refs() -> None:
    rules = phase_rules(CdnSettings(), CdnSettings().zones[0])
    rules[CACHE_PHASE].append(copy.deepcopy(rules[CACHE_PHASE][0]))
    with pytest.raises(ValueError, match="ref 'cache_class_static' repeats"):
        verify(rules)


def test_zone_settings_follow_config() -> None:
    specs = {s.setting_id: s.value for s in zone_settings(_settings(http3=False, always_use_https=False))}
    assert specs == {"http3": "off", "min_tls_version": "1.2", "always_use_https": "off", "0rtt": "off"}
