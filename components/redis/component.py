"""The Redis cache tier on Kubernetes: a sharded Redis Cluster (prod) or one master with Sentinel (small stacks).

Shape (cluster mode, 3 masters x 1 replica): one StatefulSet per shard (``redis-shard-<i>``, ordinal 0 starts as
the master) whose pods carry a hard zone anti-affinity among themselves, so a master and its replica can never
share a zone: the scheduler enforces it, and the bootstrap Job pairs each replica with its own shard's master.
A single 6-pod StatefulSet cannot promise that (which ordinal lands in which zone is up to the scheduler).
Around it: a headless Service (stable pod DNS names, published before readiness so the cluster can form), a
client Service, one PodDisruptionBudget (one Redis pod down at a time), a NetworkPolicy admitting only the
configured peers, a ``redis_exporter`` sidecar, and the bootstrap Job. Sentinel mode: one shard plus a
3-sentinel StatefulSet.

What each pod runs (redis.conf, sentinel.conf, entrypoints, the bootstrap script) is rendered by
:mod:`components.redis.conf` into one ConfigMap; the password comes from ``pulumi_random`` into a Secret and
reaches Redis only at container start, so the plan never contains it.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.lib.k8s import declare
from components.lib.scrape import ScrapeTarget
from components.redis.config import RedisClusterArgs
from components.redis.manifests import (
    bootstrap_job_manifest,
    client_service_manifest,
    configmap_manifest,
    headless_service_manifest,
    network_policy_manifests,
    pdb_manifests,
    plain_outputs,
    scrape_target,
    secret_manifest,
    sentinel_service_manifests,
    sentinel_statefulset_manifest,
    statefulset_manifest,
)


class RedisCluster(pulumi.ComponentResource):
    """The Redis cache tier (see the module docstring)."""

    section: dict[str, Any]

    def __init__(self, name: str, args: RedisClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:redis:RedisCluster", name, None, opts)
        import pulumi_kubernetes as k8s
        import pulumi_random as random

        s = args.settings
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        data = pulumi.ResourceOptions(parent=self, protect=args.protect)
        # Generated once and kept in state: nothing here changes between runs, so it is never regenerated.
        # Alphanumeric only: it is written into auth.conf / sentinel.conf between double quotes.
        self.password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=data)
        secret = secret_manifest(args, self.password.result)
        self.secret = k8s.core.v1.Secret(
            f"{name}-auth",
            metadata=secret["metadata"],
            type=secret["type"],
            string_data=secret["stringData"],
            opts=child,
        )
        self.config_map = declare(k8s.core.v1.ConfigMap, f"{name}-config", configmap_manifest(args), child)
        self.headless = declare(k8s.core.v1.Service, f"{name}-headless", headless_service_manifest(args), child)
        self.service = declare(k8s.core.v1.Service, f"{name}-service", client_service_manifest(args), child)
        after_config = pulumi.ResourceOptions(
            parent=self, protect=args.protect, depends_on=[self.secret, self.config_map, self.headless]
        )
        self.statefulsets = [
            declare(k8s.apps.v1.StatefulSet, f"{name}-shard-{shard}", statefulset_manifest(args, shard), after_config)
            for shard in range(s.shards)
        ]
        for i, pdb in enumerate(pdb_manifests(args)):
            declare(k8s.policy.v1.PodDisruptionBudget, f"{name}-pdb" if i == 0 else f"{name}-sentinel-pdb", pdb, child)
        for i, policy in enumerate(network_policy_manifests(args)):
            role = "netpol" if i == 0 else "sentinel-netpol"
            declare(k8s.networking.v1.NetworkPolicy, f"{name}-{role}", policy, child)
        if s.mode == "cluster":
            self.bootstrap = declare(
                k8s.batch.v1.Job,
                f"{name}-bootstrap",
                bootstrap_job_manifest(args),
                pulumi.ResourceOptions(parent=self, depends_on=self.statefulsets),
            )
        else:
            for i, service in enumerate(sentinel_service_manifests(args)):
                role = "sentinel-service" if i == 0 else "sentinel-headless"
                declare(k8s.core.v1.Service, f"{name}-{role}", service, child)
            declare(
                k8s.apps.v1.StatefulSet,
                f"{name}-sentinel",
                sentinel_statefulset_manifest(args),
                pulumi.ResourceOptions(parent=self, depends_on=[self.secret, self.config_map]),
            )
        self.section = {**plain_outputs(args), "password": pulumi.Output.secret(self.password.result)}
        self.register_outputs(self.section)

    def scrape_targets(self) -> list[ScrapeTarget]:
        """The redis_exporter sidecars, for the monitoring component's PodMonitor."""
        return [scrape_target(self.args)]

    def outputs(self) -> dict[str, Any]:
        """The ``redis`` section of the outputs contract (the password stays a secret Output)."""
        return dict(self.section)
