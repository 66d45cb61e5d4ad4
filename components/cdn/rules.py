"""Pure builders for the CDN's Cloudflare rules: config in, provider-shaped plain dicts out.

Each function returns the ``rules`` list of one entry-point ruleset, in pulumi-cloudflare v6 argument
names (``RulesetRuleArgs``: ``ref``, ``description``, ``expression``, ``action``, ``action_parameters``,
``ratelimit``). Keeping them pure makes every rule unit-testable without the engine, and lets the
component assert, before declaring anything, that every expression parses and every rate-limit rule
counts per data centre.

Ordering matters in Cloudflare's cache phase: when several cache rules match, later rules override
earlier ones. So content classes come first, path routes after them (``/api/public/x.json`` gets the API
TTL, not the ``text`` class TTL), and the bypass for authenticated requests last, so it always wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components.cdn.config import PLAN_LIMITS, CachedRoute, CdnSettings, CdnZone, ContentClass, RateLimit
from components.cdn.expressions import (
    check,
    check_characteristics,
    cookie_present,
    extension_in,
    header_present,
    path_under,
    string_set,
)

CACHE_PHASE = "http_request_cache_settings"
HEADERS_PHASE = "http_response_headers_transform"
COMPRESSION_PHASE = "http_response_compression"
RATELIMIT_PHASE = "http_ratelimit"
PHASES = (CACHE_PHASE, HEADERS_PHASE, COMPRESSION_PHASE, RATELIMIT_PHASE)
#: Child-resource role per phase (``f"{name}-{role}"``).
PHASE_ROLES = {
    CACHE_PHASE: "cache-rules",
    HEADERS_PHASE: "header-rules",
    COMPRESSION_PHASE: "compression-rules",
    RATELIMIT_PHASE: "ratelimit-rules",
}

Rule = dict[str, Any]


def ref(*parts: str) -> str:
    """A stable rule ref: Cloudflare keeps a rule's identity (and its analytics) across updates by ref."""
    return "_".join(p.replace("-", "_") for p in parts)


def _ttl(mode_seconds: int) -> dict[str, Any]:
    return {"mode": "override_origin", "default": mode_seconds}


def _browser_ttl(seconds: int) -> dict[str, Any]:
    # 0 means "browsers must not cache" (Cloudflare's browser TTL mode "bypass").
    return {"mode": "bypass"} if seconds == 0 else _ttl(seconds)


def class_rule(cls: ContentClass) -> Rule:
    if cls.origin_cache_control:
        # Eligible for cache, but the origin decides: no Cache-Control -> not cached (bypass_by_default);
        # private/no-store -> not cached; max-age/s-maxage -> that long. Browsers get the origin's header.
        return {
            "ref": ref("cache_class", cls.name),
            "description": f"{cls.name}: cached only as the origin's Cache-Control allows ({', '.join(cls.extensions)})",
            "expression": extension_in(cls.extensions),
            "action": "set_cache_settings",
            "action_parameters": {
                "cache": True,
                "edge_ttl": {"mode": "bypass_by_default"},
                "browser_ttl": {"mode": "respect_origin"},
            },
        }
    return {
        "ref": ref("cache_class", cls.name),
        "description": f"{cls.name}: edge {cls.edge_ttl_seconds}s, browser {cls.browser_ttl_seconds}s "
        f"({', '.join(cls.extensions)})",
        "expression": extension_in(cls.extensions),
        "action": "set_cache_settings",
        "action_parameters": {
            "cache": True,
            "edge_ttl": _ttl(cls.edge_ttl_seconds),
            "browser_ttl": _browser_ttl(cls.browser_ttl_seconds),
        },
    }


def route_cache_key(route: CachedRoute, zone: CdnZone) -> dict[str, Any]:
    """The route's cache key. Cloudflare's default key is scheme + host + path + query, and only GET/HEAD
    are cached, which is the seed's ``$scheme$request_method$host$request_uri``; we pin the key options
    explicitly, and on Enterprise (custom keys) also state the query-string and host handling."""
    key: dict[str, Any] = {
        "cache_by_device_type": False,
        "ignore_query_strings_order": False,
        "cache_deception_armor": False,
    }
    if PLAN_LIMITS[zone.plan].custom_cache_key:
        query = {"exclude": {"all": True}} if route.ignores_query else {"include": {"all": True}}
        key["custom_key"] = {"query_string": query, "host": {"resolved": False}}
    return key


