"""Cloudflare CDN: caching per content class, API route caching, security headers, rate limits.

Defaults are the seed figures: static assets 1 year `public, immutable`; images 30 days; videos 7 days;
text 1 day; `/api/public` 5 minutes; rate limits 10,000/min global, 100/min per user, 1,000/min per IP.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from components.settings.base import DnsLabel, Settings, raise_problems

Plan = Literal["free", "pro", "business", "enterprise"]
PLAN_ORDER: dict[str, int] = {"free": 0, "pro": 1, "business": 2, "enterprise": 3}


class ContentClass(Settings):
    name: DnsLabel = Field(description="Class name; becomes the cache rule's ref.")
    extensions: tuple[str, ...] = Field(min_length=1, description="File extensions (no dot) in this class.")
    edge_ttl_seconds: int = Field(gt=0, le=31_536_000, description="How long Cloudflare's edge keeps it.")
    browser_ttl_seconds: int = Field(ge=0, le=31_536_000, description="Cache-Control max-age sent to browsers.")
    immutable: bool = Field(default=False, description="Fingerprinted assets: add `immutable` to Cache-Control.")


def _default_classes() -> tuple[ContentClass, ...]:
    return (
        ContentClass(name="static", extensions=("js", "css", "woff", "woff2", "ttf", "otf"),
                     edge_ttl_seconds=31_536_000, browser_ttl_seconds=31_536_000, immutable=True),
        ContentClass(name="images", extensions=("jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "ico"),
                     edge_ttl_seconds=2_592_000, browser_ttl_seconds=2_592_000),
        ContentClass(name="videos", extensions=("mp4", "webm", "m3u8", "ts", "m4s", "mpd"),
                     edge_ttl_seconds=604_800, browser_ttl_seconds=604_800),
        ContentClass(name="text", extensions=("html", "txt", "xml", "json"),
                     edge_ttl_seconds=86_400, browser_ttl_seconds=3_600),
    )  # fmt: skip


class CachedRoute(Settings):
    name: DnsLabel = Field(description="Route name; becomes the cache rule's ref.")
    path_prefix: str = Field(pattern=r"^/[^\s\"]*$", description="URI path prefix, e.g. '/api/public'.")
    edge_ttl_seconds: int = Field(ge=0, le=31_536_000, description="Edge TTL; the seed's 5 minutes for the public API.")
    browser_ttl_seconds: int = Field(default=0, ge=0, description="Browser max-age; 0 keeps browsers revalidating.")
    cache: bool = Field(default=True, description="Cache this route at all.")
    cache_key: tuple[Literal["scheme", "method", "host", "uri", "query"], ...] = Field(
        default=("scheme", "method", "host", "uri"),
        description="What the cache key is built from (seed: scheme+method+host+URI).",
    )


class RateLimit(Settings):
    name: DnsLabel = Field(description="Rule name; becomes the rule's ref.")
    requests_per_minute: int = Field(gt=0, description="Requests allowed per counting key per minute.")
    counting: Literal["ip", "user", "colo"] = Field(
        description="ip: per client IP; user: per user header/cookie (needs a plan with header characteristics); "
        "colo: per data centre only, the closest honest stand-in for a 'global' limit."
    )
    path_prefix: str = Field(default="/", pattern=r"^/", description="Only requests under this path count.")
    action: Literal["block", "managed_challenge", "log"] = Field(
        default="block", description="What happens over the limit."
    )
    mitigation_timeout_seconds: int = Field(default=60, ge=0, le=86_400, description="How long the action lasts.")


class SecurityHeaders(Settings):
    hsts_max_age_seconds: int = Field(
        default=31_536_000, ge=0, description="Strict-Transport-Security max-age (1 year)."
    )
    hsts_include_subdomains: bool = Field(default=True, description="HSTS includeSubDomains.")
    hsts_preload: bool = Field(default=False, description="HSTS preload; opt in deliberately, it is hard to undo.")
    frame_options: Literal["DENY", "SAMEORIGIN"] = Field(default="DENY", description="X-Frame-Options.")
    content_security_policy: str = Field(
        default="default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
        description="Content-Security-Policy header.",
    )
    referrer_policy: str = Field(default="strict-origin-when-cross-origin", description="Referrer-Policy header.")


class CdnSettings(Settings):
    enabled: bool = Field(default=True, description="Manage the Cloudflare zone's rules.")
    zone_name: str = Field(default="example.com", description="The zone's apex domain.")
    zone_id: str = Field(default="0" * 32, pattern=r"^[0-9a-f]{32}$", description="Cloudflare zone id (32 hex chars).")
    account_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$", description="Cloudflare account id.")
    plan: Plan = Field(default="pro", description="Zone plan; decides which rule features are allowed.")
    http3: bool = Field(default=True, description="Serve HTTP/3 (seed).")
    zero_rtt: bool = Field(default=False, description="0-RTT resumption; off by default (replayable requests).")
    min_tls_version: Literal["1.2", "1.3"] = Field(default="1.2", description="Minimum TLS version.")
    always_use_https: bool = Field(default=True, description="Redirect HTTP to HTTPS.")
    content_classes: tuple[ContentClass, ...] = Field(
        default_factory=_default_classes, description="Cache TTLs by file type."
    )
    routes: tuple[CachedRoute, ...] = Field(
        default=(CachedRoute(name="api-public", path_prefix="/api/public", edge_ttl_seconds=300),),
        description="Path-based cache rules (seed: /api/public for 5 minutes).",
    )
    bypass_cookies: tuple[str, ...] = Field(
        default=("session", "auth_token"), description="Requests carrying these cookies are never cached."
    )
    user_header: str = Field(default="authorization", description="Header that identifies a user for per-user limits.")
    rate_limits: tuple[RateLimit, ...] = Field(
        default=(
            RateLimit(name="per-ip", requests_per_minute=1_000, counting="ip"),
            RateLimit(name="global", requests_per_minute=10_000, counting="colo"),
        ),
        description="Rate limits (seed: 1,000/min per IP, 10,000/min global; the per-user 100/min needs enterprise).",
    )
    security_headers: SecurityHeaders = Field(default_factory=SecurityHeaders, description="Response security headers.")
    purge_token_name: str = Field(
        default="cloudflare-cache-purge", description="Name of the CI secret holding the purge token (never the token)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> CdnSettings:
        problems: list[str] = []
        seen_ext: dict[str, str] = {}
        for i, cls in enumerate(self.content_classes):
            for ext in cls.extensions:
                if not re.fullmatch(r"[a-z0-9]{1,10}", ext):
                    problems.append(
                        f"content_classes[{i}].extensions: {ext!r} is not a lowercase extension without a dot"
                    )
                if ext in seen_ext:
                    problems.append(f"content_classes[{i}].extensions: {ext!r} is already in class {seen_ext[ext]!r}")
                seen_ext[ext] = cls.name
        prefixes: dict[str, int] = {}
        for i, route in enumerate(self.routes):
            if route.cache and route.edge_ttl_seconds == 0:
                problems.append(f"routes[{i}].edge_ttl_seconds: 0 with cache on; set cache: false to bypass instead")
            for other, j in prefixes.items():
                a, b = route.path_prefix, other
                overlap = a.startswith(b) or b.startswith(a)
                theirs = self.routes[j]
                if overlap and (theirs.edge_ttl_seconds, theirs.cache) != (route.edge_ttl_seconds, route.cache):
                    problems.append(
                        f"routes[{i}].path_prefix: {a!r} overlaps routes[{j}] {b!r} with a different TTL; "
                        "the rules would fight over those URLs"
                    )
            prefixes[route.path_prefix] = i
        names = [r.name for r in self.rate_limits]
        for i, limit in enumerate(self.rate_limits):
            if names.count(limit.name) > 1:
                problems.append(f"rate_limits[{i}].name: {limit.name!r} is used more than once")
            if limit.counting == "user" and PLAN_ORDER[self.plan] < PLAN_ORDER["enterprise"]:
                problems.append(
                    f"rate_limits[{i}].counting: 'user' needs header/cookie characteristics, an enterprise plan "
                    f"feature; plan is {self.plan!r} (count per ip, or raise cdn.plan)"
                )
        raise_problems(problems)
        return self
