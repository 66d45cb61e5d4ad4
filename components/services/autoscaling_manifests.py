"""Manifests of the Autoscaling component, as pure functions of the validated settings.

One controller per workload (KEDA's admission webhook rejects a ScaledObject whose target already has an
HPA, kedacore/keda#3083): a plain service gets an ``autoscaling/v2`` HPA; a service with peak windows or
prediction gets a KEDA ``ScaledObject`` instead, and KEDA creates and owns the HPA.

Predictive wiring (the contract of ``functions/predictive_scaler``): a CronJob runs the forecaster, which
merge-patches ``data.replicas`` of the ConfigMap ``predictive-scaler-<service>`` (0 = abstain). KEDA's
``metrics-api`` trigger GETs that ConfigMap from the Kubernetes API with a bearer token of a read-only
service account and reads ``data.replicas`` (a string, parsed as a quantity) as an ``AverageValue``
metric with target 1, so the HPA proposes exactly the published replica count; 0 never wins the max()
over the other metrics. With ``prediction.live_headroom`` the forecaster also publishes ``data.headroom``, a
calibrated multiplier that a second metrics-api trigger (``headroom``) reads, and the scalingModifiers formula
applies it to the live request rate at every HPA sync.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from components.lib.k8s import SECURE_CONTAINER_CONTEXT, app_labels, pod_security_context
from components.services.autoscaling_schedule import cron_trigger, cron_trigger_name
from components.services.config import FORECASTER_SUFFIX, ScalingBehavior, ServiceSettings

KEDA_API_VERSION = "keda.sh/v1alpha1"
KEDA_POLLING_INTERVAL_SECONDS = 30
"""How often KEDA asks each trigger (its default); the forecaster publishes every few minutes."""
FORECAST_VALUE_LOCATION = "data.replicas"
"""GJSON path of the published replicas in the ConfigMap as the API server returns it."""
HEADROOM_VALUE_LOCATION = "data.headroom"
"""GJSON path of the published headroom multiplier (a string such as ``"1.137"``; ``"1"`` = no margin)."""
HEADROOM_CEILING = 2
"""Most the formula lets a published headroom multiply the live request rate by. Defence in depth: the
forecaster never publishes above ~1.25, so only a corrupted or hand-edited ConfigMap reaches this, and it
must not be able to order several times the fleet the request rate needs in one sync."""
HEADROOM_FACTOR = f"min(max(headroom ?? 1, 1), {HEADROOM_CEILING})"
"""The headroom as the formula uses it: a missing value is no margin, below 1 never cuts the request-rate
target, above the ceiling is capped."""
FORECASTER_VERBS = ("patch",)
"""The forecaster only sends a JSON merge-patch of the one ConfigMap (publish.py); nothing else."""
READER_VERBS = ("get",)
"""KEDA's metrics-api trigger only GETs the one ConfigMap."""
ADAPTER_SERIES = "http_requests_total"
"""Counter the prometheus-adapter turns into the per-pod request-rate metric."""
ADAPTER_RATE_WINDOW = "2m"


def quantity(value: float) -> str:
    """A Kubernetes quantity string: ``50`` for whole numbers, millis (``12500m``) otherwise."""
    exact = Decimal(str(value))
    if exact == exact.to_integral_value():
        return str(int(exact))
    return f"{int((exact * 1000).to_integral_value())}m"


def plain_number(value: float) -> str:
    """A number as KEDA metadata wants it (``50``, ``12.5``)."""
    exact = Decimal(str(value))
    return str(int(exact)) if exact == exact.to_integral_value() else format(exact.normalize(), "f")


def forecast_configmap_name(service: str) -> str:
    """Must equal ``functions.predictive_scaler.publish.configmap_name`` (a test keeps them equal)."""
    return f"predictive-scaler-{service}"


def forecaster_name(service: str) -> str:
    return f"{service}{FORECASTER_SUFFIX}"


def reader_name(service: str) -> str:
    return f"{service}-forecast-reader"