def route_rule(route: CachedRoute, zone: CdnZone) -> Rule:
    expression = f"http.request.method in {string_set(('GET', 'HEAD'))} and {path_under(route.path_prefix)}"
    if not route.cache:
        return {
            "ref": ref("cache_route", route.name),
            "description": f"{route.name}: {route.path_prefix} is never cached",
            "expression": path_under(route.path_prefix),
            "action": "set_cache_settings",
            "action_parameters": {"cache": False},
        }
    return {
        "ref": ref("cache_route", route.name),
        "description": f"{route.name}: {route.path_prefix} edge {route.edge_ttl_seconds}s, browser "
        f"{route.browser_ttl_seconds}s, key {'+'.join(route.cache_key)}",
        "expression": expression,
        "action": "set_cache_settings",
        "action_parameters": {
            "cache": True,
            "edge_ttl": _ttl(route.edge_ttl_seconds),
            "browser_ttl": _browser_ttl(route.browser_ttl_seconds),
            "cache_key": route_cache_key(route, zone),
        },
    }


def bypass_rule(settings: CdnSettings) -> Rule:
    """Last cache rule, so it wins: any session cookie or credential header and the response is never cached."""
    conditions = ["len(http.cookie) > 0"] if settings.bypass_on_any_cookie else []
    conditions += [cookie_present(name) for name in settings.bypass_cookies]
    conditions += [header_present(name) for name in settings.bypass_header_names]
    cookies = "any cookie" if settings.bypass_on_any_cookie else f"{len(settings.bypass_cookies)} session cookies"
    who = f"{cookies}, headers {', '.join(settings.bypass_header_names)}"
    return {
        "ref": ref("cache_bypass", "authenticated"),
        "description": f"never cache authenticated requests ({who})"[:500],
        "expression": " or ".join(conditions),
        "action": "set_cache_settings",
        "action_parameters": {"cache": False},
    }


def cache_rules(settings: CdnSettings, zone: CdnZone) -> list[Rule]:
    rules = [class_rule(c) for c in settings.content_classes]
    rules += [route_rule(r, zone) for r in settings.routes]
    rules.append(bypass_rule(settings))
    return rules


def _set(value: str) -> dict[str, str]:
    return {"operation": "set", "value": value}


def security_headers(settings: CdnSettings) -> dict[str, dict[str, str]]:
    h = settings.security_headers
    return {
        "Strict-Transport-Security": _set(h.hsts_value),
        "X-Content-Type-Options": _set("nosniff"),
        "X-Frame-Options": _set(h.frame_options),
        **({"Content-Security-Policy": _set(h.content_security_policy)} if h.content_security_policy else {}),
        "Referrer-Policy": _set(h.referrer_policy),
        "X-XSS-Protection": _set(h.xss_protection),
        "Permissions-Policy": _set(h.permissions_policy),
    }


def csp_rules(settings: CdnSettings) -> list[Rule]:
    """One rule per configured path prefix, shortest first: later rewrite rules override earlier ones, so the
    longest matching prefix's policy is the one a response gets."""
    policies = sorted(settings.security_headers.content_security_policies, key=lambda p: len(p.path_prefix))
    return [
        {
            "ref": ref("headers_csp", re.sub(r"[^A-Za-z0-9]+", "_", policy.path_prefix).strip("_") or "root"),
            "description": f"Content-Security-Policy for {policy.path_prefix}",
            "expression": path_under(policy.path_prefix),
            "action": "rewrite",
            "action_parameters": {"headers": {"Content-Security-Policy": _set(policy.policy)}},
        }
        for policy in policies
    ]


def header_rules(settings: CdnSettings) -> list[Rule]:
    rules: list[Rule] = [
        {
            "ref": ref("headers", "security"),
            "description": "security headers on every response (HSTS, nosniff, framing, baseline CSP, referrer, XSS)",
            "expression": "true",
            "action": "rewrite",
            "action_parameters": {"headers": security_headers(settings)},
        }
    ]
    for cls in settings.content_classes:
        if not cls.immutable:
            continue
        rules.append(
            {
                "ref": ref("headers_immutable", cls.name),
                "description": f"{cls.name}: fingerprinted, Cache-Control public immutable for "
                f"{cls.browser_ttl_seconds}s (200 responses only, never an error page)",
                "expression": f"{extension_in(cls.extensions)} and http.response.code eq 200",
                "action": "rewrite",
                "action_parameters": {
                    "headers": {"Cache-Control": _set(f"public, max-age={cls.browser_ttl_seconds}, immutable")}
                },
            }
        )
    rules += csp_rules(settings)
    return rules


