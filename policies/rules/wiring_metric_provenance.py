"""Every series a query reads has a declared producer. An alert, scaler, adapter rule, forecast or panel over a
series nothing scrapes returns nothing: the alert never fires, KEDA sees zero load, the dashboard stays
empty, and nothing anywhere says so. A series is produced by a ServiceMonitor/PodMonitor whose
``platform.example.com/metrics`` annotation lists it (or, on the Pushgateway's monitor, whose
``platform.example.com/pushed-metrics`` lists it under a push job), by a ConfigMap labelled
``platform.example.com/metric-sources`` (series the monitoring stack scrapes with monitors of its own), or by
a recording rule. Queries are parsed (promql-parser), so a name inside a label value or a string is never
mistaken for a metric, and an expression that does not parse is itself a violation."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._promql import PromqlError, produced, queries, selected_names
from ._support import Report, stack_rule


def check(args: StackValidationArgs, report: Report) -> None:
    producers = produced(args.resources)
    for query in queries(args.resources):
        try:
            names, unresolved = selected_names(query.expr)
        except PromqlError as exc:
            report(f"{query.where}: {exc}", query.urn)
            continue
        for selector in unresolved:
            report(
                f"{query.where}: selector {selector} has no fixed metric name, so its producer cannot be checked; "
                "name the metric",
                query.urn,
            )
        for name in sorted(names - producers.keys()):
            report(
                f"{query.where}: reads {name!r}, which no declared scrape target, Pushgateway job or recording rule "
                f"produces (query: {query.expr!r})",
                query.urn,
            )


POLICY = stack_rule(
    "wiring-metric-provenance",
    "Every metric named in a PromQL expression (alert and recording rules, KEDA prometheus triggers, "
    "prometheus-adapter rules, forecaster queries, dashboard panels) is produced by a declared scrape target, "
    "Pushgateway job or recording rule.",
    check,
    severity=Severity.HIGH,
    remediation="Declare the producer: a scrape target whose monitor lists the series (a component's "
    "scrape_targets()), a Pushgateway job, or a recording rule; or fix the metric name in the query.",
)
