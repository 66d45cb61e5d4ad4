"""When the plan declares a connection pooler, no service reaches PostgreSQL except through it.

A pooler is a workload that mounts a ConfigMap holding ``pgbouncer.ini``; PostgreSQL pods are the other
workloads with container port 5432, and their Services (the ``-rw``/``-ro``/headless names) are those selecting
them. Every other workload is a client unless its pods' ``app.kubernetes.io/component`` is in ``directClientComponents``
(pack config: the database's own pods, the pooler, exporters, backup and maintenance jobs, which need a
session of their own: pg_dump, VACUUM, replication). For each client:
- network: the plan's NetworkPolicies, evaluated with the Kubernetes semantics (``_netpol``), must deny it
  PostgreSQL's port on every PostgreSQL pod;
- configuration: no plain env value, and no ConfigMap it reads (envFrom, configMapKeyRef, volume), names a
  PostgreSQL Service (``database-rw``, ``database-ro.platform.svc``, ...); the pooler's Service is the host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from ._netpol import Cluster, ContainerPort, Pod, parse_policy, selector_matches
from ._support import Report, dig, is_kind, is_mapping, metadata_name, pod_spec, stack_rule

POSTGRES_PORT = 5432
DEFAULT_DIRECT = [
    "database",
    "pooler",
    "database-exporter",
    "backup",
    "backup-restore-test",
    "backup-drill",
    "maintenance",
]


def _pods(resources: Iterable[PolicyResource]) -> dict[str, tuple[PolicyResource, Pod]]:
    pods: dict[str, tuple[PolicyResource, Pod]] = {}
    for r in resources:
        spec = pod_spec(r.resource_type, r.props)
        if spec is None or not is_mapping(spec) or is_kind(r.resource_type, "Pod"):
            continue
        template_path = (
            ("spec", "jobTemplate", "spec", "template")
            if is_kind(r.resource_type, "CronJob")
            else (
                "spec",
                "template",
            )
        )
        labels = dig(r.props, *template_path, "metadata", "labels", default={}) or {}
        ports = tuple(
            ContainerPort(p.get("name"), int(p["containerPort"]), str(p.get("protocol") or "TCP"))
            for c in spec.get("containers") or []
            for p in (c.get("ports") or [])
            if is_mapping(p) and isinstance(p.get("containerPort"), int | float)
        )
        namespace = str(dig(r.props, "metadata", "namespace", default="default"))
        key = f"{r.resource_type.rsplit(':', 1)[-1]}/{metadata_name(r.props)}"
        pods[key] = (r, Pod(key, namespace, {str(k): str(v) for k, v in labels.items()}, ports, r.urn))
    return pods


def _configmaps_read(spec: Mapping[str, Any]) -> set[str]:
    names = {str(dig(v, "configMap", "name")) for v in spec.get("volumes") or [] if dig(v, "configMap", "name")}
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        names |= {str(dig(e, "configMapRef", "name")) for e in container.get("envFrom") or [] if dig(e, "configMapRef")}
        names |= {
            str(dig(e, "valueFrom", "configMapKeyRef", "name"))
            for e in container.get("env") or []
            if dig(e, "valueFrom", "configMapKeyRef", "name")
        }
    return names


def _env_values(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        for entry in container.get("env") or []:
            if isinstance(entry.get("value"), str):
                yield str(entry.get("name")), entry["value"]
        for arg in [*(container.get("command") or []), *(container.get("args") or [])]:
            if isinstance(arg, str):
                yield "command line", arg


def _host_pattern(services: Iterable[str]) -> re.Pattern[str] | None:
    names = sorted(services)
    if not names:
        return None
    return re.compile(r"(?<![A-Za-z0-9.-])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9-])")


def _database_services(resources: Iterable[PolicyResource], database: list[Pod]) -> dict[str, str]:
    """Service name -> URN, for Services selecting PostgreSQL pods."""
    found = {}
    for r in resources:
        if not is_kind(r.resource_type, "Service"):
            continue
        selector = dig(r.props, "spec", "selector")
        namespace = str(dig(r.props, "metadata", "namespace", default="default"))
        if (
            is_mapping(selector)
            and selector
            and any(
                p.namespace == namespace and selector_matches({"matchLabels": selector}, p.labels) for p in database
            )
        ):
            found[str(metadata_name(r.props))] = r.urn
    return found


def check(args: StackValidationArgs, report: Report) -> None:
    resources = list(args.resources)
    pods = _pods(resources)
    maps = {str(metadata_name(r.props)): r for r in resources if is_kind(r.resource_type, "ConfigMap")}
    pooler_maps = {name for name, cm in maps.items() if dig(cm.props, "data", "pgbouncer.ini") is not None}
    poolers = [p for r, p in pods.values() if _configmaps_read(pod_spec(r.resource_type, r.props) or {}) & pooler_maps]
    database = [
        p for _, p in pods.values() if p not in poolers and any(port.number == POSTGRES_PORT for port in p.ports)
    ]
    if not poolers or not database:
        return
    direct = set(args.get_config().get("directClientComponents", DEFAULT_DIRECT))
    cluster = Cluster(
        [parse_policy(r.urn, r.props) for r in resources if is_kind(r.resource_type, "NetworkPolicy")], {}
    )
    hosts = _host_pattern(_database_services(resources, database))
    for key, (resource, pod) in sorted(pods.items()):
        if pod in database or pod in poolers or pod.labels.get("app.kubernetes.io/component") in direct:
            continue
        for server in database:
            verdict = cluster.verdict(pod, server, POSTGRES_PORT)
            if verdict.allowed:
                admitted = ", ".join(verdict.ingress_by) or "no NetworkPolicy selects it"
                report(
                    f"{key} can reach {server.key} on {POSTGRES_PORT} directly, bypassing the pooler "
                    f"(admitted by: {admitted})",
                    resource.urn,
                )
        spec = pod_spec(resource.resource_type, resource.props) or {}
        for name, value in _env_values(spec):
            if hosts is not None and (match := hosts.search(value)):
                report(
                    f"{key} env {name} names the database Service {match.group(1)!r}; connect through the "
                    "pooler's Service",
                    resource.urn,
                )
        for cm_name in sorted(_configmaps_read(spec) - pooler_maps):
            cm = maps.get(cm_name)
            for item, text in (dig(cm.props, "data", default={}) or {}).items() if cm is not None else ():
                if hosts is not None and (match := hosts.search(str(text))):
                    report(
                        f"ConfigMap {cm_name!r} ({item}), read by {key}, names the database Service "
                        f"{match.group(1)!r}; connect through the pooler's Service",
                        cm.urn if cm else None,
                    )


POLICY = stack_rule(
    "database-through-pooler",
    "When a connection pooler is declared, services reach PostgreSQL only through it (network and configuration).",
    check,
    severity=Severity.HIGH,
    remediation="Point the service at the pooler's Service and allow it only the pooler in its NetworkPolicy; "
    "jobs that need their own session (dumps, maintenance) are listed in directClientComponents.",
    config={
        "directClientComponents": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": DEFAULT_DIRECT,
            "description": "app.kubernetes.io/component values of pods allowed to connect to PostgreSQL directly.",
        }
    },
)
