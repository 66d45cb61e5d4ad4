"""Every managed zone enforces TLS >= 1.2 (1.0/1.1 are deprecated, RFC 8996) and always-HTTPS."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._cloudflare import zone_of, zone_rulesets, zone_settings
from ._support import Report, stack_rule

ALLOWED_TLS = {"1.2", "1.3"}


def check(args: StackValidationArgs, report: Report) -> None:
    settings = zone_settings(args.resources)
    zones = {zone_of(r) for r in zone_rulesets(args.resources)} | {zone_of(s) for s in settings}
    for zone in sorted(zones):
        mine = {str(s.props.get("settingId")): s for s in settings if zone_of(s) == zone}
        tls = mine.get("min_tls_version")
        if tls is None:
            report(f"zone {zone} does not declare min_tls_version (Cloudflare's default is 1.0)")
        elif str(tls.props.get("value")) not in ALLOWED_TLS:
            report(f"zone {zone} allows TLS {tls.props.get('value')}; minimum must be 1.2", tls.urn)
        https = mine.get("always_use_https")
        if https is None or https.props.get("value") != "on":
            report(f"zone {zone} does not enforce always_use_https", https.urn if https else None)


POLICY = stack_rule(
    "cdn-min-tls-1-2",
    "Cloudflare zones require TLS 1.2 or newer and redirect HTTP to HTTPS.",
    check,
    severity=Severity.HIGH,
    remediation="Declare ZoneSetting min_tls_version = 1.2 (or 1.3) and always_use_https = on for the zone.",
)
