"""CDN settings: seed defaults, and every bad input (conflicting routes, TTL 0 with cache on, a zero rate,
a feature above the zone's plan) is a config error naming its YAML key."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from components.cdn.config import PLAN_LIMITS, CdnSettings, CdnZone
from components.platform.config import ConfigError, parse_config
from tests.plans import deep_merge, stack_values


def _cdn(changes: dict[str, Any], stack: str = "prod") -> dict[str, Any]:
    values = stack_values(stack)
    return {**values, "cdn": deep_merge(values["cdn"], changes)}


def _zone(plan: str, **extra: Any) -> dict[str, Any]:
    return {"zones": [{"name": "example.com", "zone_id": "ab" * 16, "plan": plan, **extra}]}


def _problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(values)
    return info.value.problems


def test_defaults_are_the_seed_figures() -> None:
    cdn = CdnSettings()
    ttl = {c.name: (c.edge_ttl_seconds, c.browser_ttl_seconds, c.immutable) for c in cdn.content_classes}
    assert ttl["static"] == (31_536_000, 31_536_000, True)
    assert ttl["images"][0] == 30 * 86_400
    assert ttl["videos"][0] == 7 * 86_400
    assert ttl["text"][0] == 86_400
    (api,) = cdn.routes
    assert (api.path_prefix, api.edge_ttl_seconds) == ("/api/public", 300)
    assert api.cache_key == ("scheme", "method", "host", "uri", "query")
    assert [(r.counting, r.requests_per_minute) for r in cdn.rate_limits] == [("ip", 1_000)]
    assert cdn.http3 and not cdn.zero_rtt and cdn.min_tls_version == "1.2" and cdn.always_use_https
    assert cdn.compression == ("brotli", "gzip")


def test_prod_stack_carries_all_three_seed_limits() -> None:
    prod = parse_config(stack_values("prod")).cdn
    limits = {r.name: (r.counting, r.requests_per_minute) for r in prod.rate_limits}
    assert limits == {"per-ip": ("ip", 1_000), "per-user": ("user", 100), "global": ("colo", 10_000)}
    assert prod.zones[0].plan == "enterprise" and prod.zones[0].advanced_rate_limiting


BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "overlapping routes, different TTLs",
        {
            "routes": [
                {"name": "api", "path_prefix": "/api", "edge_ttl_seconds": 600},
                {"name": "api-public", "path_prefix": "/api/public", "edge_ttl_seconds": 300},
            ]
        },
        "cdn.routes[1].path_prefix: '/api/public' overlaps routes[0] '/api' with a different TTL",
    ),
    (
        "TTL 0 with cache on",
        {"routes": [{"name": "api-public", "path_prefix": "/api/public", "edge_ttl_seconds": 0}]},
        "cdn.routes[0].edge_ttl_seconds: 0 with cache on",
    ),
    (
        "rate limit of 0",
        {"rate_limits": [{"name": "per-ip", "requests_per_minute": 0, "counting": "ip"}]},
        "cdn.rate_limits[0].requests_per_minute: 0 is not above the minimum (exclusive) 0",
    ),
    (
        "class edge TTL 0",
        {"content_classes": [{"name": "x", "extensions": ["js"], "edge_ttl_seconds": 0, "browser_ttl_seconds": 0}]},
        "cdn.content_classes[0].edge_ttl_seconds: 0 is not above the minimum (exclusive) 0",
    ),
    (
        "per-user counting on business",
        {**_zone("business"), "rate_limits": [{"name": "u", "requests_per_minute": 100, "counting": "user"}]},
        "cdn.rate_limits[0].counting: 'user' needs header characteristics, an Enterprise Advanced Rate Limiting",
    ),
    (
        "global (colo) counting on enterprise without the add-on",
        {**_zone("enterprise"), "rate_limits": [{"name": "g", "requests_per_minute": 10_000, "counting": "colo"}]},
        "cdn.rate_limits[0].counting: 'colo' needs the host characteristic",
    ),
    (
        "advanced rate limiting below enterprise",
        {**_zone("business", advanced_rate_limiting=True), "rate_limits": []},
        "cdn.zones[0].advanced_rate_limiting: an Enterprise add-on",
    ),
    (
        "edge TTL below the pro minimum",
        {**_zone("pro"), "rate_limits": []},
        "cdn.routes[0].edge_ttl_seconds: 300 is below the minimum edge TTL 3600; zones[0] 'example.com' is on the pro",
    ),
    (
        "period longer than the plan allows",
        {
            **_zone("pro"),
            "routes": [],
            "rate_limits": [{"name": "ip", "requests_per_minute": 60, "counting": "ip", "period_seconds": 600}],
        },
        "cdn.rate_limits[0].period_seconds: 600 exceeds the longest period 60 s",
    ),
    (
        "too many rate-limit rules for pro",
        {
            **_zone("pro"),
            "routes": [],
            "rate_limits": [
                {"name": f"r{i}", "requests_per_minute": 60, "counting": "ip", "path_prefix": f"/p{i}"}
                for i in range(3)
            ],
        },
        "cdn.rate_limits: needs 3 rate limiting rules; zones[0] 'example.com' is on the pro plan, which allows 2",
    ),
    (
        "log action below enterprise",
        {
            **_zone("business"),
            "rate_limits": [{"name": "ip", "requests_per_minute": 60, "counting": "ip", "action": "log"}],
        },
        "cdn.rate_limits[0].action: 'log' is an Enterprise action",
    ),
    (
        "challenge with a duration below enterprise",
        {
            **_zone("business"),
            "rate_limits": [{"name": "ip", "requests_per_minute": 60, "counting": "ip", "action": "managed_challenge"}],
        },
        "cdn.rate_limits[0].mitigation_timeout_seconds: challenge actions below Enterprise must use 0",
    ),
    (
        "throttling block below enterprise",
        {
            **_zone("business"),
            "rate_limits": [
                {"name": "ip", "requests_per_minute": 60, "counting": "ip", "mitigation_timeout_seconds": 0}
            ],
        },
        "cdn.rate_limits[0].mitigation_timeout_seconds: 0 (throttle) with block is Enterprise only",
    ),
    (
        "mitigation timeout above the free plan",
        {
            **_zone("free"),
            "routes": [],
            "content_classes": [],
            "rate_limits": [{"name": "ip", "requests_per_minute": 60, "counting": "ip", "period_seconds": 10}],
        },
        "cdn.rate_limits[0].mitigation_timeout_seconds: 60 exceeds 10 s",
    ),
    (
        "custom cache key below enterprise",
        {
            **_zone("business"),
            "routes": [
                {
                    "name": "api-public",
                    "path_prefix": "/api/public",
                    "edge_ttl_seconds": 300,
                    "cache_key": ["scheme", "method", "host", "uri"],
                }
            ],
        },
        "cdn.routes[0].cache_key: leaving out the query string needs a custom cache key (Enterprise)",
    ),
    (
        "cache key without the host",
        {"routes": [{"name": "a", "path_prefix": "/a", "edge_ttl_seconds": 60, "cache_key": ["scheme", "uri"]}]},
        "cdn.routes[0].cache_key: ['method', 'host'] cannot be left out",
    ),
    (
        "rate that does not divide into the period",
        {"rate_limits": [{"name": "ip", "requests_per_minute": 1_000, "counting": "ip", "period_seconds": 10}]},
        "cdn.rate_limits[0].period_seconds: 1000/min over 10 s is not a whole number",
    ),
    (
        "period not offered by the API",
        {"rate_limits": [{"name": "ip", "requests_per_minute": 60, "counting": "ip", "period_seconds": 30}]},
        "cdn.rate_limits[0].period_seconds: 30 is not allowed",
    ),
    (
        "extension in two classes",
        {
            "content_classes": [
                {"name": "a", "extensions": ["js"], "edge_ttl_seconds": 60, "browser_ttl_seconds": 60},
                {"name": "b", "extensions": ["js"], "edge_ttl_seconds": 60, "browser_ttl_seconds": 60},
            ]
        },
        "cdn.content_classes[1].extensions: 'js' is already in class 'a'",
    ),
    ("uppercase user header", {"user_header": "Authorization"}, "cdn.user_header: 'Authorization' must be a lowercase"),
    ("bad cookie name", {"bypass_cookies": ["my session"]}, "cdn.bypass_cookies: ['my session'] are not cookie names"),
    (
        "forced TTL on documents",
        {
            "content_classes": [
                {"name": "pages", "extensions": ["html"], "edge_ttl_seconds": 3600, "browser_ttl_seconds": 0}
            ]
        },
        "cdn.content_classes[0].origin_cache_control: false forces an edge TTL on ['html']",
    ),
    ("uppercase bypass header", {"bypass_headers": ["Cookie"]}, "cdn.bypass_headers: ['Cookie'] must be lowercase"),
    (
        "same CSP prefix twice",
        {
            "security_headers": {
                "content_security_policies": [
                    {"path_prefix": "/a", "policy": "default-src 'self'"},
                    {"path_prefix": "/a", "policy": "default-src 'none'"},
                ]
            }
        },
        "cdn.security_headers.content_security_policies: ['/a'] listed more than once",
    ),
    (
        "CSP with a line break",
        {"security_headers": {"content_security_policies": [{"path_prefix": "/a", "policy": "a\nb"}]}},
        "cdn.security_headers.content_security_policies[0].policy",
    ),
    ("duplicate algorithm", {"compression": ["brotli", "brotli"]}, "cdn.compression: ['brotli', 'brotli'] lists"),
    ("no zones", {"zones": []}, "cdn.zones:"),
    (
        "duplicate rule names",
        {
            "rate_limits": [
                {"name": "ip", "requests_per_minute": 60, "counting": "ip"},
                {"name": "ip", "requests_per_minute": 120, "counting": "ip"},
            ]
        },
        "cdn.rate_limits[1].name: 'ip' is used more than once",
    ),
]


@pytest.mark.parametrize(("label", "changes", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_the_key(label: str, changes: dict[str, Any], expected: str) -> None:
    problems = _problems(_cdn(changes))
    assert any(expected in p for p in problems), f"{label}: {problems}"


def test_every_plan_problem_is_reported_at_once() -> None:
    """A stack moved to a smaller plan gets the whole list, not one error per run."""
    problems = _problems(_cdn({"zones": [{"name": "example.com", "zone_id": "ab" * 16, "plan": "pro"}]}))
    keys = {p.split(":", 1)[0] for p in problems}
    assert {"cdn.routes[0].edge_ttl_seconds", "cdn.rate_limits", "cdn.rate_limits[1].counting"} <= keys


def test_plan_limits_grow_with_the_tier() -> None:
    order = ["free", "pro", "business", "enterprise"]
    pairs = list(itertools.pairwise(order))
    assert pairs, "no pair of plan tiers to compare"
    for smaller, larger in pairs:
        a, b = PLAN_LIMITS[smaller], PLAN_LIMITS[larger]
        assert a.cache_rules <= b.cache_rules and a.ratelimit_rules <= b.ratelimit_rules
        assert a.min_edge_ttl_seconds >= b.min_edge_ttl_seconds
        assert a.max_ratelimit_period <= b.max_ratelimit_period


def test_zone_key_is_a_resource_name_fragment() -> None:
    assert CdnZone(name="www.example.co.uk", zone_id="0" * 32).key == "www-example-co-uk"
