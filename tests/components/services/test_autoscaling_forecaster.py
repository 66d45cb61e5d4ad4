"""The contract between the CronJob we declare and the forecaster it runs (functions/predictive_scaler).

The CronJob's exact arguments are run through the real CLI (``functions.predictive_scaler.__main__.main``)
against two local stand-ins on 127.0.0.1: a Prometheus answering ``query_range`` and a Kubernetes API
recording the PATCH. Then the ConfigMap the API would hold is read the way KEDA's metrics-api trigger
reads it (GET the trigger's URL path, take ``valueLocation``, parse the string as a quantity).
Only the two servers are stand-ins; the CLI, the forecaster and our manifests are the real code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components.platform.config import parse_config
from components.services.autoscaling_manifests import (
    forecast_configmap_manifest,
    forecast_configmap_name,
    forecaster_cronjob_manifest,
    request_rate_query,
    scaled_object_manifest,
)
from components.services.config import ServiceSettings
from functions.predictive_scaler.__main__ import build_parser, main, resolve_settings
from functions.predictive_scaler.publish import configmap_name
from tests.functions.predictive_scaler.conftest import FakeServer, serve_fake
from tests.plans import stack_values

NOW = 1_715_758_200  # 2024-05-15T07:30:00Z, on the 5-minute grid
KUBE_API = "https://kubernetes.default.svc"


def prod_backend() -> ServiceSettings:
    return next(s for s in parse_config(stack_values("prod")).services if s.name == "backend")


def container_args(service: ServiceSettings) -> list[str]:
    [container] = forecaster_cronjob_manifest(service, "platform")["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["command"] == ["python", "-m", "functions.predictive_scaler"]
    return list(container["args"])


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_configmap_name_is_the_forecasters() -> None:
    assert forecast_configmap_name("backend") == configmap_name("backend")


def test_cronjob_arguments_parse_into_the_service_settings() -> None:
    service = prod_backend()
    args = build_parser().parse_args(container_args(service))
    settings = resolve_settings(args)
    scaling = service.scaling
    assert settings.service == "backend"
    assert (settings.min_replicas, settings.max_replicas) == (scaling.min_replicas, scaling.max_replicas)
    assert settings.target_rps_per_pod == scaling.target_rps_per_pod
    assert settings.prediction.look_ahead_minutes == scaling.prediction.look_ahead_minutes == 30
    assert settings.prediction.confidence_threshold == scaling.prediction.confidence_threshold == 0.8
    assert settings.prediction.history_days == scaling.prediction.history_days
    assert settings.prediction.query == scaling.prediction.query
    assert settings.prediction.interval_minutes == scaling.prediction.interval_minutes == 5
    # One run's count covers the bound until the next run's pods are ready: its interval plus 5 minutes.
    assert settings.forecast.cover_minutes == 10 and settings.forecast.confidence == 0.8
    assert args.publish == "configmap" and args.configmap == configmap_name("backend")
    assert args.namespace == "platform" and args.prometheus == scaling.prometheus_url
    # The headroom is calibrated on the rate the ScaledObject's rps trigger reads (and the formula multiplies).
    assert args.live_query == request_rate_query(service, "platform")


# --- stand-ins (the predictive scaler's own test servers) -----------------------------------------------


class SeasonalPrometheus(FakeServer):
    """Answers each ``query_range`` with the seasonal rate on the grid it asks for: the forecaster reads its
    history at 5 minutes and the live request rate (``--live-query``) at 2."""

    @property
    def reply(self) -> Any:
        asked = self.requests[-1].query if self.requests else {}
        start, end, step = (int(float(asked[key][0])) for key in ("start", "end", "step"))
        return seasonal_rate(start, end, step)

    @reply.setter
    def reply(self, value: Any) -> None:  # the answer depends on the request, nothing is stored
        del value


@pytest.fixture
def prometheus() -> Iterator[FakeServer]:
    yield from serve_fake(SeasonalPrometheus())


@pytest.fixture
def kube_api() -> Iterator[FakeServer]:
    yield from serve_fake(FakeServer())


def seasonal_rate(start: int, end: int, step: int) -> dict[str, Any]:
    """A seasonal request rate (peak ~1700 req/s) on ``start, start + step, ..., end``, as query_range answers."""
    count = (end - start) // step + 1
    t = start + step * np.arange(count)
    noise = np.random.default_rng(7).standard_normal(count)
    values = 1000 + 700 * np.sin(2 * np.pi * (t % 86_400) / 86_400 - 2.0) + 20 * noise
    series = [[int(a), f"{b:.3f}"] for a, b in zip(t, values, strict=True)]
    return {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": series}]}}


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch, what the API server applies for application/merge-patch+json."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value)
        else:
            result[key] = value
    return result


_PLAIN_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def keda_reads(configmap: dict[str, Any], value_location: str) -> float:
    """The metrics-api trigger's value: a dotted path into the JSON, a string parsed as a plain quantity
    (``"12"``, ``"1.137"``; a missing key is an error of the trigger)."""
    value: Any = configmap
    for part in value_location.split("."):
        value = value[part]
    assert isinstance(value, str) and _PLAIN_QUANTITY.match(value), f"KEDA could not parse {value!r} as a quantity"
    return float(value)


def test_cronjob_run_publishes_what_the_scaled_object_reads(
    prometheus: FakeServer, kube_api: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = prod_backend()
    args = container_args(service)
    # The in-cluster endpoints become the stand-ins; every other argument is the CronJob's own.
    args[args.index("--prometheus") + 1] = prometheus.url
    token = tmp_path / "token"
    token.write_text("sa-token", encoding="utf-8")
    code = main([*args, "--kube-api", kube_api.url, "--token-file", str(token), "--now", "2024-05-15T07:30:00Z"])
    assert code == 0, capsys.readouterr().err

    forecast_query = service.scaling.prediction.query.format(service="backend")
    asked = {q for r in prometheus.requests for q in r.query["query"]}
    # The forecast's history and, for the headroom, only the live request rate the rps trigger reads.
    assert forecast_query in asked <= {forecast_query, request_rate_query(service, "platform")}
    [patch] = kube_api.requests
    assert patch.method == "PATCH" and patch.headers["Content-Type"] == "application/merge-patch+json"
    assert patch.headers["Authorization"] == "Bearer sa-token"

    scaled_object = scaled_object_manifest(service, "platform", KUBE_API)
    readers = {t["name"]: t for t in scaled_object["spec"]["triggers"] if t["type"] == "metrics-api"}
    assert set(readers) == {"forecast", "headroom"}
    forecast, headroom = readers["forecast"], readers["headroom"]
    assert KUBE_API + patch.path == forecast["metadata"]["url"]  # the forecaster writes where KEDA reads

    seed = forecast_configmap_manifest(service, "platform")
    assert keda_reads(seed, forecast["metadata"]["valueLocation"]) == 0  # before the first run: abstain
    assert keda_reads(seed, headroom["metadata"]["valueLocation"]) == 1  # ... and no margin
    published = json.loads(patch.body)
    assert "headroom" in published["data"]  # every run publishes it, "1" when it has no calibrated margin
    live = merge_patch(seed, published)
    replicas = keda_reads(live, forecast["metadata"]["valueLocation"])
    assert keda_reads(live, headroom["metadata"]["valueLocation"]) > 0  # a multiplier the formula can clamp
    doc = json.loads(live["data"]["forecast.json"])
    assert doc["acted"] is True and doc["confidence"] >= doc["threshold"] - 0.25  # calibrated: the gate is open
    assert service.scaling.min_replicas <= replicas <= service.scaling.max_replicas
    assert replicas == doc["replicas"] >= doc["upper_rps"] / 50  # sized at 50 req/s per pod
    # AverageValue with target 1: the HPA's proposal for this metric is exactly the published count.
    assert forecast["metricType"] == "AverageValue" and float(forecast["metadata"]["targetValue"]) == 1.0
