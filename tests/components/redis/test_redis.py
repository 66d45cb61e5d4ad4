"""RedisCluster on the mock engine: what both stacks declare, strict Kubernetes 1.30 schemas, config errors."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest

from components.lib.settings import memory_bytes
from components.platform.config import ConfigError, parse_config
from components.redis import conf as redis_conf
from components.redis.config import AllowedClient, RedisClusterArgs, RedisSettings
from components.redis.manifests import SHARD_LABEL, network_policy_manifests, secret_manifest
from tests.plans import STACKS, deep_merge, manifests, named, of_type, plan_of, plan_with, stack_values

K8S = "1.30.0"


def redis_manifests(stack: str) -> list[dict[str, Any]]:
    return [m for m in manifests(plan_of(stack)) if m["metadata"]["labels"].get("app.kubernetes.io/name") == "redis"]


def of_kind(stack: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in redis_manifests(stack) if m["kind"] == kind]


def configmap(stack: str) -> dict[str, str]:
    return of_kind(stack, "ConfigMap")[0]["data"]


@pytest.mark.parametrize("stack", STACKS)
def test_manifests_validate_strict(stack: str) -> None:
    found = redis_manifests(stack)
    assert {m["kind"] for m in found} >= {"ConfigMap", "Secret", "Service", "StatefulSet", "PodDisruptionBudget"}
    for manifest in found:
        if manifest["kind"] == "Secret":
            assert manifest["stringData"] == {"password": "[secret]"}
        kubernetes_validate.validate(manifest, K8S, strict=True)
    kubernetes_validate.validate(
        secret_manifest(RedisClusterArgs(namespace="platform", storage_class="gp3"), "x"), K8S, strict=True
    )


def test_prod_is_a_three_shard_cluster_with_a_replica_each_in_another_zone() -> None:
    sets = sorted(
        (s for s in of_kind("prod", "StatefulSet") if s["metadata"]["name"].startswith("redis-shard-")),
        key=lambda s: s["metadata"]["name"],
    )
    assert [s["metadata"]["name"] for s in sets] == ["redis-shard-0", "redis-shard-1", "redis-shard-2"]
    assert sum(s["spec"]["replicas"] for s in sets) == 6
    for shard, sts in enumerate(sets):
        pod = sts["spec"]["template"]["spec"]
        (hard,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert hard["topologyKey"] == "topology.kubernetes.io/zone"
        assert hard["labelSelector"]["matchLabels"][SHARD_LABEL] == str(shard)
        assert sts["spec"]["selector"]["matchLabels"][SHARD_LABEL] == str(shard)
        assert sts["spec"]["serviceName"] == "redis-headless"
        assert sts["spec"]["podManagementPolicy"] == "Parallel"
        (claim,) = sts["spec"]["volumeClaimTemplates"]
        assert (
            claim["spec"]["storageClassName"] == "gp3" and claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
        )
        names = [c["name"] for c in pod["containers"]]
        assert names == ["redis", "exporter"]
        redis = pod["containers"][0]
        assert redis["resources"]["limits"]["memory"] == "4Gi" == redis["resources"]["requests"]["memory"]
        assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(redis)
        assert pod["containers"][1]["image"].startswith("oliver006/redis_exporter:")
    assert len(of_kind("prod", "Job")) == 1
    assert not [s for s in of_kind("prod", "StatefulSet") if s["metadata"]["name"] == "redis-sentinel"]


def test_staging_is_sentinel_mode_with_three_sentinels() -> None:
    sets = {s["metadata"]["name"]: s for s in of_kind("staging", "StatefulSet")}
    assert set(sets) == {"redis-shard-0", "redis-sentinel"}
    assert sets["redis-shard-0"]["spec"]["replicas"] == 2 and sets["redis-sentinel"]["spec"]["replicas"] == 3
    assert not of_kind("staging", "Job")
    files = configmap("staging")
    assert "cluster-enabled" not in files["redis.conf"]
    assert (
        "sentinel monitor cache redis-shard-0-0.redis-headless.platform.svc.cluster.local 6379 2"
        in files["sentinel.conf"]
    )
    assert {p["metadata"]["name"] for p in of_kind("staging", "PodDisruptionBudget")} == {"redis", "redis-sentinel"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_is_locked_down(stack: str) -> None:
    workloads = [*of_kind(stack, "StatefulSet"), *of_kind(stack, "Job")]
    assert workloads, f"the {stack} plan declares no Redis StatefulSets or Jobs"
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"]["drop"] == ["ALL"]
            assert ctx["readOnlyRootFilesystem"] is True and ctx["runAsNonRoot"] is True
            assert container["resources"]["requests"] and container["resources"]["limits"]


def test_rendered_conf_has_persistence_memory_and_cluster_settings() -> None:
    conf = configmap("prod")["redis.conf"]
    lines = conf.splitlines()
    for expected in (
        "appendonly yes",
        "appendfsync everysec",
        "aof-use-rdb-preamble yes",
        "save 900 1",
        "save 300 10",
        "save 60 10000",
        "maxmemory-policy allkeys-lru",
        "cluster-enabled yes",
        "cluster-config-file /data/nodes.conf",
        "cluster-node-timeout 2000",
        "cluster-preferred-endpoint-type hostname",
        "dir /data",
    ):
        assert expected in lines, expected
    assert f"maxmemory {int(memory_bytes('4Gi') * 0.7)}" in lines
    # The password is included last (nothing can override it) and never rendered.
    assert lines[-1] == "include /run/redis/auth.conf"
    assert not any(line.startswith(("requirepass", "masterauth")) for line in lines)
    entrypoint = configmap("prod")["entrypoint.sh"]
    assert "requirepass" in entrypoint and "masterauth" in entrypoint and "--cluster-announce-hostname" in entrypoint


@pytest.mark.parametrize("stack", STACKS)
def test_password_is_random_secret_and_never_in_the_plan(stack: str) -> None:
    plan = plan_of(stack)
    password = named(plan, "redis-password")
    assert password.type == "random:index/randomPassword:RandomPassword"
    assert password.inputs["special"] is False and password.inputs["length"] >= 32
    assert "keepers" not in password.inputs  # nothing that changes between runs: never regenerated
    assert password.options.get("protect", False) is (stack == "prod")
    plan_text = json.dumps([r.to_json() for r in plan.resources]) + json.dumps(plan.outputs)
    assert "mock-password" not in plan_text
    assert named(plan, "redis-auth").inputs["stringData"] == {"password": "[secret]"}
    assert "redis.password" in plan.secret_outputs
    outputs = plan.outputs["redis"]
    assert outputs["password"] == "[secret]" and outputs["secret_name"] == "redis-auth"
    for workload in [*of_kind(stack, "StatefulSet"), *of_kind(stack, "Job")]:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                if "PASSWORD" in env["name"] or env["name"] == "REDISCLI_AUTH":
                    assert env["valueFrom"]["secretKeyRef"] == {"name": "redis-auth", "key": "password"}


def test_outputs_name_endpoints_and_mode() -> None:
    prod = plan_of("prod").outputs["redis"]
    assert prod["mode"] == "cluster" and prod["port"] == 6379 and prod["sentinel_endpoint"] is None
    assert prod["endpoint"] == "redis.platform.svc.cluster.local"
    assert len(prod["node_endpoints"]) == 6
    staging = plan_of("staging").outputs["redis"]
    assert staging["mode"] == "sentinel" and staging["sentinel_port"] == 26379 and staging["master_set"] == "cache"


def test_bootstrap_job_lists_every_pod_masters_first_and_pairs_replicas() -> None:
    (job,) = of_kind("prod", "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    nodes = env["REDIS_NODES"].split()
    assert [n.split(".")[0] for n in nodes[:3]] == ["redis-shard-0-0", "redis-shard-1-0", "redis-shard-2-0"]
    assert len(nodes) == 6 and all(n.endswith(".redis-headless.platform.svc.cluster.local:6379") for n in nodes)
    pairs = [p.split(">") for p in env["REDIS_PAIRS"].split()]
    assert [(a.split(".")[0], b.split(".")[0]) for a, b in pairs] == [
        ("redis-shard-0-1", "redis-shard-0-0"),
        ("redis-shard-1-1", "redis-shard-1-0"),
        ("redis-shard-2-1", "redis-shard-2-0"),
    ]
    assert container["command"] == ["sh", "/etc/redis/bootstrap.sh"]
    assert "--cluster create" in configmap("prod")["bootstrap.sh"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    dependencies = named(plan_of("prod"), "redis-bootstrap").options["dependsOn"]
    assert sum(":StatefulSet::redis-shard-" in urn for urn in dependencies) == 3


def test_bootstrap_order_pre_rotates_replicas_for_redis_cli() -> None:
    settings = RedisSettings(replicas_per_master=2)
    order = redis_conf.bootstrap_order(settings)
    assert order[:3] == [(0, 0), (1, 0), (2, 0)]
    # redis-cli 7.0 moves the first replica to the end before assigning replicas master by master.
    rotated = order[4:] + order[3:4]
    assert rotated == [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)]
    assert redis_conf.replica_pairs(settings)[:2] == [((0, 1), (0, 0)), ((0, 2), (0, 0))]


def test_network_policy_admits_only_the_configured_peers() -> None:
    settings = RedisSettings(
        allowed_clients=(
            AllowedClient(namespace_labels={"team": "web"}, pod_labels={"app": "api"}),
            AllowedClient(pod_labels={"redis-client": "true"}),
        )
    )
    (policy,) = network_policy_manifests(RedisClusterArgs(settings=settings, namespace="platform", storage_class="gp3"))
    kubernetes_validate.validate(policy, K8S, strict=True)
    ingress = policy["spec"]["ingress"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert ingress[0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"team": "web"}}, "podSelector": {"matchLabels": {"app": "api"}}},
        {"podSelector": {"matchLabels": {"redis-client": "true"}}},
    ]
    assert ingress[0]["ports"] == [{"protocol": "TCP", "port": 6379}]
    bus = [rule for rule in ingress if {"protocol": "TCP", "port": 16379} in rule["ports"]]
    assert bus and all("namespaceSelector" not in peer for rule in bus for peer in rule["from"])


def test_disabled_redis_declares_nothing_and_has_no_outputs_section() -> None:
    services = [
        {**s, "uses": [u for u in s.get("uses", []) if u != "redis"]} for s in stack_values("staging")["services"]
    ]
    plan = plan_with("staging", {"redis": {"enabled": False}, "services": services})
    assert not of_type(plan, "platform:redis:RedisCluster")
    assert "redis" not in plan.outputs


BAD_INPUT = [
    ({"masters": 2}, "redis.masters: 2 is below 3"),
    ({"replicas_per_master": 0}, "redis.replicas_per_master: 0 in prod"),
    ({"maxmemory_policy": "lru"}, "redis.maxmemory_policy: 'lru' is not allowed"),
    ({"memory_limit": "1Gi", "maxmemory": "1000Mi"}, "redis.maxmemory: 1000Mi exceeds 75 % of memory_limit 1Gi"),
    ({"memory_limit": "64Mi"}, "redis.memory_limit: 64Mi is below 128Mi"),
    ({"replicas_per_master": 3}, "redis.replicas_per_master: 3 needs 4 zones"),
    ({"save_rules": ["every minute"]}, "redis.save_rules[0]: 'every minute' is not"),
    ({"mode": "sentinel", "sentinels": 4}, "redis.sentinels: 4 is even"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUT)
def test_bad_input_names_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(deep_merge(stack_values("prod"), {"redis": change}))
    assert any(problem.startswith(message) for problem in error.value.problems), error.value.problems


def test_zone_rule_can_be_opted_out_explicitly() -> None:
    config = parse_config(
        deep_merge(stack_values("prod"), {"redis": {"replicas_per_master": 3, "allow_replica_in_same_zone": True}})
    )
    assert config.redis.pods_per_shard == 4
