"""The RTO bound, as one function of the four numbers the stack exports (no imports beyond the standard
library, so the infrastructure program can call it as it is).

RTO (region loss) = detection + promotion + DNS TTL, where detection = check interval x failure threshold
(the first failed probe to the last one needed, plus that probe's timeout, which is below the interval),
promotion = the budget the controller waits for a committed write, and the TTL is how long clients may keep
the old answer. An application crash fails over without a promotion (the database stays where it is).
"""

from __future__ import annotations

from dataclasses import dataclass

EXPORTED_NUMBERS = (
    "health.interval_seconds",
    "health.failure_threshold",
    "dns_ttl_seconds",
    "database.promotion_budget_seconds",
)
"""Controller config keys whose values the stack must export beside the RTO bound (same values, same names)."""


@dataclass(frozen=True)
class RtoBound:
    detection_seconds: int
    promotion_seconds: int
    ttl_seconds: int

    @property
    def seconds(self) -> int:
        return self.detection_seconds + self.promotion_seconds + self.ttl_seconds


def rto_bound(
    *,
    interval_seconds: int,
    failure_threshold: int,
    dns_ttl_seconds: int,
    promotion_budget_seconds: int,
    scenario: str = "region",
) -> RtoBound:
    """Worst-case RTO of ``scenario`` ("region" or "app-crash") from the exported numbers.

    "database-corruption" has no bound here: promoting the standby would promote the corruption with it, so
    recovery is a point-in-time restore whose time the restore drills measure.
    """
    if scenario not in ("region", "app-crash"):
        raise ValueError(f"scenario {scenario!r}: the RTO bound covers 'region' and 'app-crash'")
    promotion = promotion_budget_seconds if scenario == "region" else 0
    return RtoBound(interval_seconds * failure_threshold, promotion, dns_ttl_seconds)
