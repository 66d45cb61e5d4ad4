"""Kubernetes manifests of the database tier, as pure functions of :class:`DatabaseArgs`.

Two StatefulSets: ``<name>-primary`` (one pod) and ``<name>-replica`` (``replicas`` hot standbys cloned from
the primary with a replication slot each). Their pods carry a role label, so ``<name>-rw`` selects the
primary and ``<name>-ro`` the replicas without any controller relabelling pods; every PostgreSQL pod has a
hard anti-affinity by zone against the others. PgBouncer is a Deployment behind ``<name>-pooler``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from components.database import conf
from components.database.config import DatabaseArgs
from components.lib.k8s import SECURE_CONTAINER_CONTEXT, app_labels, pod_security_context, selector_labels
from components.lib.scrape import ScrapeTarget

POSTGRES_UID = 999
"""The ``postgres`` user of the official image (the archive fragment's wal-push runs as it)."""
POOLER_UID = 70
ROLE_LABEL = "platform.example.com/database-role"
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"
EXPORTER_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}

#: Secret keys (the Secret holds generated passwords and the pooled URI; nothing in the plan is plaintext).
KEY_SUPERUSER = "superuser-password"
KEY_REPLICATION = "replication-password"
KEY_APP = "app-password"
KEY_EXPORTER = "exporter-password"
#: The data tier is not one of the web platform's services: nothing autoscales it or routes public traffic to it.
PART_OF = "data-tier"
KEY_STATS = "stats-password"
KEY_URI = "uri"
PASSWORD_KEYS = (KEY_SUPERUSER, KEY_REPLICATION, KEY_APP, KEY_EXPORTER, KEY_STATS)

PG_METRICS = (
    "pg_up",
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_database_numbackends",
    "pg_stat_replication_pg_current_wal_lsn_bytes",
    "pg_replication_lag_seconds",
    "pg_replication_is_replica",
    "pg_settings_max_connections",
)
POOLER_METRICS = (
    "pgbouncer_up",
    "pgbouncer_pools_client_active_connections",
    "pgbouncer_pools_client_waiting_connections",
    "pgbouncer_pools_server_active_connections",
    "pgbouncer_pools_server_idle_connections",
    "pgbouncer_stats_queries_pooled_total",
    "pgbouncer_stats_client_wait_seconds_total",
)


# --- names -----------------------------------------------------------------------------------------


def primary_name(args: DatabaseArgs) -> str:
    return f"{args.name}-primary"


def replica_name(args: DatabaseArgs) -> str:
    return f"{args.name}-replica"


def rw_name(args: DatabaseArgs) -> str:
    return f"{args.name}-rw"


def ro_name(args: DatabaseArgs) -> str:
    return f"{args.name}-ro"


def headless_name(args: DatabaseArgs) -> str:
    return f"{args.name}-headless"


def pooler_name(args: DatabaseArgs) -> str:
    return f"{args.name}-pooler"


def secret_name(args: DatabaseArgs) -> str:
    return f"{args.name}-credentials"


def tls_secret_name(args: DatabaseArgs) -> str:
    return f"{args.name}-tls"


def config_name(args: DatabaseArgs) -> str:
    return f"{args.name}-config"


def pooler_config_name(args: DatabaseArgs) -> str:
    return f"{args.name}-pooler-config"


def storage_class_name(args: DatabaseArgs) -> str:
    """Cluster-scoped, so the namespace is part of the name (two stacks may share a cluster)."""
    s = args.settings.storage
    if s.allow_unencrypted_storage:
        return s.storage_class or args.fallback_storage_class
    return f"{args.namespace}-{args.name}-encrypted"


def service_dns(args: DatabaseArgs, service: str) -> str:
    return f"{service}.{args.namespace}.svc.{args.cluster_domain}"


def primary_pod_dns(args: DatabaseArgs) -> str:
    return f"{primary_name(args)}-0.{service_dns(args, headless_name(args))}"


