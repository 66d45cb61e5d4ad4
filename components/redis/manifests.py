"""Kubernetes manifests of the Redis tier, as pure functions of :class:`RedisClusterArgs`.

Names, labels and selectors shared by the objects; the StatefulSets (one per shard, zone anti-affinity),
Services, PodDisruptionBudget, NetworkPolicy, the bootstrap Job and the plain (non-secret) outputs. The
component declares what these return; tests validate them against the Kubernetes schemas and run them for
real (tests/components/redis/harness.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from components.lib.k8s import SECURE_CONTAINER_CONTEXT, app_labels, pod_security_context, selector_labels
from components.lib.scrape import ScrapeTarget
from components.redis import conf as redis_conf
from components.redis.config import AllowedClient, RedisClusterArgs

REDIS_UID = 999
"""The ``redis`` user of the official image; the PVC is group-owned through fsGroup."""
SHARD_LABEL = "redis.platform/shard"
SECRET_KEY = "password"
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"
EXPORTER_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
SENTINEL_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
BOOTSTRAP_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}


# --- names -----------------------------------------------------------------------------------------


def headless_name(args: RedisClusterArgs) -> str:
    return f"{args.name}-headless"


def shard_name(args: RedisClusterArgs, shard: int) -> str:
    return f"{args.name}-shard-{shard}"


def sentinel_name(args: RedisClusterArgs) -> str:
    return f"{args.name}-sentinel"


def secret_name(args: RedisClusterArgs) -> str:
    return f"{args.name}-auth"


def config_name(args: RedisClusterArgs) -> str:
    return f"{args.name}-config"


def service_dns(args: RedisClusterArgs, service: str) -> str:
    return f"{service}.{args.namespace}.svc.{args.cluster_domain}"


def pod_dns(args: RedisClusterArgs, shard: int, ordinal: int) -> str:
    """The stable name a data pod announces: ``<sts>-<ordinal>.<headless>.<ns>.svc.<domain>``."""
    return f"{shard_name(args, shard)}-{ordinal}.{service_dns(args, headless_name(args))}"


def sentinel_headless_name(args: RedisClusterArgs) -> str:
    return f"{sentinel_name(args)}-headless"


def data_labels(args: RedisClusterArgs) -> dict[str, str]:
    return app_labels(args.name, "cache")


def data_selector(args: RedisClusterArgs) -> dict[str, str]:
    return selector_labels(args.name, "cache")


def sentinel_selector(args: RedisClusterArgs) -> dict[str, str]:
    return selector_labels(args.name, "sentinel")


def bootstrap_selector(args: RedisClusterArgs) -> dict[str, str]:
    return selector_labels(args.name, "bootstrap")


# --- config ----------------------------------------------------------------------------------------


def config_files(args: RedisClusterArgs) -> dict[str, str]:
    """The ConfigMap's data: everything the pods and the Job execute (no secret in it)."""
    s = args.settings
    files = {
        redis_conf.REDIS_CONF: redis_conf.render_redis_conf(s),
        redis_conf.ENTRYPOINT: redis_conf.render_entrypoint(s),
    }
    if s.mode == "cluster":
        files[redis_conf.BOOTSTRAP] = redis_conf.render_bootstrap(s)
    else:
        files[redis_conf.SENTINEL_CONF] = redis_conf.render_sentinel_conf(s, pod_dns(args, 0, 0))
        files[redis_conf.SENTINEL_ENTRYPOINT] = redis_conf.render_sentinel_entrypoint(s)
    return files


def config_checksum(args: RedisClusterArgs) -> str:
    """Pod-template annotation: a changed redis.conf or script rolls the pods."""
    return hashlib.sha256(json.dumps(config_files(args), sort_keys=True).encode()).hexdigest()


def configmap_manifest(args: RedisClusterArgs) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": config_name(args), "namespace": args.namespace, "labels": data_labels(args)},
        "data": config_files(args),
    }