def reader_token_secret_name(service: str) -> str:
    return f"{reader_name(service)}-token"


def _meta(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels}


def _target(service: ServiceSettings) -> dict[str, str]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name}


def _rules(behavior: ScalingBehavior) -> dict[str, Any]:
    return {
        "stabilizationWindowSeconds": behavior.stabilization_window_seconds,
        "selectPolicy": behavior.select_policy,
        "policies": [{"type": p.type, "value": p.value, "periodSeconds": p.period_seconds} for p in behavior.policies],
    }


def behavior(service: ServiceSettings) -> dict[str, Any]:
    """HPA ``behavior`` (also KEDA's): scale-up stabilization 0-60 s so a scale-up is requested within a sync or
    two, the seed's scale-up cooldown as the step policies' ``periodSeconds``; scale-down keeps its window."""
    return {"scaleUp": _rules(service.scaling.scale_up), "scaleDown": _rules(service.scaling.scale_down)}


# --- plain services: HPA ----------------------------------------------------------------------------


def hpa_manifest(service: ServiceSettings, namespace: str) -> dict[str, Any]:
    scaling = service.scaling
    metrics: list[dict[str, Any]] = []
    for resource, target in (("cpu", scaling.target_cpu_utilization), ("memory", scaling.target_memory_utilization)):
        if target is not None:
            metrics.append(
                {
                    "type": "Resource",
                    "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": target}},
                }
            )
    if scaling.target_rps_per_pod is not None:
        metrics.append(
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": scaling.rps_metric},
                    "target": {"type": "AverageValue", "averageValue": quantity(scaling.target_rps_per_pod)},
                },
            }
        )
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(service.name, namespace, app_labels(service.name, service.tier)),
        "spec": {
            "scaleTargetRef": _target(service),
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": metrics,
            "behavior": behavior(service),
        },
    }


def adapter_rule(metric_name: str) -> dict[str, Any]:
    """prometheus-adapter rule serving ``metric_name`` per pod as the rate of ``http_requests_total``."""
    return {
        "seriesQuery": f'{ADAPTER_SERIES}{{namespace!="",pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{ADAPTER_SERIES}$", "as": metric_name},
        "metricsQuery": f"sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[{ADAPTER_RATE_WINDOW}])) by (<<.GroupBy>>)",
    }


def adapter_metric_names(services: tuple[ServiceSettings, ...]) -> list[str]:
    """Pods metrics the HPAs read (services on KEDA query Prometheus themselves)."""
    return sorted(
        {s.scaling.rps_metric for s in services if not s.scaling.uses_keda and s.scaling.target_rps_per_pod is not None}
    )


def adapter_configmap_manifest(services: tuple[ServiceSettings, ...], namespace: str, name: str) -> dict[str, Any]:
    """The prometheus-adapter configuration (``config.yaml``) with one rule per request-rate metric.

    The adapter Helm chart uses it with ``rules.existing: <name>`` (the chart then renders no rules of its own).
    """
    config = {"rules": [adapter_rule(metric) for metric in adapter_metric_names(services)]}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, namespace, app_labels("prometheus-adapter-rules", "metrics-adapter")),
        "data": {"config.yaml": yaml.safe_dump(config, sort_keys=False)},
    }


# --- scheduled / predictive services: KEDA ScaledObject ---------------------------------------------


def forecast_url(kube_api_url: str, namespace: str, service: str) -> str:
    return f"{kube_api_url.rstrip('/')}/api/v1/namespaces/{namespace}/configmaps/{forecast_configmap_name(service)}"


def request_rate_query(service: ServiceSettings, namespace: str) -> str:
    """The service's total request rate (``rps_query`` filled in): what the ``rps`` trigger reads and, with live
    headroom, what the forecaster calibrates the headroom on (``--live-query``)."""
    return service.scaling.rps_query.format(service=service.name, namespace=namespace)


