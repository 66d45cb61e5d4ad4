"""Prometheus's and Alertmanager's configuration built from monitors and an AlertmanagerConfig."""

from __future__ import annotations

from offline.cell.plan import Monitor
from offline.cell.wiring import Target, alertmanager_config, routed_receivers, scrape_jobs

ROUTING = {
    "route": {
        "receiver": "chat",
        "groupWait": "30s",
        "routes": [
            {"receiver": "pager", "continue": True, "matchers": [{"name": "severity", "value": "critical"}]},
            {"receiver": "chat", "continue": False, "matchers": [{"name": "severity", "value": "critical"}]},
            {"receiver": "email", "continue": True, "matchers": [{"name": "severity", "value": "high"}]},
            {"receiver": "chat", "continue": False, "matchers": [{"name": "severity", "value": "high"}]},
        ],
    },
    "receivers": [
        {"name": "pager", "pagerdutyConfigs": [{"sendResolved": True}]},
        {"name": "chat", "slackConfigs": [{}]},
        {"name": "email", "emailConfigs": [{"sendResolved": True}]},
    ],
}


def _routes(labels: dict[str, str]) -> list[str]:
    config = alertmanager_config(ROUTING, "platform", "routing", "http://127.0.0.1:1")
    return routed_receivers(config, labels)


def test_severities_route_like_the_alertmanager_config() -> None:
    prefix = "platform/routing/"
    assert _routes({"namespace": "platform", "severity": "critical"}) == [f"{prefix}pager", f"{prefix}chat"]
    assert _routes({"namespace": "platform", "severity": "high"}) == [f"{prefix}email", f"{prefix}chat"]
    assert _routes({"namespace": "platform", "severity": "low"}) == [f"{prefix}chat"]
    assert _routes({"namespace": "elsewhere", "severity": "critical"}) == ["unrouted"]


def test_receivers_become_webhooks_keeping_send_resolved() -> None:
    config = alertmanager_config(ROUTING, "platform", "routing", "http://127.0.0.1:9")
    hooks = {r["name"]: r["webhook_configs"][0] for r in config["receivers"]}
    assert hooks["platform/routing/pager"] == {"url": "http://127.0.0.1:9/pager", "send_resolved": True}
    assert hooks["platform/routing/chat"]["send_resolved"] is False


def test_a_monitor_endpoint_becomes_a_job_with_discovery_labels() -> None:
    monitor = Monitor(
        kind="PodMonitor",
        namespace="platform",
        name="exporter",
        selector={"app.kubernetes.io/name": "exporter"},
        endpoints=[
            {
                "port": "metrics",
                "path": "/m",
                "honorLabels": True,
                "relabelings": [{"targetLabel": "role", "replacement": "primary", "action": "replace"}],
            }
        ],
        metrics=frozenset({"pg_up"}),
        pushed={},
    )
    jobs = scrape_jobs([monitor], {"exporter": [Target("127.0.0.1:5", "exporter-0", "c")]}, "2s")
    assert len(jobs) == 1
    job = jobs[0]
    assert job["job_name"] == "podMonitor/platform/exporter/0"
    assert job["honor_labels"] is True and job["metrics_path"] == "/m"
    assert job["relabel_configs"] == [{"target_label": "role", "replacement": "primary", "action": "replace"}]
    assert job["static_configs"][0]["labels"]["job"] == "platform/exporter"
    assert scrape_jobs([monitor], {}, "2s") == []