def data_labels(args: DatabaseArgs, role: str) -> dict[str, str]:
    return {**app_labels(args.name, "database", part_of=PART_OF), ROLE_LABEL: role}


def data_selector(args: DatabaseArgs) -> dict[str, str]:
    """Every PostgreSQL pod (primary and replicas)."""
    return selector_labels(args.name, "database")


def role_selector(args: DatabaseArgs, role: str) -> dict[str, str]:
    return {**data_selector(args), ROLE_LABEL: role}


def pooler_selector(args: DatabaseArgs) -> dict[str, str]:
    return selector_labels(pooler_name(args), "pooler")


# --- config ----------------------------------------------------------------------------------------


def config_files(args: DatabaseArgs) -> dict[str, str]:
    s = args.settings
    return {
        conf.POSTGRESQL_CONF: conf.render_postgresql_conf(s, args.archive_conf_path),
        conf.PG_HBA: conf.render_pg_hba(s),
        conf.INIT_SCRIPT: conf.render_init_script(s),
        conf.REPLICA_ENTRYPOINT: conf.render_replica_entrypoint(),
    }


def pooler_files(args: DatabaseArgs) -> dict[str, str]:
    s = args.settings
    ini = conf.render_pgbouncer_ini(s.pooler, s.databases, service_dns(args, rw_name(args)), s.tls.min_protocol_version)
    return {conf.PGBOUNCER_INI: ini, conf.POOLER_ENTRYPOINT: conf.render_pooler_entrypoint()}


def _checksum(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def configmap_manifest(args: DatabaseArgs) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_name(args),
            "namespace": args.namespace,
            "labels": app_labels(args.name, "database", part_of=PART_OF),
        },
        "data": config_files(args),
    }


def pooler_configmap_manifest(args: DatabaseArgs) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": pooler_config_name(args),
            "namespace": args.namespace,
            "labels": app_labels(pooler_name(args), "pooler", part_of=PART_OF),
        },
        "data": pooler_files(args),
    }


def pooled_uri(args: DatabaseArgs, password: Any) -> Any:
    """The URI services use: the pooler, the first database, TLS required. ``password`` may be an Output."""
    import pulumi

    host = service_dns(args, pooler_name(args) if args.settings.pooler.enabled else rw_name(args))
    db = args.settings.databases[0]
    user = args.settings.app_user
    return pulumi.Output.from_input(password).apply(
        lambda pw: f"postgresql://{user}:{pw}@{host}:{conf.POOLER_PORT}/{db}?sslmode=require"
    )


