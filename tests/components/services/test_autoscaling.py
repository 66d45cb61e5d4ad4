"""Autoscaling from both stacks' plans: one controller per workload, specs from config, valid manifests.

Core kinds are validated against the Kubernetes 1.30 OpenAPI schemas (strict); KEDA objects against the
KEDA CRD schema from cloudcoil-models-keda, made strict (``additionalProperties: false`` everywhere the
CRD lists properties), plus KEDA's own per-scaler metadata keys, which the CRD leaves as a free map.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from components.platform.config import StackConfig, parse_config
from components.platform.outputs import StackOutputs
from components.services.autoscaling_manifests import (
    FORECAST_VALUE_LOCATION,
    HEADROOM_VALUE_LOCATION,
    forecast_configmap_name,
    forecaster_name,
    reader_name,
    reader_token_secret_name,
    uses_formula,
    uses_live_headroom,
)
from components.services.autoscaling_schedule import cron_trigger_name
from components.services.config import ServiceSettings
from offline.engine import PlanResult
from tests.plans import STACKS, manifests, manifests_of_kind, plan_of, plan_with, stack_values

KUBERNETES_VERSION = "1.30.0"
MY_CORE_KINDS = ("HorizontalPodAutoscaler", "CronJob", "Role", "RoleBinding", "ServiceAccount", "Secret", "ConfigMap")


def config_of(stack: str) -> StackConfig:
    return parse_config(stack_values(stack))


def by_name(plan: PlanResult, kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests_of_kind(plan, kind)}


def web_deployments(plan: PlanResult) -> list[dict[str, Any]]:
    return [
        m
        for m in manifests_of_kind(plan, "Deployment")
        if m["metadata"]["labels"].get("app.kubernetes.io/part-of") == "web-platform"
    ]


# --- KEDA CRD schema, strict ------------------------------------------------------------------------


def _forbid_unknown(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _forbid_unknown(value)
    elif isinstance(node, list):
        for value in node:
            _forbid_unknown(value)


@functools.cache
def keda_validator(kind: str) -> jsonschema.Draft202012Validator:
    from cloudcoil.models.keda import v1alpha1

    schema = copy.deepcopy(getattr(v1alpha1, kind).model_json_schema(by_alias=True))
    _forbid_unknown(schema)
    return jsonschema.Draft202012Validator(schema)


#: Metadata keys per KEDA scaler (keda.sh docs, scalers cron/cpu/memory/prometheus/metrics-api): required, allowed.
TRIGGER_METADATA: dict[str, tuple[set[str], set[str]]] = {
    "cron": ({"timezone", "start", "end", "desiredReplicas"}, set()),
    "cpu": ({"value"}, {"containerName"}),
    "memory": ({"value"}, {"containerName"}),
    "prometheus": (
        {"serverAddress", "query", "threshold"},
        {"activationThreshold", "namespace", "customHeaders", "ignoreNullValues", "queryParameters", "unsafeSsl"},
    ),
    "metrics-api": (
        {"url", "valueLocation", "targetValue"},
        {"format", "activationTargetValue", "unsafeSsl", "authMode", "method", "keyParamName"},
    ),
}
METRIC_TYPES = {"cpu": {"Utilization"}, "memory": {"Utilization"}, "prometheus": {"AverageValue", "Value"}}


def keda_problems(manifest: dict[str, Any]) -> list[str]:
    """Schema errors plus what the CRD cannot see: scaler metadata keys, metric types, policy types."""
    problems = [
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in keda_validator(manifest["kind"]).iter_errors(manifest)
    ]
    if manifest["kind"] != "ScaledObject":
        return problems
    spec = manifest["spec"]
    names = [t.get("name") for t in spec["triggers"]]
    if len(set(names)) != len(names):
        problems.append(f"trigger names repeat: {names}")
    for trigger in spec["triggers"]:
        required, optional = TRIGGER_METADATA[trigger["type"]]
        keys = set(trigger["metadata"])
        if missing := required - keys:
            problems.append(f"{trigger['name']}: missing {sorted(missing)}")
        if unknown := keys - required - optional:
            problems.append(f"{trigger['name']}: unknown metadata {sorted(unknown)}")
        allowed = METRIC_TYPES.get(trigger["type"], {"AverageValue"})
        if trigger.get("metricType", "AverageValue") not in allowed:
            problems.append(f"{trigger['name']}: metricType {trigger.get('metricType')} not in {sorted(allowed)}")
    behavior = spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior", {})
    for direction in ("scaleUp", "scaleDown"):
        for policy in behavior.get(direction, {}).get("policies", []):
            if policy["type"] not in ("Pods", "Percent"):
                problems.append(f"{direction}: policy type {policy['type']}")
    return problems


# --- one controller per workload ---------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_has_exactly_one_autoscaler(stack: str) -> None:
    plan = plan_of(stack)
    config = config_of(stack)
    targets: dict[str, list[str]] = {}
    for kind in ("HorizontalPodAutoscaler", "ScaledObject"):
        for manifest in manifests_of_kind(plan, kind):
            ref = manifest["spec"]["scaleTargetRef"]
            assert ref["kind"] == "Deployment" and ref["apiVersion"] == "apps/v1"
            targets.setdefault(ref["name"], []).append(kind)
    deployments = {m["metadata"]["name"] for m in web_deployments(plan)}
    assert set(targets) == deployments == {s.name for s in config.services}
    for service in config.services:
        expected = "ScaledObject" if service.scaling.uses_keda else "HorizontalPodAutoscaler"
        assert targets[service.name] == [expected], service.name


@pytest.mark.parametrize("stack", STACKS)
def test_autoscaled_deployments_carry_no_replicas(stack: str) -> None:
    deployments = web_deployments(plan_of(stack))
    assert deployments, f"the {stack} plan declares no web-platform Deployments"
    for deployment in deployments:
        assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]


# --- specs from config --------------------------------------------------------------------------------


def expected_behavior(service: ServiceSettings) -> dict[str, Any]:
    def rules(b: Any) -> dict[str, Any]:
        return {
            "stabilizationWindowSeconds": b.stabilization_window_seconds,
            "selectPolicy": b.select_policy,
            "policies": [{"type": p.type, "value": p.value, "periodSeconds": p.period_seconds} for p in b.policies],
        }

    return {"scaleUp": rules(service.scaling.scale_up), "scaleDown": rules(service.scaling.scale_down)}


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_specs_follow_config(stack: str) -> None:
    hpas = by_name(plan_of(stack), "HorizontalPodAutoscaler")
    plain = [s for s in config_of(stack).services if not s.scaling.uses_keda]
    assert plain, "each stack has a plain-HPA service"
    for service in plain:
        spec = hpas[service.name]["spec"]
        scaling = service.scaling
        assert (spec["minReplicas"], spec["maxReplicas"]) == (scaling.min_replicas, scaling.max_replicas)
        metrics = {m.get("resource", {}).get("name") or m["type"]: m for m in spec["metrics"]}
        assert metrics["cpu"]["resource"]["target"] == {
            "type": "Utilization",
            "averageUtilization": scaling.target_cpu_utilization,
        }
        assert metrics["memory"]["resource"]["target"]["averageUtilization"] == scaling.target_memory_utilization
        assert metrics["Pods"]["pods"] == {
            "metric": {"name": scaling.rps_metric},
            "target": {"type": "AverageValue", "averageValue": str(int(scaling.target_rps_per_pod or 0))},
        }
        assert spec["behavior"] == expected_behavior(service)


@pytest.mark.parametrize("stack", STACKS)
def test_scaled_object_specs_follow_config(stack: str) -> None:
    objects = by_name(plan_of(stack), "ScaledObject")
    keda = [s for s in config_of(stack).services if s.scaling.uses_keda]
    assert keda, "each stack has a scheduled service"
    for service in keda:
        scaling = service.scaling
        spec = objects[service.name]["spec"]
        assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (scaling.min_replicas, scaling.max_replicas)
        assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] == expected_behavior(service)
        triggers = {t["name"]: t for t in spec["triggers"]}
        for window in scaling.schedules:
            cron = triggers[cron_trigger_name(window, in_formula=uses_formula(service))]["metadata"]
            assert cron["desiredReplicas"] == str(scaling.scheduled_replicas(window))
            assert cron["timezone"] == window.timezone
        assert triggers["cpu"]["metadata"] == {"value": str(scaling.target_cpu_utilization)}
        assert triggers["memory"]["metricType"] == "Utilization"
        assert triggers["rps"]["metricType"] == "AverageValue"
        assert triggers["rps"]["metadata"]["serverAddress"] == scaling.prometheus_url
        assert float(triggers["rps"]["metadata"]["threshold"]) == scaling.target_rps_per_pod
        assert f'service="{service.name}"' in triggers["rps"]["metadata"]["query"]
        assert ("forecast" in triggers) == scaling.prediction.enabled
        assert ("headroom" in triggers) == uses_live_headroom(service)
        assert ("scalingModifiers" in spec["advanced"]) == uses_formula(service)


def test_prod_carries_the_seed_figures() -> None:
    plan = plan_of("prod")
    backend = by_name(plan, "ScaledObject")["backend"]["spec"]
    assert (backend["minReplicaCount"], backend["maxReplicaCount"]) == (5, 100)
    triggers = {t["name"]: t for t in backend["triggers"]}
    # The forecast stands in for the windows while trusted: the formula names them, so "_" instead of "-".
    assert triggers["cron_morning_peak"]["metadata"] == {
        "timezone": "UTC",
        "start": "0 8 * * *",
        "end": "0 10 * * *",
        "desiredReplicas": "15",
    }
    assert triggers["cron_evening_peak"]["metadata"]["desiredReplicas"] == "20"
    # The live request rate times the forecaster's calibrated margin (clamped to [1, 2]) at every sync.
    assert backend["advanced"]["scalingModifiers"] == {
        "formula": "max(rps * min(max(headroom ?? 1, 1), 2) / 50, "
        "(forecast ?? 0) > 0 ? forecast : max(cron_morning_peak, cron_evening_peak))",
        "target": "1",
        "metricType": "AverageValue",
    }
    assert triggers["cpu"]["metadata"]["value"] == "60" and triggers["memory"]["metadata"]["value"] == "70"
    assert triggers["rps"]["metadata"]["threshold"] == "50"
    behavior = backend["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    # Scale-up in under a minute (seed 004): no window; the seed's 300 s cooldown is the policies' period.
    assert behavior["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 300},
            {"type": "Pods", "value": 10, "periodSeconds": 300},
        ],
    }
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 600
    forecast = triggers["forecast"]
    assert forecast["metricType"] == "AverageValue" and forecast["metadata"]["targetValue"] == "1"
    frontend = by_name(plan, "HorizontalPodAutoscaler")["frontend"]["spec"]
    assert (frontend["minReplicas"], frontend["maxReplicas"]) == (2, 10)
    assert frontend["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0  # the default, as for every HPA
    assert {p["periodSeconds"] for p in frontend["behavior"]["scaleUp"]["policies"]} == {300}
    assert [m.get("resource", {}).get("target", {}).get("averageUtilization") for m in frontend["metrics"]] == [
        70,
        80,
        None,
    ]


# --- manifests valid -----------------------------------------------------------------------------------


def autoscaling_manifests(plan: PlanResult) -> list[dict[str, Any]]:
    """Objects the Autoscaling components declare (by name, so other components' objects are not judged)."""
    mine: list[dict[str, Any]] = []
    for manifest in manifests(plan):
        name, kind = manifest["metadata"]["name"], manifest["kind"]
        ours = (
            kind in ("HorizontalPodAutoscaler", "ScaledObject", "TriggerAuthentication")
            or name.startswith("predictive-scaler-")
            or name.endswith(("-forecaster", "-forecast-reader", "-forecast-reader-token"))
            or (kind == "ConfigMap" and name == "prometheus-adapter-rules")
        )
        if ours:
            mine.append(manifest)
    return mine


@pytest.mark.parametrize("stack", STACKS)
def test_core_manifests_validate_strict(stack: str) -> None:
    checked = [m for m in autoscaling_manifests(plan_of(stack)) if m["kind"] in MY_CORE_KINDS]
    kinds = {m["kind"] for m in checked}
    assert kinds == set(MY_CORE_KINDS)  # both stacks run an HPA, prediction and the adapter rules
    for manifest in checked:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("stack", STACKS)
def test_keda_manifests_validate_against_the_strict_crd_schema(stack: str) -> None:
    keda = [m for m in autoscaling_manifests(plan_of(stack)) if m["apiVersion"].startswith("keda.sh/")]
    assert {m["kind"] for m in keda} >= {"ScaledObject"}
    for manifest in keda:
        assert keda_problems(manifest) == [], manifest["metadata"]["name"]


def test_strict_keda_schema_rejects_typos() -> None:
    backend = by_name(plan_of("prod"), "ScaledObject")["backend"]
    assert keda_problems(backend) == []
    typo_spec = copy.deepcopy(backend)
    typo_spec["spec"]["maxReplicaCont"] = typo_spec["spec"].pop("maxReplicaCount")
    assert any("maxReplicaCont" in p for p in keda_problems(typo_spec))
    typo_nested = copy.deepcopy(backend)
    hpa_config = typo_nested["spec"]["advanced"]["horizontalPodAutoscalerConfig"]
    hpa_config["behaviour"] = hpa_config.pop("behavior")
    assert any("behaviour" in p for p in keda_problems(typo_nested))
    typo_metadata = copy.deepcopy(backend)
    rps = next(t for t in typo_metadata["spec"]["triggers"] if t["name"] == "rps")
    rps["metadata"]["treshold"] = rps["metadata"].pop("threshold")
    assert any("treshold" in p for p in keda_problems(typo_metadata))
    # The schema as shipped lets the typo through; only the strict copy catches it.
    from cloudcoil.models.keda.v1alpha1 import ScaledObject

    lenient = jsonschema.Draft202012Validator(ScaledObject.model_json_schema(by_alias=True))
    assert lenient.is_valid(typo_spec)


# --- predictive wiring -------------------------------------------------------------------------------


def test_forecaster_rbac_is_limited_to_the_one_configmap() -> None:
    plan = plan_of("prod")
    configmap = forecast_configmap_name("backend")
    roles = by_name(plan, "Role")
    assert roles[forecaster_name("backend")]["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [configmap], "verbs": ["patch"]}
    ]
    assert roles[reader_name("backend")]["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [configmap], "verbs": ["get"]}
    ]
    bindings = by_name(plan, "RoleBinding")
    for name in (forecaster_name("backend"), reader_name("backend")):
        assert bindings[name]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
        assert bindings[name]["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": "platform"}]
    accounts = by_name(plan, "ServiceAccount")
    assert accounts[forecaster_name("backend")]["automountServiceAccountToken"] is False
    assert accounts[reader_name("backend")]["automountServiceAccountToken"] is False
    assert not any("ClusterRole" in m["kind"] for m in autoscaling_manifests(plan))


