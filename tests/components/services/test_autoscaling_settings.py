"""Bad scaling input: each mistake is one clear problem naming its YAML path (services[i].scaling....)."""

from __future__ import annotations

from typing import Any

import pytest

from components.platform.config import ConfigError, parse_config
from components.services.config import PredictionSettings
from tests.plans import deep_merge, stack_values

BACKEND = 0  # prod services[0]: backend, prediction on, peak windows


def _prod_with(index: int, changes: dict[str, Any], *, null: tuple[str, ...] = ()) -> dict[str, Any]:
    values = stack_values("prod")
    services = list(values["services"])
    services[index] = deep_merge(services[index], changes)
    for key in null:  # explicit YAML null (deep_merge treats None as "remove the key")
        services[index]["scaling"][key] = None
    return {**values, "services": services}


def problems_of(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    return caught.value.problems


CASES: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    (
        "prediction without a request-rate target",
        {},
        ("target_rps_per_pod",),
        "services[0].scaling.prediction.enabled: needs target_rps_per_pod",
    ),
    (
        "baseline below min",
        {"scaling": {"baseline_replicas": 3}},
        (),
        "services[0].scaling.baseline_replicas: 3 is outside [min_replicas 5, max_replicas 100]",
    ),
    (
        "forecast interval not below the look-ahead",
        {"scaling": {"prediction": {"interval_minutes": 30}}},
        (),
        "services[0].scaling.prediction.interval_minutes: 30 is not below look_ahead_minutes 30",
    ),
    (
        "forecast query with a stray placeholder",
        {"scaling": {"prediction": {"query": 'sum(rate(http_requests_total{job="{job}"}[5m]))'}}},
        (),
        "services[0].scaling.prediction.query: ",
    ),
    (
        "rps query with an unknown placeholder",
        {"scaling": {"rps_query": 'sum(rate(http_requests_total{{pod="{pod}"}}[2m]))'}},
        (),
        "services[0].scaling.rps_query: ",
    ),
    (
        "prometheus url without a scheme",
        {"scaling": {"prometheus_url": "prometheus:9090"}},
        (),
        "services[0].scaling.prometheus_url: 'prometheus:9090' is not an http(s) URL",
    ),
    (
        "unpinned forecaster image",
        {"scaling": {"prediction": {"image": "ghcr.io/example/predictive-scaler:latest"}}},
        (),
        "services[0].scaling.prediction.image: ",
    ),
    (
        "window with start = end",
        {"scaling": {"schedules": [{"name": "flat", "start": "08:00", "end": "08:00", "factor": 1.5}]}},
        (),
        "services[0].scaling.schedules[0].end: 08:00 equals start",
    ),
    (
        "factor below 1",
        {"scaling": {"schedules": [{"name": "dip", "start": "08:00", "end": "09:00", "factor": 0.5}]}},
        (),
        "services[0].scaling.schedules[0].factor: 0.5 is below the minimum 1",
    ),
]


@pytest.mark.parametrize(("label", "changes", "null", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_scaling_input_names_the_key(
    label: str, changes: dict[str, Any], null: tuple[str, ...], expected: str
) -> None:
    problems = problems_of(_prod_with(BACKEND, changes, null=null))
    assert any(p.startswith(expected) for p in problems), problems
    assert len(problems) == 1, problems


def test_query_problem_says_how_to_write_braces() -> None:
    [problem] = problems_of(
        _prod_with(BACKEND, {"scaling": {"prediction": {"query": 'sum(rate(x{job="{job}"}[5m]))'}}})
    )
    assert "{service}" in problem and "{{ and }}" in problem


def _renamed_backend(changes: dict[str, Any]) -> dict[str, Any]:
    """Prod with the backend changed, and the services that use it following its new name."""
    values = _prod_with(BACKEND, changes)
    name = values["services"][BACKEND]["name"]
    values["services"] = [
        {**s, "uses": [name if u == "backend" else u for u in s.get("uses", [])]} for s in values["services"]
    ]
    return values


def test_service_name_too_long_for_the_forecaster_cronjob() -> None:
    long_name = "a" * 42  # + "-forecaster" = 53 > 52
    [problem] = problems_of(_renamed_backend({"name": long_name}))
    assert problem.startswith("services[0].name: ") and "52" in problem and "at most 41" in problem
    # Without prediction the same name is fine (no CronJob).
    values = _renamed_backend({"name": long_name, "scaling": {"prediction": {"enabled": False}}})
    assert parse_config(values).services[0].name == long_name


def test_interval_check_only_applies_when_prediction_runs() -> None:
    values = _prod_with(2, {"scaling": {"prediction": {"enabled": False, "interval_minutes": 60}}})
    assert parse_config(values).services[2].scaling.prediction.interval_minutes == 60


def test_live_headroom_is_on_by_default_and_says_why() -> None:
    assert PredictionSettings().live_headroom is True
    description = PredictionSettings.model_fields["live_headroom"].description or ""
    for needed in ("live request rate", "5 minutes old", "[1, 2]", "KEDA 2.14", "prediction is off"):
        assert needed in description, needed


def test_live_headroom_must_be_a_boolean() -> None:
    [problem] = problems_of(_prod_with(BACKEND, {"scaling": {"prediction": {"live_headroom": "sometimes"}}}))
    assert problem.startswith("services[0].scaling.prediction.live_headroom: "), problem
