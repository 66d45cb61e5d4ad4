"""The Redis tier on real redis-server 7.0 processes, started from what the plan renders.

The prod plan's ConfigMap (redis.conf, entrypoint.sh, bootstrap.sh) and bootstrap Job env drive six
loopback processes (one 127.0.0.x address per pod, like one IP per pod); the staging plan drives the
sentinel mode. Only paths, bind address, ports and announced names are adapted (tests/components/redis/harness.py).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.components.redis.harness import (
    HANG_SECONDS,
    PASSWORD,
    LoopbackCluster,
    LoopbackSentinel,
    Node,
    RenderedRedis,
    cluster_info,
    cluster_nodes,
    rendered_redis,
    running,
    running_sentinel,
    slot_count,
    wait_until,
)
from tests.plans import manifests, plan_of

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def prod() -> RenderedRedis:
    return rendered_redis(manifests(plan_of("prod")))


@pytest.fixture(scope="module")
def staging() -> RenderedRedis:
    return rendered_redis(manifests(plan_of("staging")))


def shard_of(pod: str) -> str:
    """``redis-shard-1-0`` -> ``redis-shard-1`` (the StatefulSet, kept in other zones than its siblings)."""
    return pod.rsplit("-", 1)[0]


def wait_for_topology(
    cluster: LoopbackCluster, masters: int, replicas_per_master: int, timeout: float = HANG_SECONDS
) -> float:
    """Seconds until every node reports cluster_state:ok and sees every master with its replicas."""

    def formed() -> bool:
        for node in cluster.nodes.values():
            if cluster_info(node)["cluster_state"] != "ok":
                return False
            rows = cluster_nodes(node)
            heads = [r for r in rows if "master" in r["flags"] and "fail" not in r["flags"] and r["slots"]]
            if len(heads) != masters:
                return False
            for head in heads:
                followers = [r for r in rows if r["master"] == head["id"] and "fail" not in r["flags"]]
                if len(followers) != replicas_per_master:
                    return False
        return True

    return wait_until(formed, timeout, "cluster formed with every replica attached")


def form(cluster: LoopbackCluster, rendered: RenderedRedis) -> float:
    start = time.monotonic()
    result = cluster.bootstrap(rendered.job_env, rendered.pod_of_host)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    wait_for_topology(cluster, masters=3, replicas_per_master=1)
    return time.monotonic() - start


def test_cluster_forms_from_the_rendered_conf_and_job_script(prod: RenderedRedis, tmp_path: Path) -> None:
    cluster = LoopbackCluster(tmp_path, prod.files, prod.pods)
    with running(cluster):
        seconds = form(cluster, prod)
        assert seconds < 20
        first = next(iter(cluster.nodes.values()))
        info = cluster_info(first)
        assert info["cluster_state"] == "ok" and info["cluster_slots_assigned"] == "16384"
        assert info["cluster_slots_ok"] == "16384" and info["cluster_size"] == "3"
        rows = cluster_nodes(first)
        masters = [r for r in rows if "master" in r["flags"]]
        assert len(masters) == 3 and sum(slot_count(m["slots"]) for m in masters) == 16384
        by_id = {r["id"]: cluster.node_by_address(r["address"]).name for r in rows}
        for master in masters:
            replicas = [by_id[r["id"]] for r in rows if r["master"] == master["id"]]
            assert len(replicas) == 1
            # The replica is its master's StatefulSet sibling: the scheduler keeps them in different zones.
            assert shard_of(replicas[0]) == shard_of(by_id[master["id"]])
            assert by_id[master["id"]].endswith("-0")
        # Every node announces its (stand-in) hostname, which clients get in redirects.
        assert {r["hostname"] for r in rows} == {n.host for n in cluster.nodes.values()}

        # Re-running the Job on a formed cluster is a no-op.
        before = sorted((r["id"], r["master"], tuple(r["slots"])) for r in rows)
        again = cluster.bootstrap(prod.job_env, prod.pod_of_host)
        assert again.returncode == 0 and "already formed" in again.stdout
        assert sorted((r["id"], r["master"], tuple(r["slots"])) for r in cluster_nodes(first)) == before

        # No password: NOAUTH. With the password, through a cluster client: reads and writes on every shard.
        unauthenticated = subprocess.run(
            ["redis-cli", "-h", first.host, "-p", str(first.port), "get", "anything"],
            capture_output=True,
            text=True,
            timeout=HANG_SECONDS,
            check=False,
        )
        assert unauthenticated.stdout.startswith("NOAUTH"), unauthenticated.stdout
        wrong = redis.Redis(host=first.host, port=first.port, password="wrong")
        with pytest.raises(redis.AuthenticationError):
            wrong.ping()
        client = cluster.cluster_client()
        for i in range(300):
            client.set(f"key:{i}", f"value:{i}")
        assert [client.get(f"key:{i}") for i in range(0, 300, 37)] == [f"value:{i}".encode() for i in range(0, 300, 37)]
        # Every key reaches its master and, asynchronously, that master's replica.
        wait_until(
            lambda: sum(int(node.client().dbsize()) for node in cluster.nodes.values()) == 600,
            HANG_SECONDS,
            "every key on its master and its replica",
        )
        # The password is not in the rendered files, and it reached Redis only through the auth include.
        assert all(PASSWORD not in text for text in prod.files.values())
        assert first.client().config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        assert first.client().config_get("appendonly") == {"appendonly": "yes"}
        assert first.client().config_get("masterauth")["masterauth"] == PASSWORD


class SteadyWriter(threading.Thread):
    """Writes key after key through a cluster client; remembers which writes were acknowledged."""

    def __init__(self, client: redis.RedisCluster) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.acknowledged: list[str] = []
        self.errors = 0
        self.halt = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.halt.is_set():
            key = f"steady:{i}"
            try:
                self.client.set(key, i)
                self.acknowledged.append(key)
            except (redis.RedisError, OSError):
                self.errors += 1
                time.sleep(0.02)
            i += 1


def aof_written(node: Node) -> bool:
    """Nothing acknowledged is still only in memory: the AOF buffer is empty, the last write succeeded and no
    rewrite (which a replica starts after a full sync) is under way."""
    info = node.client().info("persistence")
    busy = info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"]
    return info["aof_buffer_length"] == 0 and info["aof_last_write_status"] == "ok" and not busy


def master_pod(cluster: LoopbackCluster, shard: str) -> Node:
    rows = cluster_nodes(next(iter(cluster.nodes.values())))
    for row in rows:
        node = cluster.node_by_address(row["address"])
        if "master" in row["flags"] and shard_of(node.name) == shard:
            return node
    raise AssertionError(f"no master in {shard}")


def test_killed_master_fails_over_and_keys_survive_a_full_restart(prod: RenderedRedis, tmp_path: Path) -> None:
    cluster = LoopbackCluster(tmp_path, prod.files, prod.pods)
    with running(cluster):
        form(cluster, prod)
        writer = SteadyWriter(cluster.cluster_client(socket_timeout=1, socket_connect_timeout=1))
        writer.start()
        wait_until(lambda: len(writer.acknowledged) >= 100, HANG_SECONDS, "the writer's first writes acknowledged")
        victim = master_pod(cluster, "redis-shard-0")
        sibling = next(n for n in cluster.nodes.values() if shard_of(n.name) == "redis-shard-0" and n is not victim)
        killed_at = time.monotonic()
        victim.kill(signal.SIGKILL)

        def promoted() -> bool:
            role = sibling.client().info("replication")["role"]
            return role == "master" and cluster_info(sibling)["cluster_state"] == "ok"

        failover = wait_until(promoted, HANG_SECONDS, "replica promoted and cluster ok")
        assert time.monotonic() - killed_at < 10, f"failover took {failover:.1f} s"
        acked_at_failover = len(writer.acknowledged)
        wait_until(
            lambda: len(writer.acknowledged) > acked_at_failover + 50, HANG_SECONDS, "writes succeed after failover"
        )
        writer.halt.set()
        writer.join(HANG_SECONDS)
        assert not writer.is_alive()
        assert writer.errors > 0, "the writer saw the master disappear"

        # The old master returns (same PVC: nodes.conf + AOF) as a replica of the promoted one.
        victim.start()
        wait_until(
            lambda: victim.client().info("replication").get("master_link_status") == "up",
            HANG_SECONDS,
            "old master rejoins as replica, in sync",
        )

        # Everything acknowledged after the failover is in the AOF: kill -9 all, restart. A killed process
        # loses only what it had not yet written to the file (fsync matters for a machine crash, not here).
        survivors = writer.acknowledged[acked_at_failover:]
        wait_until(
            lambda: all(aof_written(node) for node in cluster.nodes.values()),
            HANG_SECONDS,
            "every node's AOF buffer written and no AOF rewrite under way",
        )
        for node in cluster.nodes.values():
            node.kill(signal.SIGKILL)
        for node in cluster.nodes.values():
            assert any((node.workdir / "data" / "appendonlydir").iterdir())
            node.start()
        wait_for_topology(cluster, masters=3, replicas_per_master=1)
        client = cluster.cluster_client()
        missing = [key for key in survivors if client.get(key) is None]
        assert not missing, f"{len(missing)} of {len(survivors)} keys lost in the restart"


def test_nodes_conf_refresh_rewrites_stale_peer_addresses(prod: RenderedRedis, tmp_path: Path) -> None:
    """After a full restart every pod has a new IP: the entrypoint re-resolves peers' announced names."""
    nodes_conf = tmp_path / "nodes.conf"
    nodes_conf.write_text(
        "aaa 10.1.2.3:6379@16379,localhost master - 0 0 1 connected 0-5460\n"
        "bbb 10.1.2.4:6379@16379,no-such-host.invalid slave aaa 0 0 1 connected\n"
        "ccc :6379@16379,localhost myself,master - 0 0 2 connected 5461-16383\n"
        "vars currentEpoch 2 lastVoteEpoch 0\n"
    )
    entrypoint = tmp_path / "entrypoint.sh"
    # Run the rendered entrypoint up to the point where it would exec redis-server.
    entrypoint.write_text(prod.files["entrypoint.sh"].replace('exec redis-server "$conf"', "exit 0 #"))
    env = {
        "PATH": "/usr/bin:/bin",
        "REDIS_PASSWORD": PASSWORD,
        "REDIS_ANNOUNCE_HOSTNAME": "localhost",
        "REDIS_AUTH_FILE": str(tmp_path / "auth.conf"),
        "REDIS_NODES_FILE": str(nodes_conf),
    }
    subprocess.run(["sh", str(entrypoint)], env=env, check=True, timeout=HANG_SECONDS)
    lines = nodes_conf.read_text().splitlines()
    assert lines[0].startswith("aaa 127.0.0.1:6379@16379,localhost master")
    assert lines[1].startswith("bbb 10.1.2.4:6379@16379,no-such-host.invalid slave")  # not resolvable: kept
    assert lines[2].startswith("ccc 127.0.0.1:6379@16379,localhost myself")
    assert lines[3] == "vars currentEpoch 2 lastVoteEpoch 0"
    auth = (tmp_path / "auth.conf").read_text()
    assert auth == f'requirepass "{PASSWORD}"\nmasterauth "{PASSWORD}"\n'
    assert (tmp_path / "auth.conf").stat().st_mode & 0o077 == 0