def secret_manifest(args: DatabaseArgs, passwords: dict[str, Any]) -> dict[str, Any]:
    """The credentials Secret; ``passwords`` are RandomPassword results (secret Outputs) by key."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(args),
            "namespace": args.namespace,
            "labels": app_labels(args.name, "database", part_of=PART_OF),
        },
        "type": "Opaque",
        "stringData": {**passwords, KEY_URI: pooled_uri(args, passwords[KEY_APP])},
    }


def certificate_manifest(args: DatabaseArgs) -> dict[str, Any]:
    """cert-manager Certificate for PostgreSQL and PgBouncer: every name a client or replica connects to."""
    tls = args.settings.tls
    names = [rw_name(args), ro_name(args), pooler_name(args)]
    dns = [service_dns(args, n) for n in names] + [f"{n}.{args.namespace}.svc" for n in names]
    dns.append(f"*.{service_dns(args, headless_name(args))}")
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {
            "name": tls_secret_name(args),
            "namespace": args.namespace,
            "labels": app_labels(args.name, "database", part_of=PART_OF),
        },
        "spec": {
            "secretName": tls_secret_name(args),
            "commonName": service_dns(args, rw_name(args)),
            "dnsNames": dns,
            "duration": f"{tls.duration_hours}h",
            "renewBefore": f"{tls.renew_before_hours}h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "usages": ["server auth"],
            "issuerRef": {"kind": tls.issuer_kind, "name": tls.issuer_name, "group": "cert-manager.io"},
        },
    }


def storage_class_manifest(args: DatabaseArgs, kms_key_arn: Any) -> dict[str, Any]:
    """Encrypted EBS volumes with our KMS key; Retain, so deleting a PVC by mistake keeps the volume."""
    s = args.settings.storage
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": storage_class_name(args), "labels": app_labels(args.name, "database", part_of=PART_OF)},
        "provisioner": s.provisioner,
        "parameters": {
            "type": s.volume_type,
            "encrypted": "true",
            "kmsKeyId": kms_key_arn,
            "csi.storage.k8s.io/fstype": "ext4",
        },
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


# --- PostgreSQL pods -------------------------------------------------------------------------------


def secret_env(args: DatabaseArgs, name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name(args), "key": key}}}


def _exec_probe(command: list[str], period: int, failures: int) -> dict[str, Any]:
    return {"exec": {"command": command}, "periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": failures}


def postgres_container(args: DatabaseArgs, role: str) -> dict[str, Any]:
    s = args.settings
    env: list[dict[str, Any]] = [
        {"name": "PGDATA", "value": conf.PGDATA},
        {"name": "POSTGRES_USER", "value": conf.SUPERUSER},
        secret_env(args, conf.ENV_SUPERUSER_PASSWORD, KEY_SUPERUSER),
        secret_env(args, conf.ENV_REPLICATION_PASSWORD, KEY_REPLICATION),
        {"name": "POSTGRES_INITDB_ARGS", "value": "--auth-local=peer --auth-host=scram-sha-256 --data-checksums"},
    ]
    if role == "primary":
        env += [
            secret_env(args, conf.ENV_APP_PASSWORD, KEY_APP),
            secret_env(args, conf.ENV_EXPORTER_PASSWORD, KEY_EXPORTER),
        ]
        command = ["docker-entrypoint.sh"]
    else:
        env += [
            {"name": conf.ENV_POD_NAME, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": conf.ENV_PRIMARY_HOST, "value": primary_pod_dns(args)},
        ]
        command = ["sh", f"{conf.CONF_DIR}/{conf.REPLICA_ENTRYPOINT}"]
    ready = ["pg_isready", "-q", "-h", "/var/run/postgresql", "-p", str(conf.PG_PORT)]
    mounts = [
        {"name": "data", "mountPath": conf.PGDATA_MOUNT},
        {"name": "config", "mountPath": conf.CONF_DIR, "readOnly": True},
        {"name": "tls", "mountPath": conf.TLS_DIR, "readOnly": True},
        {"name": "run", "mountPath": "/var/run/postgresql"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if role == "primary":
        mounts.append(
            {
                "name": "config",
                "mountPath": f"/docker-entrypoint-initdb.d/{conf.INIT_SCRIPT}",
                "subPath": conf.INIT_SCRIPT,
                "readOnly": True,
            }
        )
    return {
        "name": "postgres",
        "image": s.image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "args": ["postgres", "-c", f"config_file={conf.CONF_DIR}/{conf.POSTGRESQL_CONF}"],
        "ports": [{"name": "postgres", "containerPort": conf.PG_PORT, "protocol": "TCP"}],
        "env": env,
        "resources": {
            "requests": {"cpu": s.cpu_request, "memory": s.memory},
            "limits": {"cpu": s.cpu_limit, "memory": s.memory},
        },
        # A replica's first clone or a long crash recovery can take long: 30 minutes before liveness counts.
        "startupProbe": _exec_probe(ready, period=10, failures=180),
        "livenessProbe": _exec_probe(ready, period=10, failures=6),
        "readinessProbe": _exec_probe(ready, period=5, failures=2),
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
        "volumeMounts": mounts,
    }


#: Both exporters answer on / once listening: ready when they do, restarted when they stop (the probes rule
#: asks every container for both; an exporter that cannot reach its target still serves `*_up 0`).
EXPORTER_PROBES: dict[str, Any] = {
    "readinessProbe": {"httpGet": {"path": "/", "port": "metrics"}, "periodSeconds": 15, "timeoutSeconds": 3},
    "livenessProbe": {"httpGet": {"path": "/", "port": "metrics"}, "periodSeconds": 15, "timeoutSeconds": 3},
}


def postgres_exporter_container(args: DatabaseArgs) -> dict[str, Any]:
    return {
        "name": "exporter",
        "image": args.settings.exporter_image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "metrics", "containerPort": conf.PG_METRICS_PORT, "protocol": "TCP"}],
        "env": [
            {"name": "DATA_SOURCE_URI", "value": f"127.0.0.1:{conf.PG_PORT}/postgres?sslmode=require"},
            {"name": "DATA_SOURCE_USER", "value": conf.EXPORTER_USER},
            secret_env(args, "DATA_SOURCE_PASS", KEY_EXPORTER),
        ],
        "resources": EXPORTER_RESOURCES,
        **EXPORTER_PROBES,
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
    }


def _anti_affinity(args: DatabaseArgs) -> dict[str, Any]:
    """No two PostgreSQL pods in one zone (hard; hostname with the opt-out), preferably not on one node."""
    hard_key = HOST_KEY if args.settings.allow_replica_in_same_zone else ZONE_KEY
    selector = {"matchLabels": data_selector(args)}
    return {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": selector, "topologyKey": hard_key}],
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"labelSelector": selector, "topologyKey": HOST_KEY}}
            ],
        }
    }


def _data_volumes(args: DatabaseArgs) -> list[dict[str, Any]]:
    return [
        {"name": "config", "configMap": {"name": config_name(args), "defaultMode": 0o444}},
        {"name": "tls", "secret": {"secretName": tls_secret_name(args), "defaultMode": 0o440}},
        {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
    ]


def statefulset_manifest(args: DatabaseArgs, role: str, archive_patch: dict[str, Any] | None = None) -> dict[str, Any]:
    """``role`` is ``primary`` (one pod) or ``replica``; ``archive_patch`` is the backup jobs' pod patch
    (``wal-push`` identity, environment and the archive fragment's mount), merged into the pod template."""
    s = args.settings
    name = primary_name(args) if role == "primary" else replica_name(args)
    labels = data_labels(args, role)
    pod_spec: dict[str, Any] = {
        "securityContext": pod_security_context(POSTGRES_UID),
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 60,
        "affinity": _anti_affinity(args),
        "containers": [postgres_container(args, role), postgres_exporter_container(args)],
        "volumes": _data_volumes(args),
    }
    template: dict[str, Any] = {
        "metadata": {"labels": dict(labels), "annotations": {"checksum/config": _checksum(config_files(args))}},
        "spec": pod_spec,
    }
    if archive_patch is not None:
        template = merge_pod_patch(template, archive_patch)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": args.namespace, "labels": labels},
        "spec": {
            "serviceName": headless_name(args),
            "replicas": 1 if role == "primary" else s.replicas,
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "selector": {"matchLabels": role_selector(args, role)},
            "template": template,
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": labels},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": storage_class_name(args),
                        "resources": {"requests": {"storage": s.storage.size}},
                    },
                }
            ],
        },
    }