def secret_manifest(args: RedisClusterArgs, password: Any) -> dict[str, Any]:
    """The auth Secret; ``password`` is the RandomPassword's (secret) result."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(args), "namespace": args.namespace, "labels": data_labels(args)},
        "type": "Opaque",
        "stringData": {SECRET_KEY: password},
    }


# --- pods ------------------------------------------------------------------------------------------


def _secret_env(args: RedisClusterArgs, name: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name(args), "key": SECRET_KEY}}}


def _pod_name_env() -> dict[str, Any]:
    return {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}


def _exec_probe(command: str, period: int, failures: int, initial: int = 0) -> dict[str, Any]:
    return {
        "exec": {"command": ["sh", "-c", command]},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _config_volume(args: RedisClusterArgs) -> dict[str, Any]:
    return {"name": "config", "configMap": {"name": config_name(args), "defaultMode": 0o444}}


def _run_volume() -> dict[str, Any]:
    # Memory-backed: the password file never touches a disk.
    return {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "4Mi"}}


def _zone_anti_affinity(args: RedisClusterArgs, shard: int) -> dict[str, Any]:
    """Pods of one shard (a master and its replicas) never share a zone (hard), nor, preferably, a node."""
    shard_selector = {"matchLabels": {**data_selector(args), SHARD_LABEL: str(shard)}}
    hard_key = HOST_KEY if args.settings.allow_replica_in_same_zone else ZONE_KEY
    return {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": shard_selector, "topologyKey": hard_key}
            ],
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {"labelSelector": {"matchLabels": data_selector(args)}, "topologyKey": HOST_KEY},
                }
            ],
        }
    }


def redis_container(args: RedisClusterArgs) -> dict[str, Any]:
    s = args.settings
    env = [
        _pod_name_env(),
        {"name": "REDIS_ANNOUNCE_HOSTNAME", "value": f"$(POD_NAME).{service_dns(args, headless_name(args))}"},
        _secret_env(args, "REDIS_PASSWORD"),
        _secret_env(args, "REDISCLI_AUTH"),
    ]
    ports = [{"name": "redis", "containerPort": redis_conf.REDIS_PORT, "protocol": "TCP"}]
    if s.mode == "cluster":
        ports.append({"name": "bus", "containerPort": redis_conf.BUS_PORT, "protocol": "TCP"})
    else:
        env += [
            {"name": "REDIS_MASTER_HOST", "value": pod_dns(args, 0, 0)},
            {"name": "SENTINEL_HOST", "value": service_dns(args, sentinel_name(args))},
        ]
    ping = f"redis-cli --no-auth-warning -h 127.0.0.1 -p {redis_conf.REDIS_PORT} ping"
    return {
        "name": "redis",
        "image": s.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", f"{redis_conf.CONF_DIR}/{redis_conf.ENTRYPOINT}"],
        "ports": ports,
        "env": env,
        "resources": {
            "requests": {"cpu": s.cpu_request, "memory": s.memory_limit},
            "limits": {"cpu": s.cpu_limit, "memory": s.memory_limit},
        },
        # Loading a large AOF answers LOADING: alive, not ready. The startup probe gives it 10 minutes.
        "startupProbe": _exec_probe(f"{ping} | grep -Eq 'PONG|LOADING'", period=5, failures=120),
        "livenessProbe": _exec_probe(f"{ping} | grep -Eq 'PONG|LOADING'", period=10, failures=3),
        "readinessProbe": _exec_probe(f"{ping} | grep -q PONG", period=5, failures=2),
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
        "volumeMounts": [
            {"name": "data", "mountPath": redis_conf.DATA_DIR},
            {"name": "config", "mountPath": redis_conf.CONF_DIR, "readOnly": True},
            {"name": "run", "mountPath": redis_conf.RUN_DIR},
        ],
    }


def exporter_container(args: RedisClusterArgs) -> dict[str, Any]:
    return {
        "name": "exporter",
        "image": args.settings.exporter_image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "metrics", "containerPort": redis_conf.METRICS_PORT, "protocol": "TCP"}],
        "env": [
            {"name": "REDIS_ADDR", "value": f"redis://127.0.0.1:{redis_conf.REDIS_PORT}"},
            _secret_env(args, "REDIS_PASSWORD"),
        ],
        "resources": EXPORTER_RESOURCES,
        "livenessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 15, "timeoutSeconds": 3},
        "readinessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 15, "timeoutSeconds": 3},
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
    }


def statefulset_manifest(args: RedisClusterArgs, shard: int) -> dict[str, Any]:
    s = args.settings
    name = shard_name(args, shard)
    selector = {**data_selector(args), SHARD_LABEL: str(shard)}
    labels = {**data_labels(args), SHARD_LABEL: str(shard)}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": args.namespace, "labels": labels},
        "spec": {
            "serviceName": headless_name(args),
            "replicas": s.pods_per_shard,
            # Parallel: every pod must be up before the cluster can form; ordered start would gain nothing.
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "minReadySeconds": 10,
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"checksum/config": config_checksum(args)},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(REDIS_UID),
                    "terminationGracePeriodSeconds": 30,
                    "affinity": _zone_anti_affinity(args, shard),
                    # Spread all Redis pods evenly over zones (masters of different shards included).
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": ZONE_KEY,
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": data_selector(args)},
                        }
                    ],
                    "containers": [redis_container(args), exporter_container(args)],
                    "volumes": [_config_volume(args), _run_volume()],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": data_labels(args)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": s.storage_class or args.storage_class,
                        "resources": {"requests": {"storage": s.storage_size}},
                    },
                }
            ],
        },
    }


def sentinel_statefulset_manifest(args: RedisClusterArgs) -> dict[str, Any]:
    s = args.settings
    labels = app_labels(args.name, "sentinel")
    ping = f"redis-cli --no-auth-warning -h 127.0.0.1 -p {redis_conf.SENTINEL_PORT} ping | grep -q PONG"
    container = {
        "name": "sentinel",
        "image": s.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", f"{redis_conf.CONF_DIR}/{redis_conf.SENTINEL_ENTRYPOINT}"],
        "ports": [{"name": "sentinel", "containerPort": redis_conf.SENTINEL_PORT, "protocol": "TCP"}],
        "env": [
            _pod_name_env(),
            {
                "name": "SENTINEL_ANNOUNCE_HOSTNAME",
                "value": f"$(POD_NAME).{service_dns(args, sentinel_headless_name(args))}",
            },
            {"name": "SENTINEL_HOST", "value": service_dns(args, sentinel_name(args))},
            _secret_env(args, "REDIS_PASSWORD"),
            _secret_env(args, "REDISCLI_AUTH"),
        ],
        "resources": SENTINEL_RESOURCES,
        "livenessProbe": _exec_probe(ping, period=10, failures=3, initial=10),
        "readinessProbe": _exec_probe(ping, period=5, failures=2),
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
        "volumeMounts": [
            {"name": "config", "mountPath": redis_conf.CONF_DIR, "readOnly": True},
            {"name": "run", "mountPath": redis_conf.RUN_DIR},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": sentinel_name(args), "namespace": args.namespace, "labels": labels},
        "spec": {
            "serviceName": sentinel_headless_name(args),
            "replicas": s.sentinels,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": sentinel_selector(args)},
            "template": {
                "metadata": {"labels": labels, "annotations": {"checksum/config": config_checksum(args)}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(REDIS_UID),
                    "terminationGracePeriodSeconds": 10,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": ZONE_KEY,
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": sentinel_selector(args)},
                        },
                        {
                            "maxSkew": 1,
                            "topologyKey": HOST_KEY,
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": sentinel_selector(args)},
                        },
                    ],
                    "containers": [container],
                    "volumes": [_config_volume(args), _run_volume()],
                },
            },
        },
    }


# --- bootstrap Job (cluster mode) ------------------------------------------------------------------


def bootstrap_env(args: RedisClusterArgs) -> dict[str, str]:
    """The Job's plain env: node list in creation order and the replica -> master pairs."""
    port = redis_conf.REDIS_PORT
    s = args.settings
    return {
        "REDIS_NODES": " ".join(f"{pod_dns(args, sh, o)}:{port}" for sh, o in redis_conf.bootstrap_order(s)),
        "REDIS_PAIRS": " ".join(
            f"{pod_dns(args, *replica)}:{port}>{pod_dns(args, *master)}:{port}"
            for replica, master in redis_conf.replica_pairs(s)
        ),
        "REDIS_REPLICAS_PER_MASTER": str(s.replicas_per_master),
    }


