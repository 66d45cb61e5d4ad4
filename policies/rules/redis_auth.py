"""Redis requires a password and replicas use it: ``requirepass`` **and** ``masterauth`` (only requirepass
breaks replica sync after a failover, redis/redis#2025). The password may arrive through an ``include``d
file written at start from a Secret; then a script in the same ConfigMap must write both directives."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._redis import directives, redis_configs
from ._support import Report, dig, stack_rule


def check(args: StackValidationArgs, report: Report) -> None:
    for configmap, key, text in redis_configs(args.resources):
        if key.endswith("sentinel.conf"):
            continue
        found = directives(text)
        if "requirepass" in found and "masterauth" in found:
            continue
        if found.get("include"):
            scripts = " ".join(
                v
                for k, v in (dig(configmap.props, "data", default={}) or {}).items()
                if k != key and isinstance(v, str)
            )
            if "requirepass" in scripts and "masterauth" in scripts:
                continue
        missing = [d for d in ("requirepass", "masterauth") if d not in found]
        report(f"{key} has no {' and no '.join(missing)} (and no included file that sets them)", configmap.urn)


POLICY = stack_rule(
    "redis-auth",
    "Redis requires a password (requirepass) and replicas authenticate to masters (masterauth).",
    check,
    severity=Severity.CRITICAL,
    remediation="Render requirepass and masterauth from the Redis Secret (components/redis/conf.py).",
)