def merge_pod_patch(template: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Strategic merge of the backup jobs' patch (``spec.template`` part): containers by name, lists of env,
    mounts and volumes appended, scalars replaced. Only what that patch uses is supported."""
    merged = copy.deepcopy(template)
    patch_template = patch.get("spec", {}).get("template", {})
    labels = patch_template.get("metadata", {}).get("labels", {})
    merged["metadata"]["labels"].update(labels)
    spec = patch_template.get("spec", {})
    by_name = {c["name"]: c for c in merged["spec"]["containers"]}
    for container in spec.get("containers", []):
        target = by_name[container["name"]]
        for key in ("env", "volumeMounts"):
            target[key] = [*target.get(key, []), *container.get(key, [])]
    merged["spec"]["volumes"] = [*merged["spec"]["volumes"], *spec.get("volumes", [])]
    for key, value in spec.items():
        if key not in ("containers", "volumes"):
            merged["spec"][key] = value
    if "serviceAccountName" in spec:
        # archive_command authenticates to the clouds with this account's projected token (IRSA / workload identity)
        merged["spec"]["automountServiceAccountToken"] = True
    return merged


def _service(args: DatabaseArgs, name: str, selector: dict[str, str], component: str, port_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": args.namespace,
            "labels": app_labels(args.name, component, part_of=PART_OF),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": port_name, "port": conf.PG_PORT, "targetPort": port_name, "protocol": "TCP"}],
        },
    }


def rw_service_manifest(args: DatabaseArgs) -> dict[str, Any]:
    return _service(args, rw_name(args), role_selector(args, "primary"), "database", "postgres")


def ro_service_manifest(args: DatabaseArgs) -> dict[str, Any]:
    """The reader endpoint; with no replicas it has no endpoints (readers then use ``-rw``)."""
    return _service(args, ro_name(args), role_selector(args, "replica"), "database", "postgres")


def headless_service_manifest(args: DatabaseArgs) -> dict[str, Any]:
    """Stable pod names for replication; published before readiness so a replica can clone a starting primary."""
    manifest = _service(args, headless_name(args), data_selector(args), "database", "postgres")
    manifest["spec"]["clusterIP"] = "None"
    manifest["spec"]["publishNotReadyAddresses"] = True
    return manifest


def pdb_manifest(args: DatabaseArgs) -> dict[str, Any]:
    """One PostgreSQL pod disrupted at a time (a drain takes the primary or one replica, never two)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": f"{args.name}-pdb",
            "namespace": args.namespace,
            "labels": app_labels(args.name, "database", part_of=PART_OF),
        },
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": data_selector(args)}},
    }