def bootstrap_job_manifest(args: RedisClusterArgs) -> dict[str, Any]:
    labels = app_labels(args.name, "bootstrap")
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in bootstrap_env(args).items()]
    env.append(_secret_env(args, "REDISCLI_AUTH"))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{args.name}-bootstrap", "namespace": args.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 10,
            "activeDeadlineSeconds": 1800,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(REDIS_UID),
                    "containers": [
                        {
                            "name": "bootstrap",
                            "image": args.settings.image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", f"{redis_conf.CONF_DIR}/{redis_conf.BOOTSTRAP}"],
                            "env": env,
                            "resources": BOOTSTRAP_RESOURCES,
                            "securityContext": dict(SECURE_CONTAINER_CONTEXT),
                            "volumeMounts": [{"name": "config", "mountPath": redis_conf.CONF_DIR, "readOnly": True}],
                        }
                    ],
                    "volumes": [_config_volume(args)],
                },
            },
        },
    }


# --- services, PDBs, network policies --------------------------------------------------------------


def headless_service_manifest(args: RedisClusterArgs) -> dict[str, Any]:
    ports = [
        {"name": "redis", "port": redis_conf.REDIS_PORT, "targetPort": "redis", "protocol": "TCP"},
        {"name": "metrics", "port": redis_conf.METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
    ]
    if args.settings.mode == "cluster":
        ports.insert(1, {"name": "bus", "port": redis_conf.BUS_PORT, "targetPort": "bus", "protocol": "TCP"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": headless_name(args), "namespace": args.namespace, "labels": data_labels(args)},
        "spec": {
            "clusterIP": "None",
            # Pod names must resolve before readiness: the cluster forms (and nodes.conf refreshes) from them.
            "publishNotReadyAddresses": True,
            "selector": data_selector(args),
            "ports": ports,
        },
    }


def client_service_manifest(args: RedisClusterArgs) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": args.name, "namespace": args.namespace, "labels": data_labels(args)},
        "spec": {
            "type": "ClusterIP",
            "selector": data_selector(args),
            "ports": [{"name": "redis", "port": redis_conf.REDIS_PORT, "targetPort": "redis", "protocol": "TCP"}],
        },
    }


def sentinel_service_manifests(args: RedisClusterArgs) -> list[dict[str, Any]]:
    port = {"name": "sentinel", "port": redis_conf.SENTINEL_PORT, "targetPort": "sentinel", "protocol": "TCP"}
    labels = app_labels(args.name, "sentinel")
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": sentinel_name(args), "namespace": args.namespace, "labels": labels},
            "spec": {"type": "ClusterIP", "selector": sentinel_selector(args), "ports": [port]},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": sentinel_headless_name(args), "namespace": args.namespace, "labels": labels},
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": sentinel_selector(args),
                "ports": [port],
            },
        },
    ]