def uses_live_headroom(service: ServiceSettings) -> bool:
    """Whether the formula multiplies the live request rate by the forecaster's published headroom."""
    scaling = service.scaling
    return scaling.prediction.enabled and scaling.prediction.live_headroom and scaling.target_rps_per_pod is not None


def uses_formula(service: ServiceSettings) -> bool:
    """Whether the ScaledObject hands the HPA one scalingModifiers composite instead of its external triggers."""
    prediction = service.scaling.prediction
    return prediction.enabled and (prediction.replaces_schedules or uses_live_headroom(service))


def forecast_formula(service: ServiceSettings) -> str:
    """KEDA scalingModifiers formula (expr-lang) in replicas: request rate (with live headroom), forecast, windows.

    KEDA hands the HPA this one composite External metric instead of the triggers it names (CPU and memory stay
    Resource metrics beside it), so the request-rate trigger is part of it: ``rps / target_rps_per_pod`` is
    what its own AverageValue target gave; with live headroom it is ``rps * HEADROOM_FACTOR / target``, the
    forecaster's calibrated margin on the rate KEDA reads at this sync. With ``replaces_schedules`` the
    forecast stands in for the windows while published (``> 0``); without, the windows stay plain floors.

    Verified against the sources: expr-lang v1.16.5 (KEDA 2.14's) and v1.17.8 (KEDA's main) document ``??``
    (nil coalescing), ``?:`` (ternary) and ``min``/``max`` builtins that take any number of numeric arguments
    (builtin/lib.go minMax, mixed int/float compared numerically). KEDA compiles the formula against a
    ``map[string]float64`` of the non-cpu/memory trigger names set to -1 and runs it once
    (apis/keda/v1alpha1/scaledobject_webhook.go validateScalingModifiersFormula: a name missing from the
    triggers is rejected; ``-`` is not allowed in a variable, hence ``cron_<window>``) after wrapping it in
    ``float(...)`` (main: a ``let`` form that keeps a nil result when the formula has ``??``). Both stacks'
    formulas were also run once through those two expr-lang versions that way, outside the test suite (it has
    no Go toolchain): they compile, and rps 1000 / target 50 gives 22.74 at headroom 1.137, 20 at 0.5, 40 at 3,
    20 with headroom and forecast nil.

    At run time every trigger's value is in the map. A trigger that fails (Prometheus down, the ConfigMap
    unreadable or without the key) fails the whole composite for that sync (pkg/scaling/scale_handler.go: any
    scaler error without an active fallback returns an error), and the HPA holds its count while CPU scales up.
    Only KEDA 2.20+ with ``fallback.behavior: scalingModifiers`` hands a trigger that keeps failing to the
    formula as nil (pkg/fallback/fallback.go): then ``?? 0`` / ``?? 1`` make an unreadable forecast abstain and
    an unreadable headroom no margin, while ``rps`` has no default.
    """
    scaling = service.scaling
    windows = [cron_trigger_name(w, in_formula=True) for w in scaling.schedules]
    floor = windows[0] if len(windows) == 1 else f"max({', '.join(windows)})"
    chosen = f"(forecast ?? 0) > 0 ? forecast : {floor}"
    if scaling.target_rps_per_pod is None:
        return chosen
    target = plain_number(scaling.target_rps_per_pod)
    if not uses_live_headroom(service):
        return f"max(rps / {target}, {chosen})"
    live = f"rps * {HEADROOM_FACTOR} / {target}"
    if scaling.prediction.replaces_schedules:
        return f"max({live}, {chosen})"
    return f"max({', '.join([live, 'forecast ?? 0', *windows])})"


def _configmap_trigger(
    name: str, value_location: str, service: ServiceSettings, namespace: str, kube_api_url: str
) -> dict[str, Any]:
    """A metrics-api trigger reading one key of the forecast ConfigMap (AverageValue, target 1)."""
    return {
        "type": "metrics-api",
        "name": name,
        "metricType": "AverageValue",
        "metadata": {
            "url": forecast_url(kube_api_url, namespace, service.name),
            "format": "json",
            "valueLocation": value_location,
            "targetValue": "1",
            "authMode": "bearer",
        },
        "authenticationRef": {"name": reader_name(service.name), "kind": "TriggerAuthentication"},
    }


