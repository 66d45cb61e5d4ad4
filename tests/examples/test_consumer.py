"""The consumer example, run on Pulumi's mock engine against the platform's own planned outputs.

The ``StackReference`` serves what the platform program exports for each stack (the offline plan, with a
password where it shows ``"[secret]"``), so the example is checked against the real contract, not a copy.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from tests.clients.pulumi_mocks import ReferenceMocks, install, run_program
from tests.plans import REPO, manifests_of_kind, plan_of

EXAMPLE = REPO / "examples" / "consumer"
PLATFORM_STACK = "my-org/platform/prod"
PASSWORD = "mock-redis-password-7f3a"
PROJECT_SCHEMA = REPO.parent / "shared" / "schemas" / "pulumi-project.schema.json"


def _platform_outputs(stack: str) -> tuple[dict[str, Any], list[str]]:
    """The platform's planned outputs for ``stack``, secrets filled in, and the paths that are secret."""
    plan = plan_of(stack)
    outputs = json.loads(json.dumps(plan.outputs))
    for path in plan.secret_outputs:
        *parents, leaf = path.split(".")
        node = outputs
        for part in parents:
            node = node[part]
        assert node[leaf] == "[secret]"
        node[leaf] = PASSWORD
    return outputs, list(plan.secret_outputs)


def _unwrap(value: Any) -> tuple[Any, bool]:
    """An engine-shaped input value without its secret wrapper, and whether it had one."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return value["value"], True
    return value, False


def run_example(outputs: dict[str, Any], secret_paths: list[str]) -> ReferenceMocks:
    mocks = ReferenceMocks({PLATFORM_STACK: outputs}, secret_paths)
    install(mocks, project="orders", stack="dev")
    pulumi.runtime.set_all_config({"orders:platformStack": PLATFORM_STACK}, [])
    run_program(lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__"))
    return mocks


def deployment_of(mocks: ReferenceMocks) -> dict[str, Any]:
    deployments = [r for r in mocks.resources if r.typ == "kubernetes:apps/v1:Deployment"]
    assert len(deployments) == 1, [r.typ for r in mocks.resources]
    return dict(deployments[0].inputs)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_deployment_reaches_the_redis_the_platform_publishes(stack: str) -> None:
    outputs, secret_paths = _platform_outputs(stack)
    assert secret_paths == ["redis.password"]
    redis = outputs["redis"]
    deployment = deployment_of(run_example(outputs, secret_paths))

    assert deployment["metadata"]["namespace"] == outputs["namespace"]  # plain: read without the redis output
    spec, spec_secret = _unwrap(deployment["spec"])
    assert spec_secret, "what is built from the redis output is secret (Pulumi tracks secrets per output)"
    (container,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["REDIS_HOST"]["value"] == redis["endpoint"]
    assert env["REDIS_PORT"]["value"] == str(redis["port"])
    assert env["REDIS_MODE"]["value"] == redis["mode"]
    assert env["REDIS_PASSWORD"] == {
        "name": "REDIS_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": redis["secret_name"], "key": redis["secret_key"]}},
    }
    if redis["mode"] == "cluster":
        assert env["REDIS_CLUSTER_NODES"]["value"] == ",".join(redis["node_endpoints"])
        assert "REDIS_SENTINEL_HOST" not in env
    else:
        assert env["REDIS_SENTINEL_HOST"]["value"] == redis["sentinel_endpoint"]
        assert env["REDIS_SENTINEL_PORT"]["value"] == str(redis["sentinel_port"])
        assert env["REDIS_MASTER_SET"]["value"] == redis["master_set"]
    assert PASSWORD not in json.dumps(deployment), "the password is mounted by reference, never copied"


def test_the_pods_carry_the_label_the_platforms_redis_network_policy_admits() -> None:
    outputs, secret_paths = _platform_outputs("prod")
    deployment = deployment_of(run_example(outputs, secret_paths))
    pod_labels = _unwrap(deployment["spec"])[0]["template"]["metadata"]["labels"]
    redis_port = outputs["redis"]["port"]
    peers = [
        peer
        for policy in manifests_of_kind(plan_of("prod"), "NetworkPolicy")
        if policy["metadata"]["name"] == "redis"
        for rule in policy["spec"].get("ingress", [])
        if any(p.get("port") == redis_port for p in rule.get("ports", []))
        for peer in rule.get("from", [])
        if set(peer) == {"podSelector"}  # same-namespace client peers
    ]
    assert peers, "the platform's Redis NetworkPolicy admits no same-namespace clients on the Redis port"
    assert any(pod_labels.items() >= peer["podSelector"]["matchLabels"].items() for peer in peers), pod_labels


def test_a_platform_on_another_major_version_fails_the_program_naming_both_versions() -> None:
    outputs, secret_paths = _platform_outputs("prod")
    outputs["contract_version"] = "2"
    # Pulumi re-raises what an apply raised as a ValueError naming the resource; the message is ours.
    with pytest.raises(ValueError, match="contract_version: the stack publishes contract v2, this client reads v1"):
        run_example(outputs, secret_paths)


def test_a_renamed_redis_field_fails_the_program_naming_it() -> None:
    outputs, secret_paths = _platform_outputs("prod")
    outputs["redis"]["host"] = outputs["redis"].pop("endpoint")
    with pytest.raises(ValueError, match=r"redis\.endpoint: missing \(required by contract v1\)"):
        run_example(outputs, secret_paths)


def test_the_example_is_a_valid_pulumi_project_pinned_like_the_platform() -> None:
    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    if not PROJECT_SCHEMA.exists():
        pytest.skip(f"Pulumi's project schema is not on this machine ({PROJECT_SCHEMA})")
    jsonschema.validate(project, json.loads(PROJECT_SCHEMA.read_text()))
    assert project["runtime"]["name"] == "python"
    ours = {
        line.split("==")[0]: line.split("#")[0].strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line
    }
    pins = [line.strip() for line in (EXAMPLE / "requirements.txt").read_text().splitlines() if "==" in line]
    assert pins, "examples/consumer/requirements.txt pins nothing"
    for pin in pins:
        assert ours.get(pin.split("==")[0]) == pin, f"examples/consumer/requirements.txt: {pin}"
    assert (EXAMPLE / Path("../../clients/platform_outputs")).resolve() == REPO / "clients" / "platform_outputs"