def pdb_manifests(args: RedisClusterArgs) -> list[dict[str, Any]]:
    """One Redis pod (and one sentinel) voluntarily down at a time: never a master and its replica together."""
    pdbs = [
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": args.name, "namespace": args.namespace, "labels": data_labels(args)},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": data_selector(args)}},
        }
    ]
    if args.settings.mode == "sentinel":
        pdbs.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {
                    "name": sentinel_name(args),
                    "namespace": args.namespace,
                    "labels": app_labels(args.name, "sentinel"),
                },
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": sentinel_selector(args)}},
            }
        )
    return pdbs


def network_peer(client: AllowedClient) -> dict[str, Any]:
    """A NetworkPolicy peer: pods with ``pod_labels`` in namespaces with ``namespace_labels`` (AND)."""
    peer: dict[str, Any] = {}
    if client.namespace_labels:
        peer["namespaceSelector"] = {"matchLabels": dict(client.namespace_labels)}
        if client.pod_labels:
            peer["podSelector"] = {"matchLabels": dict(client.pod_labels)}
    else:
        peer["podSelector"] = {"matchLabels": dict(client.pod_labels)}
    return peer


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def network_policy_manifests(args: RedisClusterArgs) -> list[dict[str, Any]]:
    s = args.settings
    clients = [network_peer(c) for c in s.allowed_clients]
    metrics = [network_peer(c) for c in s.metrics_clients]
    own = {"podSelector": {"matchLabels": data_selector(args)}}
    ingress: list[dict[str, Any]] = [
        {"from": clients, "ports": _tcp(redis_conf.REDIS_PORT)},
        {"from": metrics, "ports": _tcp(redis_conf.METRICS_PORT)},
    ]
    if s.mode == "cluster":
        ingress += [
            {"from": [own], "ports": _tcp(redis_conf.REDIS_PORT, redis_conf.BUS_PORT)},
            {
                "from": [{"podSelector": {"matchLabels": bootstrap_selector(args)}}],
                "ports": _tcp(redis_conf.REDIS_PORT),
            },
        ]
    else:
        sentinels = {"podSelector": {"matchLabels": sentinel_selector(args)}}
        ingress.append({"from": [own, sentinels], "ports": _tcp(redis_conf.REDIS_PORT)})
    policies = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": args.name, "namespace": args.namespace, "labels": data_labels(args)},
            "spec": {
                "podSelector": {"matchLabels": data_selector(args)},
                "policyTypes": ["Ingress"],
                "ingress": ingress,
            },
        }
    ]
    if s.mode == "sentinel":
        sentinels = {"podSelector": {"matchLabels": sentinel_selector(args)}}
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {
                    "name": sentinel_name(args),
                    "namespace": args.namespace,
                    "labels": app_labels(args.name, "sentinel"),
                },
                "spec": {
                    "podSelector": {"matchLabels": sentinel_selector(args)},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {"from": [*clients, sentinels, own], "ports": _tcp(redis_conf.SENTINEL_PORT)},
                    ],
                },
            }
        )
    return policies