def scaled_object_manifest(service: ServiceSettings, namespace: str, kube_api_url: str) -> dict[str, Any]:
    scaling = service.scaling
    in_formula = uses_formula(service)
    triggers: list[dict[str, Any]] = [
        cron_trigger(scaling, window, in_formula=in_formula) for window in scaling.schedules
    ]
    for resource, target in (("cpu", scaling.target_cpu_utilization), ("memory", scaling.target_memory_utilization)):
        if target is not None:
            triggers.append(
                {"type": resource, "name": resource, "metricType": "Utilization", "metadata": {"value": str(target)}}
            )
    if scaling.target_rps_per_pod is not None:
        triggers.append(
            {
                "type": "prometheus",
                "name": "rps",
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": scaling.prometheus_url,
                    "query": request_rate_query(service, namespace),
                    "threshold": plain_number(scaling.target_rps_per_pod),
                },
            }
        )
    if scaling.prediction.enabled:
        triggers.append(_configmap_trigger("forecast", FORECAST_VALUE_LOCATION, service, namespace, kube_api_url))
    if uses_live_headroom(service):
        triggers.append(_configmap_trigger("headroom", HEADROOM_VALUE_LOCATION, service, namespace, kube_api_url))
    advanced: dict[str, Any] = {
        "restoreToOriginalReplicaCount": False,
        "horizontalPodAutoscalerConfig": {"behavior": behavior(service)},
    }
    if in_formula:
        advanced["scalingModifiers"] = {
            "formula": forecast_formula(service),
            "target": "1",
            "metricType": "AverageValue",
        }
    return {
        "apiVersion": KEDA_API_VERSION,
        "kind": "ScaledObject",
        "metadata": _meta(service.name, namespace, app_labels(service.name, service.tier)),
        "spec": {
            "scaleTargetRef": _target(service),
            "pollingInterval": KEDA_POLLING_INTERVAL_SECONDS,
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "advanced": advanced,
            "triggers": triggers,
        },
    }


# --- the predictive scaler: publisher (CronJob) and reader (KEDA) -----------------------------------


def _forecaster_labels(service: ServiceSettings) -> dict[str, str]:
    return app_labels(forecaster_name(service.name), "predictive-scaler")


def forecast_configmap_manifest(service: ServiceSettings, namespace: str) -> dict[str, Any]:
    """The ConfigMap the forecaster patches; created abstaining (``replicas: "0"``, ``headroom: "1"`` with live
    headroom) so KEDA can read every key its triggers name at once."""
    data = {"replicas": "0", "acted": "false"}
    if uses_live_headroom(service):
        data["headroom"] = "1"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(forecast_configmap_name(service.name), namespace, _forecaster_labels(service)),
        "data": data,
    }


def service_account_manifest(name: str, service: ServiceSettings, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(name, namespace, _forecaster_labels(service)),
        "automountServiceAccountToken": False,
    }


def role_manifest(name: str, service: ServiceSettings, namespace: str, verbs: tuple[str, ...]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(name, namespace, _forecaster_labels(service)),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": [forecast_configmap_name(service.name)],
                "verbs": list(verbs),
            }
        ],
    }


def role_binding_manifest(name: str, service: ServiceSettings, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(name, namespace, _forecaster_labels(service)),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }


def reader_token_secret_manifest(service: ServiceSettings, namespace: str) -> dict[str, Any]:
    """A service-account token Secret for the reader; the token controller fills ``token`` and ``ca.crt``."""
    meta = _meta(reader_token_secret_name(service.name), namespace, _forecaster_labels(service))
    meta["annotations"] = {"kubernetes.io/service-account.name": reader_name(service.name)}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "kubernetes.io/service-account-token"}


