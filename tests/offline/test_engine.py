"""The offline plan: both stacks run on the mock engine and produce the documented plan format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline.engine import SECRET
from offline.plan import render_tree, write_plan
from tests.plans import REPO, STACKS, manifests, of_type, plan_of, plan_with


@pytest.mark.parametrize("stack", STACKS)
def test_plan_records_engine_shaped_resources(stack: str) -> None:
    plan = plan_of(stack)
    urns = {r.urn for r in plan.resources}
    assert len(urns) == len(plan.resources), "URNs are unique"
    for record in plan.resources:
        assert record.urn.startswith(f"urn:pulumi:{stack}::platform::")
        if record.type != "pulumi:pulumi:Stack":
            assert record.parent in urns, f"{record.urn} has a known parent"
        if record.custom and not record.type.startswith("pulumi:providers:"):
            assert record.provider in urns, f"{record.urn} names its explicit provider"
    deployment = next(r for r in of_type(plan, "kubernetes:apps/v1:Deployment") if r.name == "backend-deployment")
    container = deployment.inputs["spec"]["template"]["spec"]["containers"][0]
    # camelCase, engine-shaped, numbers as JSON ints
    assert container["readinessProbe"]["httpGet"]["port"] == "http"
    assert isinstance(container["ports"][0]["containerPort"], int)


def test_urns_have_the_engines_shape() -> None:
    """Nested URNs carry the whole parent type chain (minus the Stack), as the engine computes them."""
    deployment = next(r for r in plan_of("prod").resources if r.name == "backend-deployment")
    assert deployment.urn == (
        "urn:pulumi:prod::platform::platform:index:Platform$platform:workload:Workload$"
        "kubernetes:apps/v1:Deployment::backend-deployment"
    )
    platform = next(r for r in plan_of("prod").resources if r.type == "platform:index:Platform")
    assert platform.urn == "urn:pulumi:prod::platform::platform:index:Platform::platform-prod"


@pytest.mark.parametrize("stack", STACKS)
def test_plan_writes_files_and_tree(stack: str, tmp_path: Path) -> None:
    plan = plan_of(stack)
    write_plan(plan, tmp_path / stack)
    resources = json.loads((tmp_path / stack / "resources.json").read_text())
    assert {"urn", "type", "name", "parent", "provider", "inputs"} <= set(resources[0])
    outputs = json.loads((tmp_path / stack / "outputs.json").read_text())
    assert outputs["outputs"]["environment"] == stack
    files = sorted((tmp_path / stack / "manifests").rglob("*.yaml"))
    assert len(files) == len(manifests(plan)) > 0
    for path in files:
        assert yaml.safe_load(path.read_text())["kind"]
    tree = render_tree(plan)
    assert tree.splitlines()[0].startswith(f"platform-{stack}")
    assert "kubernetes" in tree.splitlines()[-1]


@pytest.mark.parametrize("stack", STACKS)
def test_aws_tags_are_central(stack: str) -> None:
    providers = of_type(plan_of(stack), "pulumi:providers:aws")
    assert providers, "an explicit AWS provider exists"
    for provider in providers:
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert tags["owner"] == "platform-team" and tags["environment"] == stack


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_objects_carry_tag_labels(stack: str) -> None:
    objects = manifests(plan_of(stack))
    assert objects, f"the {stack} plan declares no Kubernetes objects"
    for manifest in objects:
        labels = manifest["metadata"].get("labels", {})
        assert labels.get("platform.example.com/owner") == "platform-team", manifest["metadata"]


def test_no_plaintext_secret_under_build(tmp_path: Path) -> None:
    """Every secret the mocks invented must be redacted in every file the plan writes."""
    written = {}
    for stack in STACKS:
        plan = plan_of(stack)
        write_plan(plan, tmp_path / stack)
        written[stack] = "".join(p.read_text() for p in (tmp_path / stack).rglob("*") if p.is_file())
    assert written and all(written.values()), f"some plan wrote nothing under build: {sorted(written)}"
    assert [stack for stack, text in written.items() if "mock-password-" in text] == []


def test_secrets_are_redacted_in_inputs() -> None:
    from pulumi.runtime import rpc

    from offline.engine import _sanitize

    wrapped = {rpc._special_sig_key: rpc._special_secret_sig, "value": "hunter2"}
    assert _sanitize({"data": {"password": wrapped}, "n": 5.0}) == {"data": {"password": SECRET}, "n": 5}
    whole_map = {rpc._special_sig_key: rpc._special_secret_sig, "value": {"password": "hunter2", "port": 6379.0}}
    assert _sanitize({"stringData": whole_map}) == {"stringData": {"password": SECRET, "port": SECRET}}


#: Namespaces of cluster add-ons whose objects must live next to the add-on (Velero, prometheus-adapter).
OPERATOR_NAMESPACES = {"velero", "monitoring"}


def test_config_change_changes_the_plan() -> None:
    plan = plan_with("staging", {"namespace": "web"})
    namespaces = {m["metadata"]["namespace"] for m in manifests(plan) if "namespace" in m["metadata"]}
    assert "web" in namespaces
    assert namespaces - OPERATOR_NAMESPACES == {"web"}


def test_make_plan_cli_reports_config_errors_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text((REPO / "Pulumi.staging.yaml").read_text().replace("max_replicas: 6", "max_replicas: 1"))
    link = REPO / "Pulumi.broken-test.yaml"
    link.write_text(bad.read_text())
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "offline.plan", "--stack", "broken-test", "--out", str(tmp_path / "out")],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        link.unlink()
    assert proc.returncode == 2
    assert "services[0].scaling.max_replicas: 1 is below min_replicas 2" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists(), "nothing is written for a broken config"


def test_program_reports_config_errors_as_run_error() -> None:
    """Under the engine (`pulumi up`), the same messages arrive through pulumi.RunError."""
    import pulumi

    with pytest.raises(pulumi.RunError) as caught:
        plan_with("staging", {"redis": {"maxmemory_policy": "lru"}})
    assert "redis.maxmemory_policy: 'lru' is not allowed" in str(caught.value)


def test_each_cluster_gets_its_own_manifest_folder(tmp_path: Path) -> None:
    """Prod's DR cluster repeats the database's kinds, namespaces and names: its objects go to their own folder,
    so each folder is what ``kubectl apply`` gets on that cluster and no file is a renamed duplicate."""
    plan = plan_of("prod")
    write_plan(plan, tmp_path)
    dr = sorted((tmp_path / "manifests" / "kubernetes-dr").glob("*.yaml"))
    assert dr, "the DR cluster's objects were not written to manifests/kubernetes-dr/"
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in dr}
    assert {"StatefulSet", "Secret", "ConfigMap"} <= kinds
    top = {p.name for p in (tmp_path / "manifests").glob("*.yaml")}
    assert {p.name for p in dr} & top, "the DR folder should repeat names the primary cluster uses"
    assert "statefulset-platform-database-primary-2.yaml" not in top