def sentinel_list(sentinel: Node, what: str, master_set: str) -> list[object]:
    return list(sentinel.client().execute_command("SENTINEL", what, master_set) or [])


def test_sentinel_mode_promotes_a_replica_when_the_master_dies(staging: RenderedRedis, tmp_path: Path) -> None:
    setup = LoopbackSentinel(tmp_path, staging.files, staging.pods, sentinels=3)
    master_set = "cache"
    with running_sentinel(setup):
        master, replica = setup.nodes.values()
        wait_until(
            lambda: replica.client().info("replication")["master_link_status"] == "up", HANG_SECONDS, "replica in sync"
        )
        for sentinel in setup.sentinels:
            wait_until(
                lambda s=sentinel: (
                    len(sentinel_list(s, "SENTINELS", master_set)) == 2
                    and len(sentinel_list(s, "REPLICAS", master_set)) == 1
                ),
                HANG_SECONDS,
                f"{sentinel.name} knows the other sentinels and the replica",
            )
        master.client().set("before-failover", "1")
        wait_until(
            lambda: int(master.client().execute_command("WAIT", 1, 1000) or 0) >= 1, HANG_SECONDS, "replica has it"
        )
        killed_at = time.monotonic()
        master.kill(signal.SIGKILL)
        wait_until(
            lambda: all(setup.master_seen_by(s, master_set) == replica.address for s in setup.sentinels),
            HANG_SECONDS,
            "every sentinel reports the promoted replica",
        )
        elapsed = time.monotonic() - killed_at
        assert replica.client().info("replication")["role"] == "master"
        assert replica.client().get("before-failover") == b"1"
        assert elapsed < 20, f"sentinel failover took {elapsed:.1f} s"
        # The old master restarts through the entrypoint, asks the sentinels, and rejoins as a replica.
        master.env["SENTINEL_HOST"] = setup.sentinels[0].host
        master.env["SENTINEL_PORT"] = str(setup.sentinels[0].port)
        master.start()
        wait_until(
            lambda: master.client().info("replication")["role"] == "slave", HANG_SECONDS, "old master is a replica"
        )
        assert master.client().info("replication")["master_port"] == replica.port