def compression_rules(settings: CdnSettings) -> list[Rule]:
    return [
        {
            "ref": ref("compress", "text"),
            "description": f"compress text-like responses: {' then '.join(settings.compression)}",
            "expression": f"http.response.content_type.media_type in {string_set(settings.compressible_media_types)}",
            "action": "compress_response",
            "action_parameters": {"algorithms": [{"name": name} for name in settings.compression]},
        }
    ]


def characteristics(limit: RateLimit, settings: CdnSettings) -> list[str]:
    """Counter key of a rate-limit rule; ``cf.colo.id`` always, since Cloudflare counts per data centre."""
    if limit.counting == "ip":
        return ["cf.colo.id", "ip.src"]
    if limit.counting == "user":
        return ["cf.colo.id", f'http.request.headers["{settings.user_header}"]']
    return ["cf.colo.id", "http.host"]


def ratelimit_rule(limit: RateLimit, settings: CdnSettings) -> Rule:
    expression = path_under(limit.path_prefix)
    if limit.counting == "user":
        # Without this, all anonymous requests would share one "missing header" counter.
        expression = f"{expression} and {header_present(settings.user_header)}"
    per = {"ip": "per client IP", "user": f"per {settings.user_header} value", "colo": "per host per data centre"}
    return {
        "ref": ref("ratelimit", limit.name),
        "description": f"{limit.name}: {limit.requests_per_minute}/min {per[limit.counting]} under "
        f"{limit.path_prefix}, {limit.action} for {limit.mitigation_timeout_seconds}s",
        "expression": expression,
        "action": limit.action,
        "ratelimit": {
            "characteristics": characteristics(limit, settings),
            "period": limit.period_seconds,
            "requests_per_period": limit.requests_per_period,
            "mitigation_timeout": limit.mitigation_timeout_seconds,
        },
    }


def ratelimit_rules(settings: CdnSettings) -> list[Rule]:
    return [ratelimit_rule(limit, settings) for limit in settings.rate_limits]


def phase_rules(settings: CdnSettings, zone: CdnZone) -> dict[str, list[Rule]]:
    """Every phase's rules for one zone, checked (see :func:`verify`)."""
    rules = {
        CACHE_PHASE: cache_rules(settings, zone),
        HEADERS_PHASE: header_rules(settings),
        COMPRESSION_PHASE: compression_rules(settings),
        RATELIMIT_PHASE: ratelimit_rules(settings),
    }
    verify(rules)
    return rules


def verify(rules: dict[str, list[Rule]]) -> None:
    """Raise ValueError if any rule's expression is outside the checked grammar, a ref repeats, or a
    rate-limit rule's characteristics are not documented ones including ``cf.colo.id``.

    The settings model already rejects configs that would produce these; this is the last line of
    defence between a builder bug and a failed ``pulumi up``.
    """
    problems: list[str] = []
    for phase, phase_list in rules.items():
        refs = [r["ref"] for r in phase_list]
        problems += [f"{phase}: ref {r!r} repeats" for r in sorted({r for r in refs if refs.count(r) > 1})]
        for rule in phase_list:
            try:
                check(rule["expression"])
            except ValueError as exc:
                problems.append(f"{phase} rule {rule['ref']}: {exc}")
            if phase == RATELIMIT_PHASE:
                problems += [
                    f"{phase} rule {rule['ref']}: {p}"
                    for p in check_characteristics(rule["ratelimit"]["characteristics"])
                ]
    if problems:
        raise ValueError("invalid CDN rules:\n" + "\n".join(problems))


@dataclass(frozen=True)
class ZoneSettingSpec:
    role: str
    setting_id: str
    value: str


def zone_settings(settings: CdnSettings) -> list[ZoneSettingSpec]:
    """Zone-wide settings: HTTP/3, minimum TLS, always-HTTPS, 0-RTT (off unless configured)."""

    def on_off(flag: bool) -> str:
        return "on" if flag else "off"

    return [
        ZoneSettingSpec("http3", "http3", on_off(settings.http3)),
        ZoneSettingSpec("min-tls", "min_tls_version", settings.min_tls_version),
        ZoneSettingSpec("always-https", "always_use_https", on_off(settings.always_use_https)),
        ZoneSettingSpec("zero-rtt", "0rtt", on_off(settings.zero_rtt)),
    ]
