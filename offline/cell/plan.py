"""What the cell reads from a plan: monitors, rules, routing, and every series a query names.

The query side reuses the policy pack's PromQL extraction (``policies.rules._promql``), so the cell checks the
same set of names the wiring-metric-provenance rule checks statically.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from policies.rules._promql import METRICS_ANNOTATION, PUSHED_ANNOTATION, SOURCES_LABEL, queries, selected_names


@dataclass(frozen=True)
class Monitor:
    """One ServiceMonitor/PodMonitor: what it selects and how each endpoint is scraped."""

    kind: str
    namespace: str
    name: str
    selector: dict[str, str]
    endpoints: list[dict[str, Any]]
    metrics: frozenset[str]
    pushed: dict[str, list[str]]

    @property
    def app(self) -> str:
        """The selected workload's ``app.kubernetes.io/name`` (what the cell maps to a loopback process)."""
        return self.selector.get("app.kubernetes.io/name", "")


@dataclass(frozen=True)
class PlanView:
    stack: str
    manifests: list[dict[str, Any]]
    monitors: list[Monitor]
    rule_groups: dict[str, list[dict[str, Any]]]
    """PrometheusRule name -> its ``spec.groups`` as rendered."""
    routing: dict[str, Any]
    """The AlertmanagerConfig's ``spec``."""
    routing_namespace: str
    queried: dict[str, list[str]]
    """Series name -> where a query names it."""
    external: frozenset[str]
    """Series the metric-sources ConfigMap says the monitoring stack collects itself (kube-state-metrics, ...)."""


def _annotations(manifest: Mapping[str, Any]) -> dict[str, str]:
    return dict(manifest.get("metadata", {}).get("annotations") or {})


def _split(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def view(stack: str, resources: Iterable[tuple[str, str, dict[str, Any]]], manifests: list[dict[str, Any]]) -> PlanView:
    """``resources``: (urn, type token, inputs) of every registration; ``manifests``: its Kubernetes objects."""
    monitors: list[Monitor] = []
    rule_groups: dict[str, list[dict[str, Any]]] = {}
    routing: list[tuple[str, dict[str, Any]]] = []
    external: frozenset[str] = frozenset()
    for m in manifests:
        kind, meta = m.get("kind"), m.get("metadata", {})
        if kind in ("ServiceMonitor", "PodMonitor"):
            spec = m["spec"]
            pushed = _annotations(m).get(PUSHED_ANNOTATION)
            monitors.append(
                Monitor(
                    kind=kind,
                    namespace=meta.get("namespace", "default"),
                    name=meta["name"],
                    selector=dict(spec.get("selector", {}).get("matchLabels") or {}),
                    endpoints=list(spec.get("endpoints") or spec.get("podMetricsEndpoints") or []),
                    metrics=_split(_annotations(m).get(METRICS_ANNOTATION, "")),
                    pushed=json.loads(pushed) if pushed else {},
                )
            )
        elif kind == "PrometheusRule":
            rule_groups[meta["name"]] = list(m["spec"]["groups"])
        elif kind == "AlertmanagerConfig":
            routing.append((meta.get("namespace", "default"), m["spec"]))
        elif kind == "ConfigMap" and (meta.get("labels") or {}).get(SOURCES_LABEL) == "true":
            external = _split(_annotations(m).get(METRICS_ANNOTATION, ""))
    if len(routing) != 1:
        raise ValueError(f"the {stack} plan has {len(routing)} AlertmanagerConfig objects; the cell routes one")
    queried: dict[str, list[str]] = {}
    records = [SimpleNamespace(urn=urn, resource_type=token, props=props) for urn, token, props in resources]
    for query in queries(records):  # type: ignore[arg-type]  # duck-typed like pulumi_policy.PolicyResource
        names, _ = selected_names(query.expr)
        for name in names:
            queried.setdefault(name, []).append(query.where)
    return PlanView(stack, manifests, monitors, rule_groups, routing[0][1], routing[0][0], queried, external)


def from_build_dir(stack: str, plan_dir: Path) -> PlanView:
    """The plan ``make plan`` wrote: ``resources.json`` and ``manifests/*.yaml``."""
    if not (plan_dir / "resources.json").is_file():
        raise FileNotFoundError(f"{plan_dir}/resources.json: no plan; run make plan STACK={stack}")
    records = json.loads((plan_dir / "resources.json").read_text())
    manifests = [yaml.safe_load(p.read_text()) for p in sorted((plan_dir / "manifests").glob("*.yaml"))]
    return view(stack, ((r["urn"], r["type"], r.get("inputs") or {}) for r in records), manifests)