# --- outputs ---------------------------------------------------------------------------------------


def plain_outputs(args: RedisClusterArgs) -> dict[str, Any]:
    """Everything in the outputs section except the password."""
    s = args.settings
    sentinel = s.mode == "sentinel"
    return {
        "mode": s.mode,
        "endpoint": service_dns(args, args.name),
        "port": redis_conf.REDIS_PORT,
        "node_endpoints": [
            f"{pod_dns(args, shard, ordinal)}:{redis_conf.REDIS_PORT}"
            for shard in range(s.shards)
            for ordinal in range(s.pods_per_shard)
        ],
        "sentinel_endpoint": service_dns(args, sentinel_name(args)) if sentinel else None,
        "sentinel_port": redis_conf.SENTINEL_PORT if sentinel else None,
        "master_set": s.master_set if sentinel else None,
        "secret_name": secret_name(args),
        "secret_key": SECRET_KEY,
    }


# --- scraping ------------------------------------------------------------------------------------------

#: Series the redis_exporter sidecar serves for every node, whatever its role (a real redis_exporter serves them
#: all: tests/components/monitoring/test_scrape_real.py); cluster- and replication-only series are left out.
EXPORTER_METRICS = (
    "redis_up",
    "redis_instance_info",
    "redis_uptime_in_seconds",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_keyspace_hits_total",
    "redis_keyspace_misses_total",
    "redis_evicted_keys_total",
    "redis_expired_keys_total",
    "redis_connected_clients",
    "redis_blocked_clients",
    "redis_rejected_connections_total",
    "redis_commands_processed_total",
    "redis_connected_slaves",
    "redis_db_keys",
)


def scrape_target(args: RedisClusterArgs) -> ScrapeTarget:
    """The exporter sidecar of every data pod, by pod (the client and headless Services share the pods' labels,
    so a ServiceMonitor on them would scrape each node twice)."""
    return ScrapeTarget(
        name=args.name,
        kind="PodMonitor",
        namespace=args.namespace,
        selector=data_selector(args),
        port="metrics",
        metrics=EXPORTER_METRICS,
    )