def test_forecaster_cronjob() -> None:
    cronjob = by_name(plan_of("prod"), "CronJob")[forecaster_name("backend")]
    spec = cronjob["spec"]
    assert spec["schedule"] == "*/5 * * * *" and spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 150
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 3)
    job = spec["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] < 300 and job["backoffLimit"] == 1
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == forecaster_name("backend")
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["restartPolicy"] == "Never"
    [container] = pod["containers"]
    assert container["image"] == "ghcr.io/example/predictive-scaler:0.2.0"
    assert container["command"] == ["python", "-m", "functions.predictive_scaler"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    args = container["args"]
    assert args[args.index("--configmap") + 1] == forecast_configmap_name("backend")
    assert args[args.index("--look-ahead-minutes") + 1] == "30"
    assert args[args.index("--confidence-threshold") + 1] == "0.8"
    # The headroom is calibrated on exactly what the rps trigger reads, right after the forecast's own query.
    rps = next(t for t in by_name(plan_of("prod"), "ScaledObject")["backend"]["spec"]["triggers"] if t["name"] == "rps")
    assert args.index("--live-query") == args.index("--query") + 2
    assert args[args.index("--live-query") + 1] == rps["metadata"]["query"]
    assert rps["metadata"]["query"] == 'sum(rate(http_requests_total{namespace="platform",service="backend"}[2m]))'
    # The margin's backtest keeps the highest proposal of the HPA's own scale-down window, as the HPA does.
    backend = by_name(plan_of("prod"), "ScaledObject")["backend"]["spec"]["advanced"]["horizontalPodAutoscalerConfig"]
    window = backend["behavior"]["scaleDown"]["stabilizationWindowSeconds"]
    assert args[args.index("--scale-down-window-seconds") + 1] == str(window) == "600"


def test_without_live_headroom_the_cronjob_has_no_live_query() -> None:
    plan = plan_with("prod", _services("prod", 0, {"prediction": {"live_headroom": False}}))
    [container] = by_name(plan, "CronJob")[forecaster_name("backend")]["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]["containers"]
    assert "--live-query" not in container["args"] and "--scale-down-window-seconds" not in container["args"]
    assert by_name(plan, "ConfigMap")[forecast_configmap_name("backend")]["data"] == {"replicas": "0", "acted": "false"}
    backend = by_name(plan, "ScaledObject")["backend"]["spec"]
    assert "headroom" not in {t["name"] for t in backend["triggers"]}
    assert backend["advanced"]["scalingModifiers"]["formula"] == (
        "max(rps / 50, (forecast ?? 0) > 0 ? forecast : max(cron_morning_peak, cron_evening_peak))"
    )


def test_keda_reads_what_the_forecaster_writes() -> None:
    plan = plan_of("prod")
    configmap = by_name(plan, "ConfigMap")[forecast_configmap_name("backend")]
    assert configmap["data"]["replicas"] == "0"  # abstaining until the first run
    assert configmap["data"]["headroom"] == "1"  # no margin until the first run
    triggers = by_name(plan, "ScaledObject")["backend"]["spec"]["triggers"]
    names = [t["name"] for t in triggers]
    forecast, headroom = triggers[names.index("forecast")], triggers[names.index("headroom")]
    assert names.index("headroom") == names.index("forecast") + 1
    # The same reader of the same ConfigMap; only the key differs.
    assert headroom["metadata"]["valueLocation"] == HEADROOM_VALUE_LOCATION == "data.headroom"
    assert {**headroom, "name": "forecast", "metadata": {**headroom["metadata"], "valueLocation": "data.replicas"}} == (
        forecast
    )
    assert forecast["metadata"]["url"].endswith(
        f"/api/v1/namespaces/platform/configmaps/{configmap['metadata']['name']}"
    )
    assert forecast["metadata"]["valueLocation"] == FORECAST_VALUE_LOCATION == "data.replicas"
    assert forecast["metadata"]["authMode"] == "bearer"
    auth = by_name(plan, "TriggerAuthentication")[forecast["authenticationRef"]["name"]]
    refs = {r["parameter"]: r for r in auth["spec"]["secretTargetRef"]}
    assert set(refs) == {"token", "ca"}
    secret = by_name(plan, "Secret")[refs["token"]["name"]]
    assert secret["metadata"]["name"] == reader_token_secret_name("backend")
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.name"] == reader_name("backend")
    assert (refs["token"]["key"], refs["ca"]["key"]) == ("token", "ca.crt")


def test_forecast_configmap_is_left_to_the_forecaster() -> None:
    """Pulumi seeds the ConfigMap but ignores changes to its data (the forecaster patches it every run)."""
    from tests.plans import named

    record = named(plan_of("prod"), "backend-autoscaling-predictive-configmap")
    assert record.inputs["data"] == {"replicas": "0", "acted": "false", "headroom": "1"}
    assert record.options["ignoreChanges"] == ["data"]  # so existing ConfigMaps keep what the forecaster wrote


# --- metrics plumbing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_adapter_rules_serve_every_hpa_pods_metric(stack: str) -> None:
    plan = plan_of(stack)
    [configmap] = [
        m for m in manifests_of_kind(plan, "ConfigMap") if m["metadata"]["name"] == "prometheus-adapter-rules"
    ]
    assert configmap["metadata"]["namespace"] == "monitoring"
    rules = yaml.safe_load(configmap["data"]["config.yaml"])["rules"]
    served = {r["name"]["as"] for r in rules}
    wanted = {
        m["pods"]["metric"]["name"]
        for hpa in manifests_of_kind(plan, "HorizontalPodAutoscaler")
        for m in hpa["spec"]["metrics"]
        if m["type"] == "Pods"
    }
    assert wanted and served == wanted
    for rule in rules:
        assert rule["seriesQuery"].startswith("http_requests_total{")
        assert rule["resources"]["overrides"]["pod"] == {"resource": "pod"}
        assert "rate(<<.Series>>{<<.LabelMatchers>>}" in rule["metricsQuery"]


# --- outputs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_name_each_autoscaler(stack: str) -> None:
    plan = plan_of(stack)
    outputs = StackOutputs.model_validate(plan.outputs)
    assert outputs.autoscaling is not None
    config = config_of(stack)
    assert set(outputs.autoscaling.services) == {s.name for s in config.services}
    for service in config.services:
        entry = outputs.autoscaling.services[service.name]
        kind_manifests = by_name(plan, entry.kind)
        assert entry.name in kind_manifests
        assert (entry.min_replicas, entry.max_replicas) == (service.scaling.min_replicas, service.scaling.max_replicas)
        assert entry.schedules == {w.name: service.scaling.scheduled_replicas(w) for w in service.scaling.schedules}
        assert (entry.forecaster_cronjob is not None) == service.scaling.prediction.enabled
        assert outputs.services[service.name].autoscaler == ("keda" if entry.kind == "ScaledObject" else "hpa")


# --- variants -----------------------------------------------------------------------------------------


def _services(stack: str, index: int, scaling: dict[str, Any]) -> dict[str, Any]:
    from tests.plans import deep_merge

    services = list(stack_values(stack)["services"])
    services[index] = deep_merge(services[index], {"scaling": scaling})
    return {"services": services}


def test_prediction_without_schedules_is_keda_with_only_the_forecast_extra() -> None:
    plan = plan_with("staging", _services("staging", 1, {"prediction": {"enabled": True}}))
    assert "frontend" not in by_name(plan, "HorizontalPodAutoscaler")
    spec = by_name(plan, "ScaledObject")["frontend"]["spec"]
    assert [(t["type"], t["name"]) for t in spec["triggers"]] == [
        ("cpu", "cpu"),
        ("memory", "memory"),
        ("prometheus", "rps"),
        ("metrics-api", "forecast"),
        ("metrics-api", "headroom"),
    ]
    assert (
        spec["advanced"]["scalingModifiers"]["formula"]
        == "max(rps * min(max(headroom ?? 1, 1), 2) / 50, forecast ?? 0)"
    )
    assert forecaster_name("frontend") in by_name(plan, "CronJob")
    for manifest in autoscaling_manifests(plan):
        if manifest["apiVersion"].startswith("keda.sh/"):
            assert keda_problems(manifest) == []
        else:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_without_request_rate_targets_no_pods_metric_and_no_adapter_rules() -> None:
    changes = _services("staging", 1, {})
    changes["services"][1]["scaling"]["target_rps_per_pod"] = None  # explicit null (deep_merge drops None)
    plan = plan_with("staging", changes)
    hpa = by_name(plan, "HorizontalPodAutoscaler")["frontend"]
    assert [m["type"] for m in hpa["spec"]["metrics"]] == ["Resource", "Resource"]
    assert "prometheus-adapter-rules" not in by_name(plan, "ConfigMap")
    assert plan.outputs["autoscaling"]["prometheus_adapter_configmap"] is None
