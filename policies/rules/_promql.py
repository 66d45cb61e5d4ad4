"""PromQL in a plan: who produces which series, and which series each query reads.

Producers: ServiceMonitors/PodMonitors (the ``platform.example.com/metrics`` annotation; on the Pushgateway's
monitor also ``platform.example.com/pushed-metrics``), ConfigMaps labelled ``platform.example.com/metric-sources``
(series the monitoring stack collects with monitors of its own), and recording rules.
Consumers: PrometheusRule expressions, KEDA ``prometheus`` triggers, the prometheus-adapter rules ConfigMap,
the forecaster's ``--query`` and Grafana dashboard panels. Names come from the parsed expression
(``promql-parser``, bindings of the Rust PromQL parser), never from pattern matching.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import promql_parser
import yaml
from pulumi_policy import PolicyResource

from ._support import containers, dig, is_kind, is_list, is_mapping, pod_spec

METRICS_ANNOTATION = "platform.example.com/metrics"
PUSHED_ANNOTATION = "platform.example.com/pushed-metrics"
SOURCES_LABEL = "platform.example.com/metric-sources"
MONITOR_TYPES = ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "kubernetes:monitoring.coreos.com/v1:PodMonitor")
RULE_TYPE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"

#: Grafana's built-in interval variables stand for a range; any other ``$var`` sits inside a label value.
_GRAFANA_RANGE = re.compile(r"\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}")
_GRAFANA_VAR = re.compile(r"\$\{?\w+\}?")
_ADAPTER_TEMPLATE = re.compile(r"<<\s*\.(\w+)\s*>>")


@dataclass(frozen=True)
class Query:
    """One PromQL expression found in the plan, where it was found, and the resource holding it."""

    urn: str
    where: str
    expr: str


class PromqlError(ValueError):
    """An expression the parser rejects (the message names it)."""


def selected_names(expr: str) -> tuple[set[str], list[str]]:
    """Metric names the expression selects, and the selectors whose name is not a fixed string (regex names)."""
    try:
        tree = promql_parser.parse(expr)
    except (ValueError, RuntimeError) as exc:
        raise PromqlError(f"not valid PromQL ({exc}): {expr!r}") from exc
    names: set[str] = set()
    unresolved: list[str] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            fixed = [
                m.value for m in node.matchers.matchers if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal
            ]
            if node.name:
                names.add(node.name)
            elif fixed:
                names.update(fixed)
            else:
                unresolved.append(str(node))

    promql_parser.walk(tree, visit)
    return names, unresolved


# --- producers --------------------------------------------------------------------------------------


def _annotation(props: Mapping[str, Any], key: str) -> str:
    value = dig(props, "metadata", "annotations", key)
    return value if isinstance(value, str) else ""


def _split(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def produced(resources: Iterable[PolicyResource]) -> dict[str, set[str]]:
    """Series name -> URNs of what produces it (monitors, metric-source ConfigMaps, recording rules)."""
    producers: dict[str, set[str]] = {}

    def add(names: Iterable[str], urn: str) -> None:
        for name in names:
            producers.setdefault(name, set()).add(urn)

    for r in resources:
        if r.resource_type in MONITOR_TYPES:
            add(_split(_annotation(r.props, METRICS_ANNOTATION)), r.urn)
            pushed = _annotation(r.props, PUSHED_ANNOTATION)
            if pushed:
                try:
                    jobs = json.loads(pushed)
                except json.JSONDecodeError:
                    jobs = {}
                add(
                    (m for series in jobs.values() if isinstance(series, list) for m in series if isinstance(m, str)),
                    r.urn,
                )
        elif is_kind(r.resource_type, "ConfigMap") and dig(r.props, "metadata", "labels", SOURCES_LABEL) == "true":
            add(_split(_annotation(r.props, METRICS_ANNOTATION)), r.urn)
        elif r.resource_type == RULE_TYPE:
            add((rule["record"] for rule in _rules(r.props) if isinstance(rule.get("record"), str)), r.urn)
    return producers


def _rules(props: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for group in dig(props, "spec", "groups", default=[]) or []:
        for rule in dig(group, "rules", default=[]) or []:
            if is_mapping(rule):
                yield rule


# --- consumers --------------------------------------------------------------------------------------


def queries(resources: Iterable[PolicyResource]) -> Iterator[Query]:
    """Every PromQL expression of the plan, with where it sits."""
    for r in resources:
        if r.resource_type == RULE_TYPE:
            for rule in _rules(r.props):
                label = rule.get("alert") or rule.get("record") or "?"
                if isinstance(rule.get("expr"), str):
                    yield Query(r.urn, f"rule {label}", rule["expr"])
        elif r.resource_type.startswith("kubernetes:keda.sh/") and r.resource_type.rsplit(":", 1)[-1] in (
            "ScaledObject",
            "ScaledJob",
        ):
            for trigger in dig(r.props, "spec", "triggers", default=[]) or []:
                query = dig(trigger, "metadata", "query")
                if dig(trigger, "type") == "prometheus" and isinstance(query, str):
                    yield Query(r.urn, f"KEDA trigger {dig(trigger, 'name', default='?')}", query)
        elif is_kind(r.resource_type, "ConfigMap"):
            yield from _configmap_queries(r)
        elif is_kind(r.resource_type, "CronJob", "Job", "Deployment"):
            yield from _forecaster_queries(r)


def _configmap_queries(r: PolicyResource) -> Iterator[Query]:
    data = dig(r.props, "data", default={}) or {}
    if not is_mapping(data):
        return
    if dig(r.props, "metadata", "labels", "grafana_dashboard") is not None:
        for key, text in data.items():
            yield from _dashboard_queries(r.urn, str(key), text)
    for key, text in data.items():
        if isinstance(text, str) and "seriesQuery" in text:
            yield from _adapter_queries(r.urn, str(key), text)


def _dashboard_queries(urn: str, key: str, text: Any) -> Iterator[Query]:
    try:
        model = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return
    if not isinstance(model, dict):
        return
    for panel in _panels(model.get("panels") or []):
        for target in panel.get("targets") or []:
            expr = target.get("expr") if isinstance(target, dict) else None
            if isinstance(expr, str) and expr.strip():
                text = _GRAFANA_RANGE.sub("5m", expr)
                yield Query(urn, f"dashboard {key} panel {panel.get('title', '?')!r}", _GRAFANA_VAR.sub("x", text))


def _panels(panels: list[Any]) -> Iterator[dict[str, Any]]:
    """Panels, including those folded into rows."""
    for panel in panels:
        if isinstance(panel, dict):
            yield panel
            yield from _panels(panel.get("panels") or [])


def _adapter_queries(urn: str, key: str, text: str) -> Iterator[Query]:
    """prometheus-adapter rules: the seriesQuery, and the metricsQuery with its templates filled in."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        return
    if not isinstance(config, dict):
        return
    for section in ("rules", "externalRules"):
        for i, rule in enumerate(config.get(section) or []):
            if not isinstance(rule, dict):
                continue
            series = rule.get("seriesQuery")
            if isinstance(series, str):
                yield Query(urn, f"adapter {key} {section}[{i}] seriesQuery", series)
            metrics_query = rule.get("metricsQuery")
            if isinstance(metrics_query, str) and isinstance(series, str):
                names, _ = selected_names_or_empty(series)
                filled = {"Series": next(iter(sorted(names)), "up"), "LabelMatchers": "", "GroupBy": "pod"}
                expr = _ADAPTER_TEMPLATE.sub(lambda m, f=filled: f.get(m.group(1), ""), metrics_query)
                yield Query(urn, f"adapter {key} {section}[{i}] metricsQuery", expr)


def selected_names_or_empty(expr: str) -> tuple[set[str], list[str]]:
    try:
        return selected_names(expr)
    except PromqlError:
        return set(), []


def _forecaster_queries(r: PolicyResource) -> Iterator[Query]:
    """``--query`` of a predictive-scaler container, its ``{service}`` filled from ``--service``."""
    for container in containers(pod_spec(r.resource_type, r.props)):
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        argv = [a for a in argv if isinstance(a, str)] if is_list(argv) else []
        options = dict(itertools.pairwise(argv))
        query = options.get("--query")
        if query is None:
            continue
        try:
            expr = query.format(service=options.get("--service", "x"))
        except (KeyError, IndexError, ValueError):
            expr = query
        yield Query(r.urn, f"container {container.get('name', '?')} --query", expr)