# --- PgBouncer -------------------------------------------------------------------------------------


def pooler_containers(args: DatabaseArgs) -> list[dict[str, Any]]:
    p = args.settings.pooler
    tcp = {"tcpSocket": {"port": "postgres"}, "timeoutSeconds": 3}
    pooler = {
        "name": "pgbouncer",
        "image": p.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", f"{conf.POOLER_CONF_DIR}/{conf.POOLER_ENTRYPOINT}"],
        "ports": [{"name": "postgres", "containerPort": conf.POOLER_PORT, "protocol": "TCP"}],
        "env": [
            {"name": "APP_USER", "value": args.settings.app_user},
            secret_env(args, conf.ENV_APP_PASSWORD, KEY_APP),
            secret_env(args, conf.ENV_STATS_PASSWORD, KEY_STATS),
        ],
        "resources": {
            "requests": {"cpu": p.cpu_request, "memory": p.memory},
            "limits": {"cpu": p.cpu_limit, "memory": p.memory},
        },
        "readinessProbe": {**tcp, "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {**tcp, "periodSeconds": 10, "failureThreshold": 6},
        # Lets clients finish their transactions: PgBouncer's SIGTERM handling drains (1.23: "safe shutdown").
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "sleep 10"]}}},
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
        "volumeMounts": [
            {"name": "config", "mountPath": conf.POOLER_CONF_DIR, "readOnly": True},
            {"name": "tls", "mountPath": conf.POOLER_TLS_DIR, "readOnly": True},
            {"name": "run", "mountPath": conf.POOLER_RUN_DIR},
        ],
    }
    dsn = f"postgres://{conf.STATS_USER}:$({conf.ENV_STATS_PASSWORD})@127.0.0.1:{conf.POOLER_PORT}/pgbouncer?sslmode=require"
    exporter = {
        "name": "exporter",
        "image": p.exporter_image,
        "imagePullPolicy": "IfNotPresent",
        "args": [f"--pgBouncer.connectionString={dsn}", f"--web.listen-address=:{conf.POOLER_METRICS_PORT}"],
        "ports": [{"name": "metrics", "containerPort": conf.POOLER_METRICS_PORT, "protocol": "TCP"}],
        "env": [secret_env(args, conf.ENV_STATS_PASSWORD, KEY_STATS)],
        "resources": EXPORTER_RESOURCES,
        **EXPORTER_PROBES,
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
    }
    return [pooler, exporter]


