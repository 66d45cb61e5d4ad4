"""Every PromQL expression the autoscalers depend on parses in Prometheus' own parser (promtool).

KEDA's prometheus trigger query, the forecaster's queries (as the CronJob will fill them in: its history
query and, with live headroom, ``--live-query``) and the
prometheus-adapter rule (with its ``<<.Series>>`` template expanded the way the adapter does) are written
into a rule file and checked with ``promtool check rules`` (Debian ``prometheus`` package).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from components.platform.config import parse_config
from components.services.autoscaling_manifests import adapter_rule, forecaster_args, scaled_object_manifest
from tests.plans import STACKS, stack_values


def expressions(stack: str) -> dict[str, str]:
    config = parse_config(stack_values(stack))
    found: dict[str, str] = {}
    for service in config.services:
        scaling = service.scaling
        if scaling.uses_keda:
            manifest = scaled_object_manifest(service, config.namespace, "https://kubernetes.default.svc")
            for trigger in manifest["spec"]["triggers"]:
                if trigger["type"] == "prometheus":
                    found[f"{service.name}-keda-rps"] = trigger["metadata"]["query"]
        if scaling.prediction.enabled:
            found[f"{service.name}-forecast"] = scaling.prediction.query.format(service=service.name)
            args = forecaster_args(service, config.namespace)
            if "--live-query" in args:
                found[f"{service.name}-forecast-live"] = args[args.index("--live-query") + 1]
        if not scaling.uses_keda:
            rule = adapter_rule(scaling.rps_metric)
            expanded = (
                rule["metricsQuery"]
                .replace("<<.Series>>", "http_requests_total")
                .replace("<<.LabelMatchers>>", f'namespace="{config.namespace}",pod=~"{service.name}-.*"')
                .replace("<<.GroupBy>>", "pod")
            )
            found[f"{service.name}-adapter"] = expanded
            found[f"{service.name}-adapter-series"] = rule["seriesQuery"]
    return found


@pytest.mark.real
@pytest.mark.parametrize("stack", STACKS)
def test_promtool_parses_every_autoscaling_query(stack: str, tmp_path: Path) -> None:
    found = expressions(stack)
    assert any(k.endswith("-keda-rps") for k in found) and any(k.endswith("-adapter") for k in found)
    assert any(k.endswith("-forecast-live") for k in found)  # both stacks predict with live headroom
    rules = {"groups": [{"name": "autoscaling-queries", "rules": [
        {"record": f"check:{name.replace('-', '_')}", "expr": expr} for name, expr in sorted(found.items())
    ]}]}  # fmt: skip
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(found)} rules found" in result.stdout + result.stderr


@pytest.mark.real
def test_promtool_rejects_a_broken_query(tmp_path: Path) -> None:
    """The check above can fail: an unbalanced query is reported."""
    path = tmp_path / "rules.yaml"
    broken = {"groups": [{"name": "g", "rules": [{"record": "check:x", "expr": "sum(rate(http_requests_total[2m])"}]}]}
    path.write_text(yaml.safe_dump(broken))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