def trigger_authentication_manifest(service: ServiceSettings, namespace: str) -> dict[str, Any]:
    """Bearer token and cluster CA for the metrics-api trigger, from the reader's token Secret."""
    secret = reader_token_secret_name(service.name)
    return {
        "apiVersion": KEDA_API_VERSION,
        "kind": "TriggerAuthentication",
        "metadata": _meta(reader_name(service.name), namespace, _forecaster_labels(service)),
        "spec": {
            "secretTargetRef": [
                {"parameter": "token", "name": secret, "key": "token"},
                {"parameter": "ca", "name": secret, "key": "ca.crt"},
            ]
        },
    }


def forecaster_schedule(interval_minutes: int) -> str:
    """Every ``interval_minutes`` minutes (a step that does not divide 60 leaves a shorter gap at the hour)."""
    return "0 * * * *" if interval_minutes >= 60 else f"*/{interval_minutes} * * * *"


def forecaster_args(service: ServiceSettings, namespace: str) -> list[str]:
    """The forecaster CLI invocation (``python -m functions.predictive_scaler run ...``) for one service."""
    scaling, prediction = service.scaling, service.scaling.prediction
    assert scaling.target_rps_per_pod is not None  # guaranteed by ScalingSettings for prediction
    # The headroom is calibrated on exactly what the rps trigger reads: the rate the formula multiplies.
    # ... and replayed the way the HPA applies it: keeping the highest proposal of its scale-down window.
    live = (
        [
            "--live-query", request_rate_query(service, namespace),
            "--scale-down-window-seconds", str(scaling.scale_down.stabilization_window_seconds),
        ]
        if uses_live_headroom(service)
        else []
    )  # fmt: skip
    return [
        "run",
        "--service", service.name,
        "--prometheus", scaling.prometheus_url,
        "--query", prediction.query,
        *live,
        "--min-replicas", str(scaling.min_replicas),
        "--max-replicas", str(scaling.max_replicas),
        "--target-rps-per-pod", plain_number(scaling.target_rps_per_pod),
        "--look-ahead-minutes", str(prediction.look_ahead_minutes),
        "--confidence-threshold", plain_number(prediction.confidence_threshold),
        "--history-days", str(prediction.history_days),
        "--interval-minutes", str(prediction.interval_minutes),
        "--publish", "configmap",
        "--configmap", forecast_configmap_name(service.name),
        "--namespace", namespace,
    ]  # fmt: skip


def forecaster_cronjob_manifest(service: ServiceSettings, namespace: str) -> dict[str, Any]:
    prediction = service.scaling.prediction
    interval = prediction.interval_minutes * 60
    labels = _forecaster_labels(service)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(forecaster_name(service.name), namespace, labels),
        "spec": {
            "schedule": forecaster_schedule(prediction.interval_minutes),
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            # A run that cannot start within half an interval is skipped: the next one is due soon.
            "startingDeadlineSeconds": max(30, interval // 2),
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 1,
                    # Never outlive the interval: a hung run must not hold the next one back (Forbid).
                    "activeDeadlineSeconds": max(60, interval - 30),
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": forecaster_name(service.name),
                            "automountServiceAccountToken": True,  # it patches the ConfigMap with this token
                            "restartPolicy": "Never",
                            "securityContext": pod_security_context(),
                            "containers": [
                                {
                                    "name": "forecaster",
                                    "image": prediction.image,
                                    "imagePullPolicy": "IfNotPresent",
                                    "command": ["python", "-m", "functions.predictive_scaler"],
                                    "args": forecaster_args(service, namespace),
                                    "resources": {
                                        "requests": {
                                            "cpu": prediction.resources.requests.cpu,
                                            "memory": prediction.resources.requests.memory,
                                        },
                                        "limits": {
                                            "cpu": prediction.resources.limits.cpu,
                                            "memory": prediction.resources.limits.memory,
                                        },
                                    },
                                    "securityContext": dict(SECURE_CONTAINER_CONTEXT),
                                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                                }
                            ],
                            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                        },
                    },
                },
            },
        },
    }