def pooler_deployment_manifest(args: DatabaseArgs) -> dict[str, Any]:
    p = args.settings.pooler
    selector = pooler_selector(args)
    labels = app_labels(pooler_name(args), "pooler", part_of=PART_OF)
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": ZONE_KEY,
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": selector},
        },
        {
            "maxSkew": 1,
            "topologyKey": HOST_KEY,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector},
        },
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": pooler_name(args), "namespace": args.namespace, "labels": labels},
        "spec": {
            "replicas": p.replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"checksum/config": _checksum(pooler_files(args))}},
                "spec": {
                    "securityContext": pod_security_context(POOLER_UID),
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 40,
                    "topologySpreadConstraints": spread,
                    "containers": pooler_containers(args),
                    "volumes": [
                        {"name": "config", "configMap": {"name": pooler_config_name(args), "defaultMode": 0o444}},
                        {"name": "tls", "secret": {"secretName": tls_secret_name(args), "defaultMode": 0o440}},
                        {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                    ],
                },
            },
        },
    }


def pooler_service_manifest(args: DatabaseArgs) -> dict[str, Any]:
    manifest = _service(args, pooler_name(args), pooler_selector(args), "pooler", "postgres")
    manifest["metadata"]["labels"] = app_labels(pooler_name(args), "pooler", part_of=PART_OF)
    return manifest


def pooler_pdb_manifest(args: DatabaseArgs) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": f"{pooler_name(args)}-pdb",
            "namespace": args.namespace,
            "labels": app_labels(pooler_name(args), "pooler", part_of=PART_OF),
        },
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": pooler_selector(args)}},
    }


# --- monitoring and outputs ------------------------------------------------------------------------


def scrape_targets(args: DatabaseArgs) -> list[ScrapeTarget]:
    """PodMonitors: the exporters' ports are named ``metrics`` on pods without a metrics Service."""
    targets = [
        ScrapeTarget(
            name=f"{args.name}-postgres",
            kind="PodMonitor",
            namespace=args.namespace,
            selector=data_selector(args),
            port="metrics",
            metrics=PG_METRICS,
        )
    ]
    if args.settings.pooler.enabled:
        targets.append(
            ScrapeTarget(
                name=pooler_name(args),
                kind="PodMonitor",
                namespace=args.namespace,
                selector=pooler_selector(args),
                port="metrics",
                metrics=POOLER_METRICS,
            )
        )
    return targets


def plain_outputs(args: DatabaseArgs) -> dict[str, Any]:
    """The non-secret part of the ``database`` outputs section."""
    s = args.settings

    def endpoint(service: str) -> dict[str, Any]:
        return {"host": service_dns(args, service), "port": conf.PG_PORT}

    return {
        "engine": "postgresql-15",
        "writer": endpoint(rw_name(args)),
        "reader": endpoint(ro_name(args)) if s.replicas > 0 else endpoint(rw_name(args)),
        "pooler": endpoint(pooler_name(args)) if s.pooler.enabled else None,
        "databases": list(s.databases),
        "user": s.app_user,
        "credentials_secret": secret_name(args),
        "uri_key": KEY_URI,
        "password_key": KEY_APP,
        "replicas": s.replicas,
        "tls_required": True,
        "pool_mode": s.pooler.pool_mode if s.pooler.enabled else None,
    }
