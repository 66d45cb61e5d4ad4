"""Cloudflare CDN: caching per content class, API route caching, security headers, rate limits.

Defaults are the seed figures: static assets 1 year `public, immutable`; images 30 days; videos 7 days;
text 1 day; `/api/public` 5 minutes keyed on scheme+method+host+URI; rate limits 10,000/min global,
100/min per user, 1,000/min per IP.

What a zone may use depends on its Cloudflare plan. :data:`PLAN_LIMITS` holds Cloudflare's documented
per-plan limits (rule counts per phase, minimum edge TTL, rate-limit periods, mitigation timeouts,
counting characteristics, actions, custom cache keys); a setting a zone's plan does not allow is a
config error naming the key, never a rule dropped at deploy time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.lib.settings import DnsLabel, Settings, raise_problems

Plan = Literal["free", "pro", "business", "enterprise"]
PLAN_ORDER: dict[str, int] = {"free": 0, "pro": 1, "business": 2, "enterprise": 3}

#: Rate-limit counting periods the Rulesets API accepts (seconds), per the rate limiting parameters page.
RATELIMIT_PERIODS = (10, 60, 120, 300, 600, 3600)
#: Mitigation timeouts (rule "duration") the API accepts; 0 means "throttle above the rate".
MITIGATION_TIMEOUTS = (0, 10, 60, 120, 300, 600, 3600, 86400)

Counting = Literal["ip", "user", "colo"]
RateAction = Literal["block", "managed_challenge", "js_challenge", "challenge", "log"]
CHALLENGE_ACTIONS = frozenset({"managed_challenge", "js_challenge", "challenge"})


@dataclass(frozen=True)
class PlanLimits:
    """What one Cloudflare plan allows for the rules this project declares.

    Sources (developers.cloudflare.com): rate limiting rules "Availability" and "Rate limiting
    parameters"; Cache Rules, Transform Rules and Compression Rules "Availability" (rules per zone);
    "Edge and Browser Cache TTL" (minimum edge TTL); Cache Rules settings (custom cache key: Enterprise).
    """

    cache_rules: int
    header_transform_rules: int
    compression_rules: int
    ratelimit_rules: int
    min_edge_ttl_seconds: int
    max_ratelimit_period: int
    max_mitigation_timeout: int
    #: Counting kinds (see :class:`RateLimit`) the plan's characteristics allow without add-ons.
    counting: frozenset[str]
    custom_cache_key: bool
    log_action: bool
    #: Block with mitigation_timeout 0 ("throttle requests above the rate"): Enterprise only.
    throttle_block: bool
    #: Challenge actions with a duration; other plans must send mitigation_timeout 0.
    challenge_duration: bool


PLAN_LIMITS: dict[str, PlanLimits] = {
    "free": PlanLimits(10, 10, 10, 1, 7200, 10, 10, frozenset({"ip"}), False, False, False, False),
    "pro": PlanLimits(25, 25, 25, 2, 3600, 60, 3600, frozenset({"ip"}), False, False, False, False),
    "business": PlanLimits(50, 50, 50, 5, 1, 600, 86400, frozenset({"ip"}), False, False, False, False),
    "enterprise": PlanLimits(300, 300, 300, 100, 1, 3600, 86400, frozenset({"ip"}), True, True, True, True),
}
#: Counting kinds that need Enterprise with the Advanced Rate Limiting add-on (header, cookie and
#: host characteristics).
ADVANCED_COUNTING = frozenset({"user", "colo"})

_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_HEADER = re.compile(r"^[a-z0-9-]{1,64}$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")


class ContentClass(Settings):
    name: DnsLabel = Field(description="Class name; becomes the cache rule's ref.")
    extensions: tuple[str, ...] = Field(min_length=1, description="File extensions (no dot) in this class.")
    edge_ttl_seconds: int = Field(gt=0, le=31_536_000, description="How long Cloudflare's edge keeps it.")
    browser_ttl_seconds: int = Field(ge=0, le=31_536_000, description="Cache-Control max-age sent to browsers.")
    immutable: bool = Field(
        default=False,
        description="Fingerprinted assets (names change with content): send `Cache-Control: public, "
        "max-age=<browser TTL>, immutable` so browsers never revalidate them.",
    )
    origin_cache_control: bool = Field(
        default=False,
        description="Cache at the edge only when the origin's Cache-Control allows it, for as long as it says "
        "(no header: not cached); browsers get the origin's header. The TTLs above are then what the content "
        "optimizer writes as Cache-Control on its outputs. Documents (HTML, JSON) need it: a forced edge TTL "
        "would serve one user's page to everyone.",
    )


DOCUMENT_EXTENSIONS = frozenset({"html", "htm", "json"})
"""Extensions whose responses are often personalised: never given a forced edge TTL without an explicit allow."""

#: Cookies that commonly carry a session or credentials (framework defaults); any of them bypasses the cache.
DEFAULT_SESSION_COOKIES = (
    "session", "sessionid", "session_id", "sid", "connect.sid", "auth_token", "access_token", "id_token",
    "refresh_token", "jwt", "token", "remember_token", "remember_me", "PHPSESSID", "JSESSIONID",
    "ASP.NET_SessionId", "laravel_session", "_session_id", "rack.session", "__Host-session", "__Secure-session",
    "next-auth.session-token", "__Secure-next-auth.session-token", "csrftoken",
)  # fmt: skip


def _default_classes() -> tuple[ContentClass, ...]:
    return (
        ContentClass(name="static", extensions=("js", "css", "woff", "woff2", "ttf", "otf"),
                     edge_ttl_seconds=31_536_000, browser_ttl_seconds=31_536_000, immutable=True),
        ContentClass(name="images", extensions=("jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "ico"),
                     edge_ttl_seconds=2_592_000, browser_ttl_seconds=2_592_000),
        ContentClass(name="videos", extensions=("mp4", "webm", "m3u8", "ts", "m4s", "mpd"),
                     edge_ttl_seconds=604_800, browser_ttl_seconds=604_800),
        ContentClass(name="text", extensions=("html", "txt", "xml", "json"),
                     edge_ttl_seconds=86_400, browser_ttl_seconds=3_600, origin_cache_control=True),
    )  # fmt: skip


CacheKeyPart = Literal["scheme", "method", "host", "uri", "query"]
#: Parts Cloudflare always keys a cached response on: its default key is scheme + host + path, and only
#: GET/HEAD responses are cached (the rule matches only those methods), so the method is fixed too.
REQUIRED_KEY_PARTS: tuple[CacheKeyPart, ...] = ("scheme", "method", "host", "uri")


class CachedRoute(Settings):
    name: DnsLabel = Field(description="Route name; becomes the cache rule's ref.")
    path_prefix: str = Field(
        pattern=r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$", description="URI path prefix, e.g. '/api/public'."
    )
    edge_ttl_seconds: int = Field(ge=0, le=31_536_000, description="Edge TTL; the seed's 5 minutes for the public API.")
    browser_ttl_seconds: int = Field(
        default=0, ge=0, le=31_536_000, description="Browser max-age; 0 keeps browsers revalidating."
    )
    cache: bool = Field(default=True, description="Cache this route at all (false: bypass the cache).")
    cache_key: tuple[CacheKeyPart, ...] = Field(
        default=("scheme", "method", "host", "uri", "query"),
        description="What the cache key is built from (seed: nginx `$scheme$request_method$host$request_uri`; "
        "`$request_uri` includes the query string). Cloudflare always keys on scheme, method, host and path; "
        "leaving out `query` needs a custom cache key (Enterprise).",
    )

    @property
    def ignores_query(self) -> bool:
        return "query" not in self.cache_key


class RateLimit(Settings):
    name: DnsLabel = Field(description="Rule name; becomes the rule's ref.")
    requests_per_minute: int = Field(gt=0, description="Requests allowed per counting key per minute.")
    counting: Counting = Field(
        description="ip: per client IP; user: per value of `user_header` (Enterprise + Advanced Rate Limiting); "
        "colo: per hostname per Cloudflare data centre, the closest honest stand-in for a 'global' limit "
        "(Enterprise + Advanced Rate Limiting; see components/cdn/README.md)."
    )
    path_prefix: str = Field(default="/", pattern=r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$", description="Only requests under this path count.")  # fmt: skip
    period_seconds: Literal[10, 60, 120, 300, 600, 3600] = Field(
        default=60,
        description="Counting window. requests_per_minute x period / 60 must be a whole number; the plan caps it "
        "(free 10 s, pro 60 s, business 600 s, enterprise 3600 s).",
    )
    action: RateAction = Field(default="block", description="What happens over the limit (log: Enterprise).")
    mitigation_timeout_seconds: Literal[0, 10, 60, 120, 300, 600, 3600, 86400] = Field(
        default=60,
        description="How long the action lasts once triggered; 0 throttles only the requests above the rate. "
        "Challenge actions need 0 below Enterprise; block with 0 is Enterprise only.",
    )

    @property
    def requests_per_period(self) -> int:
        return self.requests_per_minute * self.period_seconds // 60


class SecurityHeaders(Settings):
    hsts_max_age_seconds: int = Field(
        default=31_536_000, ge=0, description="Strict-Transport-Security max-age (1 year)."
    )
    hsts_include_subdomains: bool = Field(default=True, description="HSTS includeSubDomains.")
    hsts_preload: bool = Field(default=False, description="HSTS preload; opt in deliberately, it is hard to undo.")
    frame_options: Literal["DENY", "SAMEORIGIN"] = Field(default="DENY", description="X-Frame-Options.")
    content_security_policy: str | None = Field(
        default="frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
        description="Baseline Content-Security-Policy on every response: only directives no page needs relaxed "
        "(no framing, no plugins, no base-tag hijack). Source lists such as default-src 'self' belong to the paths "
        "whose pages are written for them (content_security_policies). None: no baseline header.",
    )
    content_security_policies: tuple[PathPolicy, ...] = Field(
        default=(),
        description="Per path prefix, the CSP that replaces the baseline there (the longest matching prefix "
        "wins), e.g. [{path_prefix: /app, policy: \"default-src 'self'; ...\"}].",
    )

    @field_validator("content_security_policies")
    @classmethod
    def _distinct_prefixes(cls, value: tuple[PathPolicy, ...]) -> tuple[PathPolicy, ...]:
        prefixes = [p.path_prefix for p in value]
        repeated = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if repeated:
            raise ValueError(f"{repeated} listed more than once (one policy per prefix)")
        return value

    referrer_policy: str = Field(default="strict-origin-when-cross-origin", description="Referrer-Policy header.")
    xss_protection: Literal["0", "1; mode=block"] = Field(
        default="0",
        description="X-XSS-Protection. '0' turns the legacy browser XSS auditor off (OWASP's advice: the auditor "
        "itself enabled cross-site leaks); the Content-Security-Policy is the actual XSS protection.",
    )
    permissions_policy: str = Field(
        default="camera=(), microphone=(), geolocation=()", description="Permissions-Policy header."
    )

    @property
    def hsts_value(self) -> str:
        value = f"max-age={self.hsts_max_age_seconds}"
        if self.hsts_include_subdomains:
            value += "; includeSubDomains"
        if self.hsts_preload:
            value += "; preload"
        return value


class PathPolicy(Settings):
    """A Content-Security-Policy for the responses under one path prefix."""

    path_prefix: str = Field(
        pattern=r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$", description="URI path prefix, e.g. '/app' ('/': every path)."
    )
    policy: str = Field(
        min_length=1, pattern=r"^[^\r\n]+$", description="The Content-Security-Policy header value for those paths."
    )


class CdnZone(Settings):
    name: str = Field(
        pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", description="The zone's apex domain."
    )
    zone_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="Cloudflare zone id (32 hex chars).")
    plan: Plan = Field(
        default="business",
        description="Zone plan; decides which rule features are allowed. Default: business, the lowest plan whose "
        "minimum edge TTL (1 s; pro: 1 h) allows the seed's 5-minute /api/public cache.",
    )
    advanced_rate_limiting: bool = Field(
        default=False,
        description="The zone has Enterprise Advanced Rate Limiting (needed for per-user and per-colo counting).",
    )

    @property
    def key(self) -> str:
        """The zone name as a resource-name fragment (``www.example.com`` -> ``www-example-com``)."""
        return self.name.replace(".", "-")


def _default_zones() -> tuple[CdnZone, ...]:
    return (CdnZone(name="example.com", zone_id="0" * 32),)


class CdnSettings(Settings):
    enabled: bool = Field(default=True, description="Manage the Cloudflare zones' rules.")
    zones: tuple[CdnZone, ...] = Field(
        default_factory=_default_zones,
        min_length=1,
        description="Zones that get the rules below (one CdnRules component, one ruleset per phase, each).",
    )
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
        default=DEFAULT_SESSION_COOKIES,
        description="Requests carrying any of these cookies are never cached (default: common framework session "
        "and token cookies; list your app's own).",
    )
    bypass_headers: tuple[str, ...] = Field(
        default=("authorization",),
        description="Requests carrying any of these headers (lowercase) are never cached; user_header is added.",
    )
    bypass_on_any_cookie: bool = Field(
        default=False,
        description="Never cache a request that carries any cookie at all (for apps whose session cookie names "
        "are not known in advance).",
    )
    allow_forced_document_ttl: bool = Field(
        default=False,
        description="Allow a content class with html/htm/json to force an edge TTL (origin_cache_control: false); "
        "only for sites whose documents are never personalised.",
    )
    user_header: str = Field(
        default="authorization",
        description="Header (lowercase) that identifies a user: its requests bypass the cache, and per-user "
        "limits count per value of it.",
    )
    compression: tuple[Literal["brotli", "gzip", "zstd"], ...] = Field(
        default=("brotli", "gzip"), min_length=1, description="Compression algorithms in order of preference."
    )
    compressible_media_types: tuple[str, ...] = Field(
        default=(
            "text/html",
            "text/css",
            "text/plain",
            "text/xml",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/xml",
            "application/manifest+json",
            "image/svg+xml",
        ),
        min_length=1,
        description="Response media types the compression rule applies to.",
    )
    rate_limits: tuple[RateLimit, ...] = Field(
        default=(RateLimit(name="per-ip", requests_per_minute=1_000, counting="ip"),),
        description="Rate limits (seed: 1,000/min per IP; 100/min per user and 10,000/min 'global' need "
        "Enterprise with Advanced Rate Limiting).",
    )
    security_headers: SecurityHeaders = Field(default_factory=SecurityHeaders, description="Response security headers.")
    purge_token_name: str = Field(
        default="cloudflare-cache-purge",
        pattern=r"^[A-Za-z0-9_.-]{1,128}$",
        description="Name of the CI secret holding the purge token (never the token).",
    )

    @field_validator("user_header")
    @classmethod
    def _lowercase_header(cls, value: str) -> str:
        if not _HEADER.match(value):
            raise ValueError(
                f"{value!r} must be a lowercase header name (Cloudflare normalises header names to lowercase)"
            )
        return value

    @field_validator("bypass_headers")
    @classmethod
    def _lowercase_headers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not _HEADER.match(name)]
        if bad:
            raise ValueError(f"{bad!r} must be lowercase header names (Cloudflare normalises header names)")
        return value

    @property
    def bypass_header_names(self) -> tuple[str, ...]:
        """The headers whose presence bypasses the cache (``bypass_headers`` plus ``user_header``)."""
        return tuple(dict.fromkeys((*self.bypass_headers, self.user_header)))

    @field_validator("bypass_cookies")
    @classmethod
    def _cookie_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not _TOKEN.match(name)]
        if bad:
            raise ValueError(f"{bad!r} are not cookie names (RFC 6265 tokens)")
        return value

    @field_validator("compressible_media_types")
    @classmethod
    def _media_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [t for t in value if not _MEDIA_TYPE.match(t)]
        if bad:
            raise ValueError(f"{bad!r} are not lowercase media types such as 'text/html'")
        return value

    def cache_rule_count(self) -> int:
        return len(self.content_classes) + len(self.routes) + (1 if self.bypass_cookies or self.user_header else 0)

    def header_rule_count(self) -> int:
        return (
            1
            + sum(1 for c in self.content_classes if c.immutable)
            + len(self.security_headers.content_security_policies)
        )

    @model_validator(mode="after")
    def _consistent(self) -> CdnSettings:
        problems = self._content_problems() + self._route_problems() + self._rate_limit_problems()
        for z, zone in enumerate(self.zones):
            problems += self._plan_problems(z, zone)
        names = [zone.name for zone in self.zones]
        problems += [
            f"zones[{z}].name: {zone.name!r} is listed more than once"
            for z, zone in enumerate(self.zones)
            if names.index(zone.name) != z
        ]
        if len(set(self.compression)) != len(self.compression):
            problems.append(f"compression: {list(self.compression)} lists an algorithm twice")
        raise_problems(problems)
        return self

    def _content_problems(self) -> list[str]:
        problems: list[str] = []
        seen_ext: dict[str, str] = {}
        names = [c.name for c in self.content_classes]
        for i, cls in enumerate(self.content_classes):
            if names.index(cls.name) != i:
                problems.append(f"content_classes[{i}].name: {cls.name!r} is used more than once")
            for ext in cls.extensions:
                if not re.fullmatch(r"[a-z0-9]{1,10}", ext):
                    problems.append(
                        f"content_classes[{i}].extensions: {ext!r} is not a lowercase extension without a dot"
                    )
                if ext in seen_ext:
                    problems.append(f"content_classes[{i}].extensions: {ext!r} is already in class {seen_ext[ext]!r}")
                seen_ext[ext] = cls.name
            documents = sorted(DOCUMENT_EXTENSIONS & set(cls.extensions))
            if documents and not cls.origin_cache_control and not self.allow_forced_document_ttl:
                problems.append(
                    f"content_classes[{i}].origin_cache_control: false forces an edge TTL on {documents} (pages a "
                    "session may personalise would be served to everyone); set it true, or allow_forced_document_ttl"
                )
        return problems

    def _route_problems(self) -> list[str]:
        problems: list[str] = []
        names = [r.name for r in self.routes]
        for i, route in enumerate(self.routes):
            if names.index(route.name) != i:
                problems.append(f"routes[{i}].name: {route.name!r} is used more than once")
            if route.cache and route.edge_ttl_seconds == 0:
                problems.append(f"routes[{i}].edge_ttl_seconds: 0 with cache on; set cache: false to bypass instead")
            missing = [part for part in REQUIRED_KEY_PARTS if part not in route.cache_key]
            if missing:
                problems.append(
                    f"routes[{i}].cache_key: {missing} cannot be left out; Cloudflare always keys cached responses "
                    "on scheme, method (only GET/HEAD are cached), host and path"
                )
            for j, other in enumerate(self.routes[:i]):
                a, b = route.path_prefix, other.path_prefix
                overlap = a.startswith(b) or b.startswith(a)
                if overlap and (other.edge_ttl_seconds, other.cache) != (route.edge_ttl_seconds, route.cache):
                    problems.append(
                        f"routes[{i}].path_prefix: {a!r} overlaps routes[{j}] {b!r} with a different TTL; "
                        "the rules would fight over those URLs"
                    )
        return problems

    def _rate_limit_problems(self) -> list[str]:
        problems: list[str] = []
        names = [r.name for r in self.rate_limits]
        for i, limit in enumerate(self.rate_limits):
            if names.index(limit.name) != i:
                problems.append(f"rate_limits[{i}].name: {limit.name!r} is used more than once")
            if (limit.requests_per_minute * limit.period_seconds) % 60:
                problems.append(
                    f"rate_limits[{i}].period_seconds: {limit.requests_per_minute}/min over {limit.period_seconds} s "
                    "is not a whole number of requests; pick a period or rate that divides evenly"
                )
        return problems

    def _plan_problems(self, z: int, zone: CdnZone) -> list[str]:
        """Everything the zone's plan does not allow, each naming the offending key."""
        limits = PLAN_LIMITS[zone.plan]
        plan = f"zones[{z}] {zone.name!r} is on the {zone.plan} plan"
        problems: list[str] = []
        if zone.advanced_rate_limiting and zone.plan != "enterprise":
            problems.append(f"zones[{z}].advanced_rate_limiting: an Enterprise add-on; {plan}")
        counts = (
            ("content_classes", self.cache_rule_count(), limits.cache_rules, "cache rules"),
            ("content_classes", self.header_rule_count(), limits.header_transform_rules, "response header rules"),
            ("rate_limits", len(self.rate_limits), limits.ratelimit_rules, "rate limiting rules"),
        )
        for key, count, allowed, what in counts:
            if count > allowed:
                problems.append(f"{key}: needs {count} {what}; {plan}, which allows {allowed}")
        for i, cls in enumerate(self.content_classes):
            if not cls.origin_cache_control and cls.edge_ttl_seconds < limits.min_edge_ttl_seconds:
                problems.append(
                    f"content_classes[{i}].edge_ttl_seconds: {cls.edge_ttl_seconds} is below the minimum edge TTL "
                    f"{limits.min_edge_ttl_seconds}; {plan}"
                )
        for i, route in enumerate(self.routes):
            if route.cache and route.edge_ttl_seconds < limits.min_edge_ttl_seconds and route.edge_ttl_seconds > 0:
                problems.append(
                    f"routes[{i}].edge_ttl_seconds: {route.edge_ttl_seconds} is below the minimum edge TTL "
                    f"{limits.min_edge_ttl_seconds}; {plan}"
                )
            if route.cache and route.ignores_query and not limits.custom_cache_key:
                problems.append(
                    f"routes[{i}].cache_key: leaving out the query string needs a custom cache key (Enterprise); {plan}"
                )
        for i, limit in enumerate(self.rate_limits):
            problems += self._rate_limit_plan_problems(i, limit, zone, limits, plan)
        return problems

    @staticmethod
    def _rate_limit_plan_problems(i: int, limit: RateLimit, zone: CdnZone, limits: PlanLimits, plan: str) -> list[str]:
        problems: list[str] = []
        key = f"rate_limits[{i}]"
        if limit.counting in ADVANCED_COUNTING and not zone.advanced_rate_limiting:
            what = "header characteristics" if limit.counting == "user" else "the host characteristic"
            problems.append(
                f"{key}.counting: {limit.counting!r} needs {what}, an Enterprise Advanced Rate Limiting feature; "
                f"{plan} without advanced_rate_limiting (count per ip instead)"
            )
        elif limit.counting not in ADVANCED_COUNTING and limit.counting not in limits.counting:
            problems.append(f"{key}.counting: {limit.counting!r} is not available; {plan}")
        if limit.period_seconds > limits.max_ratelimit_period:
            problems.append(
                f"{key}.period_seconds: {limit.period_seconds} exceeds the longest period "
                f"{limits.max_ratelimit_period} s; {plan}"
            )
        if limit.mitigation_timeout_seconds > limits.max_mitigation_timeout:
            problems.append(
                f"{key}.mitigation_timeout_seconds: {limit.mitigation_timeout_seconds} exceeds "
                f"{limits.max_mitigation_timeout} s; {plan}"
            )
        if limit.action == "log" and not limits.log_action:
            problems.append(f"{key}.action: 'log' is an Enterprise action; {plan}")
        if limit.action in CHALLENGE_ACTIONS and limit.mitigation_timeout_seconds and not limits.challenge_duration:
            problems.append(
                f"{key}.mitigation_timeout_seconds: challenge actions below Enterprise must use 0 (throttle); {plan}"
            )
        if limit.action == "block" and limit.mitigation_timeout_seconds == 0 and not limits.throttle_block:
            problems.append(f"{key}.mitigation_timeout_seconds: 0 (throttle) with block is Enterprise only; {plan}")
        return problems
