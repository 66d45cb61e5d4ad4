"""In prod every Redis master has a replica in another zone: each Redis StatefulSet runs at least
``minPods`` pods (a master plus a replica) with a required pod anti-affinity or a DoNotSchedule
topology spread over zones, so one zone outage never takes a master and its replica together."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._redis import redis_statefulsets
from ._support import ENVIRONMENT_SCHEMA, Report, dig, num, stack_rule

ZONE = "topology.kubernetes.io/zone"


def spread_by_zone(spec: dict) -> bool:
    required = dig(spec, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", default=[])
    if any(term.get("topologyKey") == ZONE for term in required or []):
        return True
    return any(
        c.get("topologyKey") == ZONE and c.get("whenUnsatisfiable") == "DoNotSchedule"
        for c in spec.get("topologySpreadConstraints") or []
    )


def check(args: StackValidationArgs, report: Report) -> None:
    config = args.get_config()
    prod = config.get("environment", "prod") == "prod"
    minimum = int(config.get("minPods", 2))
    for statefulset in redis_statefulsets(args.resources):
        replicas = dig(statefulset.props, "spec", "replicas", default=1)
        if prod and isinstance(replicas, int | float) and replicas < minimum:
            report(
                f"Redis StatefulSet runs {num(replicas)} pod(s); prod needs a replica per master (>= {minimum})",
                statefulset.urn,
            )
        spec = dig(statefulset.props, "spec", "template", "spec", default={}) or {}
        if prod and not spread_by_zone(spec):
            report("Redis pods have no required zone anti-affinity / DoNotSchedule zone spread", statefulset.urn)


POLICY = stack_rule(
    "redis-replicas-anti-affinity",
    "Prod Redis masters have replicas, spread over zones by a hard scheduling rule.",
    check,
    severity=Severity.HIGH,
    remediation="Set redis.replicas_per_master >= 1 and keep the required podAntiAffinity on topology.kubernetes.io/zone.",
    config={"environment": ENVIRONMENT_SCHEMA, "minPods": {"type": "integer", "minimum": 1, "default": 2}},
)
