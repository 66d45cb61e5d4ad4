"""What the Redis tier offers and uses on the network, for the stack's NetworkPolicies.

Redis's own NetworkPolicy (:func:`components.redis.manifests.network_policy_manifests`) admits its clients
by label (``redis.allowed_clients``) and its own pods by selector, so the provider is marked as admitting
its clients: the stack renders only the egress side, and labels each service that uses ``redis`` with
:func:`client_pod_labels`. Redis pods themselves use ``redis`` (replication, sentinel queries) and, in
cluster mode, ``redis-peers`` (the cluster bus).
"""

from __future__ import annotations

from components.network.config import REDIS
from components.network.model import Client, PortRef, Provider, Target, WorkloadRef
from components.redis.config import RedisClusterArgs, RedisSettings
from components.redis.manifests import (
    bootstrap_selector,
    data_selector,
    sentinel_name,
    sentinel_selector,
    shard_name,
)

#: The cluster bus between Redis Cluster nodes (only Redis pods use it).
PEERS = "redis-peers"


def client_pod_labels(settings: RedisSettings) -> dict[str, str] | None:
    """Labels the Redis NetworkPolicy admits from this namespace (its first same-namespace client), or None."""
    for client in settings.allowed_clients:
        if not client.namespace_labels and client.pod_labels:
            return dict(client.pod_labels)
    return None


def network_declarations(args: RedisClusterArgs) -> tuple[dict[str, Provider], tuple[Client, ...]]:
    """The providers (``redis``, ``redis-peers`` in cluster mode) and Redis's own pods as clients."""
    s = args.settings
    shards = tuple(WorkloadRef("StatefulSet", shard_name(args, i)) for i in range(s.shards))
    data = Target(data_selector(args), shards, (PortRef("redis"),))
    labels = client_pod_labels(s) or {}
    if s.mode == "cluster":
        providers = {
            REDIS: Provider(REDIS, (data,), admits_clients=True, client_labels=labels),
            PEERS: Provider(PEERS, (Target(data_selector(args), shards, (PortRef("bus"),)),), admits_clients=True),
        }
        clients = (
            Client(f"{args.name}-data", data_selector(args), shards, (REDIS, PEERS)),
            Client(
                f"{args.name}-bootstrap",
                bootstrap_selector(args),
                (WorkloadRef("Job", f"{args.name}-bootstrap"),),
                (REDIS,),
            ),
        )
        return providers, clients
    sentinels = (WorkloadRef("StatefulSet", sentinel_name(args)),)
    sentinel = Target(sentinel_selector(args), sentinels, (PortRef("sentinel"),))
    providers = {REDIS: Provider(REDIS, (data, sentinel), admits_clients=True, client_labels=labels)}
    clients = (
        Client(f"{args.name}-data", data_selector(args), shards, (REDIS,)),
        Client(f"{args.name}-sentinel", sentinel_selector(args), sentinels, (REDIS,)),
    )
    return providers, clients
