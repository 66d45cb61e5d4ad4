"""Recognise the Redis tier in a plan: StatefulSets running a redis-server image, and the redis.conf
they mount (a ConfigMap key ending in ``redis.conf``)."""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_policy import PolicyResource

from ._support import containers, dig, is_kind, pod_spec


def is_redis_image(image: str) -> bool:
    name = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    return name in ("redis", "redis-stack-server", "valkey")


def redis_statefulsets(resources: Sequence[PolicyResource]) -> list[PolicyResource]:
    return [
        r
        for r in resources
        if is_kind(r.resource_type, "StatefulSet")
        and any(is_redis_image(str(c.get("image", ""))) for c in containers(pod_spec(r.resource_type, r.props), False))
    ]


def redis_configs(resources: Sequence[PolicyResource]) -> list[tuple[PolicyResource, str, str]]:
    """(ConfigMap, key, text) for every redis.conf / sentinel.conf in the plan."""
    found = []
    for r in resources:
        if is_kind(r.resource_type, "ConfigMap"):
            for key, text in (dig(r.props, "data", default={}) or {}).items():
                if key.endswith(("redis.conf", "sentinel.conf")) and isinstance(text, str):
                    found.append((r, key, text))
    return found


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, _, rest = line.partition(" ")
            found.setdefault(name.lower(), []).append(rest.strip())
    return found
