"""Redis cache tier: a 3-master / 3-replica cluster by default, sentinel mode for small stacks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.lib.settings import (
    CpuQuantity,
    DnsLabel,
    MemoryQuantity,
    PinnedImage,
    Settings,
    memory_bytes,
    raise_problems,
)

EvictionPolicy = Literal[
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
]

#: Share of the container memory limit that ``maxmemory`` may take at most. The rest is headroom for
#: the AOF rewrite / RDB fork (copy-on-write pages), replication buffers and fragmentation.
MAX_MAXMEMORY_RATIO = 0.75


class AllowedClient(Settings):
    """Who may connect (NetworkPolicy peer): pods with these labels in namespaces with these labels."""

    namespace_labels: dict[str, str] = Field(
        default_factory=dict, description="Namespace selector labels; empty = same namespace."
    )
    pod_labels: dict[str, str] = Field(default_factory=dict, description="Pod selector labels; empty = any pod there.")


class RedisSettings(Settings):
    enabled: bool = Field(default=True, description="Deploy the Redis tier.")
    mode: Literal["cluster", "sentinel"] = Field(
        default="cluster", description="cluster: sharded masters with replicas; sentinel: one master, N replicas."
    )
    masters: int = Field(
        default=3, ge=1, le=50, description="Cluster masters (hash-slot shards); 3 is Redis Cluster's minimum."
    )
    replicas_per_master: int = Field(default=1, ge=0, le=5, description="Replicas per master (seed: 3 + 3).")
    sentinels: int = Field(default=3, ge=3, le=7, description="Sentinel quorum members (sentinel mode); odd, >= 3.")
    image: PinnedImage = Field(default="redis:7.0.15", description="Redis image; 7.0 is what the tests run.")
    exporter_image: PinnedImage = Field(
        default="oliver006/redis_exporter:v1.62.0", description="redis_exporter sidecar."
    )
    memory_limit: MemoryQuantity = Field(
        default="2Gi", description="Container memory limit (= request: Guaranteed QoS)."
    )
    cpu_request: CpuQuantity = Field(default="500m", description="CPU request.")
    cpu_limit: CpuQuantity = Field(default="1", description="CPU limit.")
    maxmemory: MemoryQuantity | None = Field(
        default=None,
        description="Explicit maxmemory; None derives 70 % of memory_limit. At most 75 % of the limit "
        "(headroom for the AOF-rewrite fork).",
    )
    maxmemory_policy: EvictionPolicy = Field(default="allkeys-lru", description="Eviction policy (seed: allkeys-lru).")
    cluster_node_timeout_ms: int = Field(
        default=2000, ge=500, le=60000, description="cluster-node-timeout; 2000 ms gives ~4 s failover (measured)."
    )
    save_rules: tuple[str, ...] = Field(
        default=("900 1", "300 10", "60 10000"), description="RDB `save` lines (seconds changes)."
    )
    storage_size: MemoryQuantity = Field(default="10Gi", description="PVC size per pod (AOF + RDB + nodes.conf).")
    storage_class: str | None = Field(
        default=None, description="StorageClass; None uses cloud.kubernetes.storage_class."
    )
    allowed_clients: tuple[AllowedClient, ...] = Field(
        default=(AllowedClient(pod_labels={"redis-client": "true"}),),
        description="NetworkPolicy peers admitted to the Redis port (and the sentinel port in sentinel mode).",
    )
    metrics_clients: tuple[AllowedClient, ...] = Field(
        default=(
            AllowedClient(
                namespace_labels={"kubernetes.io/metadata.name": "monitoring"},
                pod_labels={"app.kubernetes.io/name": "prometheus"},
            ),
        ),
        description="NetworkPolicy peers admitted to the redis_exporter metrics port: Prometheus pods only (the "
        "same peer as network.scraper), not every pod of the monitoring namespace.",
    )
    cluster_require_full_coverage: bool = Field(
        default=False,
        description="cluster-require-full-coverage: yes stops every shard when one loses all its nodes; "
        "no (a cache) keeps the healthy shards serving.",
    )
    sentinel_down_after_ms: int = Field(
        default=5000, ge=1000, le=60000, description="Sentinel down-after-milliseconds (sentinel mode)."
    )
    sentinel_failover_timeout_ms: int = Field(
        default=60000, ge=5000, le=600000, description="Sentinel failover-timeout (sentinel mode)."
    )
    master_set: DnsLabel = Field(default="cache", description="Sentinel master-set name (sentinel mode).")
    allow_replica_in_same_zone: bool = Field(
        default=False,
        description="Opt out of the hard rule that a shard's pods (a master and its replicas) run in "
        "different zones; needs fewer zones, loses the shard when its zone fails.",
    )

    @property
    def maxmemory_bytes(self) -> int:
        if self.maxmemory is not None:
            return memory_bytes(self.maxmemory)
        return int(memory_bytes(self.memory_limit) * 0.7)

    @property
    def shards(self) -> int:
        """StatefulSets of one master and its replicas: ``masters`` in cluster mode, one in sentinel mode."""
        return self.masters if self.mode == "cluster" else 1

    @property
    def pods_per_shard(self) -> int:
        return 1 + self.replicas_per_master

    @property
    def sentinel_quorum(self) -> int:
        """Sentinels that must agree a master is down: a majority, so a partitioned minority cannot fail over."""
        return self.sentinels // 2 + 1

    @property
    def pod_count(self) -> int:
        if self.mode == "cluster":
            return self.masters * (1 + self.replicas_per_master)
        return 1 + self.replicas_per_master

    @model_validator(mode="after")
    def _consistent(self) -> RedisSettings:
        problems = []
        if self.mode == "cluster" and self.masters < 3:
            problems.append(f"masters: {self.masters} is below 3, the minimum for Redis Cluster")
        if self.mode == "sentinel" and self.sentinels % 2 == 0:
            problems.append(f"sentinels: {self.sentinels} is even; use an odd number so a quorum can form")
        limit = memory_bytes(self.memory_limit)
        if self.maxmemory is not None and memory_bytes(self.maxmemory) > limit * MAX_MAXMEMORY_RATIO:
            problems.append(
                f"maxmemory: {self.maxmemory} exceeds {int(MAX_MAXMEMORY_RATIO * 100)} % of memory_limit "
                f"{self.memory_limit}; raise memory_limit or lower maxmemory (the AOF rewrite fork needs headroom)"
            )
        if limit < 128 * 2**20:
            problems.append(
                f"memory_limit: {self.memory_limit} is below 128Mi, too small for Redis plus its fork headroom"
            )
        for i, rule in enumerate(self.save_rules):
            parts = rule.split()
            if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
                problems.append(f"save_rules[{i}]: {rule!r} is not '<seconds> <changes>' with positive integers")
        raise_problems(problems)
        return self


class RedisClusterArgs(BaseModel):
    """Inputs of :class:`RedisCluster`."""

    model_config = ConfigDict(frozen=True)

    settings: RedisSettings = Field(default_factory=RedisSettings, description="The validated redis section.")
    name: str = Field(default="redis", description="Prefix of every Kubernetes object.")
    namespace: str = Field(description="Namespace of every object.")
    storage_class: str = Field(description="StorageClass of the data PVCs (settings override it).")
    cluster_domain: str = Field(default="cluster.local", description="Kubernetes cluster DNS domain.")
    protect: bool = Field(default=False, description="Protect the password and StatefulSets (prod).")
