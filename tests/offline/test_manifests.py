"""Every Kubernetes object the plan renders validates against the real Kubernetes 1.30 OpenAPI schemas.

Custom resources (KEDA, prometheus-operator, Velero) are not in the core schemas; their own tests
validate them against their CRD schemas, and this test makes sure none slips through unchecked.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.plans import STACKS, manifests, plan_of

KUBERNETES_VERSION = "1.30.0"

#: API groups served by CRDs; validated by the tests of the component that declares them.
# Custom resources are validated against their own (vendored, strict) CRD schemas in their packages' tests:
# KEDA, prometheus-operator and Velero in tests/components/crd_schemas.py, Istio in tests/components/traffic.
# cert-manager's Certificate (the database's TLS) is checked only by the database package's own tests.
CRD_GROUPS = ("keda.sh/", "monitoring.coreos.com/", "velero.io/", "networking.istio.io/", "cert-manager.io/")


def core_manifests(stack: str) -> list[dict[str, Any]]:
    return [m for m in manifests(plan_of(stack)) if not str(m["apiVersion"]).startswith(CRD_GROUPS)]


@pytest.mark.parametrize("stack", STACKS)
def test_manifests_validate_strict(stack: str) -> None:
    checked = core_manifests(stack)
    assert checked, "the plan renders Kubernetes objects"
    for manifest in checked:
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:  # pragma: no cover - the message is the point
            pytest.fail(f"{manifest['kind']}/{manifest['metadata'].get('name')}: {error.message}")


def test_validator_rejects_an_unknown_field() -> None:
    manifest = next(m for m in core_manifests("prod") if m["kind"] == "Deployment")
    broken = {**manifest, "spec": {**manifest["spec"], "replicaz": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_are_secure_by_default(stack: str) -> None:
    deployments = [m for m in manifests(plan_of(stack)) if m["kind"] == "Deployment"]
    assert deployments, f"the {stack} plan declares no Deployments"
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert container["readinessProbe"] and container["livenessProbe"]
            assert not container["image"].endswith(":latest")


@pytest.mark.parametrize("stack", STACKS)
def test_autoscaled_deployments_leave_replicas_to_the_autoscaler(stack: str) -> None:
    web = [
        m
        for m in manifests(plan_of(stack))
        if m["kind"] == "Deployment" and m["metadata"]["labels"].get("app.kubernetes.io/part-of") == "web-platform"
    ]
    assert web, f"the {stack} plan declares no web-platform Deployments"
    for deployment in web:
        assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_has_a_pdb(stack: str) -> None:
    all_manifests = manifests(plan_of(stack))
    pdbs = {m["metadata"]["name"] for m in all_manifests if m["kind"] == "PodDisruptionBudget"}
    deployments = {
        m["metadata"]["name"]
        for m in all_manifests
        if m["kind"] == "Deployment" and m["metadata"]["labels"].get("app.kubernetes.io/part-of") == "web-platform"
    }
    assert deployments, f"the {stack} plan declares no service Deployments"
    assert deployments <= pdbs
