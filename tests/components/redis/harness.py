"""Run the plan's Redis pods as real processes on loopback (tests/components/redis/test_redis_real.py, bench/redis.py).

What runs is what the ConfigMap ships: the rendered ``redis.conf`` / ``sentinel.conf`` started through the
rendered entrypoint scripts, and the cluster formed by the rendered bootstrap script. Only what cannot exist
off-cluster is adapted: paths (``dir``, ``cluster-config-file``, the auth include), bind address, ports and
the announced hostnames (env). Every pod gets its own loopback address (127.0.0.x), as every pod has its own
IP on Kubernetes, so ``redis-cli --cluster create`` pairs masters and replicas exactly as it will there.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

PASSWORD = "loopback-test-password-0123456789"
"""Stands in for the Secret's value (alphanumeric, like the RandomPassword the component declares)."""

HANG_SECONDS = 120.0
"""How long a wait on the servers may take before it counts as hung. Waits poll a condition and return as
soon as it holds, so the bound costs nothing on a quiet machine and keeps a loaded one slow, never red; how
fast something must happen (a failover) is asserted separately on the measured time."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port_pair(host: str) -> tuple[int, int]:
    """A client port and a cluster-bus port, both free on ``host``."""
    first = free_port(host)
    second = free_port(host)
    while second == first:
        second = free_port(host)
    return first, second


def replace_directive(text: str, directive: str, value: str) -> str:
    """Replace the one line starting with ``directive`` (fails if there is not exactly one)."""
    pattern = re.compile(rf"^{re.escape(directive)}( .*)?$", re.MULTILINE)
    found = pattern.findall(text)
    if len(found) != 1:
        raise AssertionError(f"rendered conf has {len(found)} '{directive}' lines, expected exactly one")
    return pattern.sub(f"{directive} {value}", text)


def adapt_redis_conf(text: str, *, bind: str, port: int, bus_port: int, data_dir: Path, auth_file: Path) -> str:
    out = replace_directive(text, "bind", bind)
    # A pod has one IP; a loopback process would connect out from 127.0.0.1 and peers would learn that.
    out = out.replace(f"bind {bind}\n", f"bind {bind}\nbind-source-addr {bind}\n", 1)
    out = replace_directive(out, "port", str(port))
    out = replace_directive(out, "dir", str(data_dir))
    out = replace_directive(out, "include", str(auth_file))
    if "cluster-enabled yes" in out:
        out = replace_directive(out, "cluster-port", str(bus_port))
        out = replace_directive(out, "cluster-config-file", str(data_dir / "nodes.conf"))
    return out


def adapt_sentinel_conf(text: str, *, bind: str, port: int, run_dir: Path, master_host: str, master_port: int) -> str:
    out = replace_directive(text, "bind", bind)
    out = replace_directive(out, "port", str(port))
    out = replace_directive(out, "dir", str(run_dir))
    monitor = re.compile(r"^sentinel monitor (\S+) \S+ \S+ (\d+)$", re.MULTILINE)
    if len(monitor.findall(out)) != 1:
        raise AssertionError("rendered sentinel.conf has no single 'sentinel monitor' line")
    return monitor.sub(rf"sentinel monitor \1 {master_host} {master_port} \2", out)


@dataclass
class Node:
    """One redis-server (or redis-sentinel) process started through the rendered entrypoint."""

    name: str
    host: str
    port: int
    bus_port: int
    workdir: Path
    command: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log_files: list[Path] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        log = self.workdir / f"log-{len(self.log_files)}.txt"
        self.log_files.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=HANG_SECONDS)

    def client(self, password: str | None = PASSWORD, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(
            host=self.host, port=self.port, password=password, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_files or not self.log_files[-1].exists():
            return ""
        return "\n".join(self.log_files[-1].read_text(errors="replace").splitlines()[-lines:])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll ``predicate`` until true; returns the seconds it took, raises TimeoutError naming ``what``."""
    start = time.monotonic()
    while True:
        with contextlib.suppress(redis.RedisError, OSError):
            if predicate():
                return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: not reached within {timeout} s")
        time.sleep(interval)


def _raw(node: Node, *command: str) -> str:
    """A command's reply as text, without redis-py's parsing (we parse what redis-cli would show)."""
    client = node.client()
    client.set_response_callback(" ".join(command).upper(), lambda response, **_: response)
    reply = client.execute_command(*command)
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def cluster_info(node: Node) -> dict[str, str]:
    text = _raw(node, "CLUSTER INFO")
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


def cluster_nodes(node: Node) -> list[dict[str, Any]]:
    """CLUSTER NODES as dicts: id, address, hostname, flags, master id, slots."""
    text = _raw(node, "CLUSTER NODES")
    rows = []
    for line in text.strip().splitlines():
        parts = line.split()
        addr, _, extra = parts[1].partition(",")
        rows.append(
            {
                "id": parts[0],
                "address": addr.split("@")[0],
                "hostname": extra.split(",")[0] if extra else "",
                "flags": set(parts[2].split(",")),
                "master": parts[3],
                "slots": parts[8:],
            }
        )
    return rows


def slot_count(ranges: list[str]) -> int:
    total = 0
    for item in ranges:
        if item.startswith("["):
            continue
        low, _, high = item.partition("-")
        total += int(high or low) - int(low) + 1
    return total


class LoopbackCluster:
    """The plan's Redis Cluster as processes: one per pod, named and ordered like the StatefulSets' pods."""

    def __init__(
        self,
        root: Path,
        files: Mapping[str, str],
        pod_names: list[str],
        password: str = PASSWORD,
        first_address: int = 11,
    ) -> None:
        self.root = root
        self.files = files
        self.password = password
        self.nodes: dict[str, Node] = {}
        conf_dir = root / "conf"
        conf_dir.mkdir(parents=True, exist_ok=True)
        for file_name in ("entrypoint.sh", "bootstrap.sh"):
            (conf_dir / file_name).write_text(files[file_name])
        for i, pod in enumerate(pod_names):
            host = f"127.0.0.{first_address + i}"
            port, bus = free_port_pair(host)
            workdir = root / pod
            (workdir / "data").mkdir(parents=True)
            (workdir / "run").mkdir()
            conf = workdir / "redis.conf"
            conf.write_text(
                adapt_redis_conf(
                    files["redis.conf"],
                    bind=host,
                    port=port,
                    bus_port=bus,
                    data_dir=workdir / "data",
                    auth_file=workdir / "run" / "auth.conf",
                )
            )
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "REDIS_PASSWORD": password,
                # A resolvable name that maps to this node's loopback address stands in for the pod's DNS name.
                "REDIS_ANNOUNCE_HOSTNAME": host,
                "REDIS_CONF": str(conf),
                "REDIS_AUTH_FILE": str(workdir / "run" / "auth.conf"),
                "REDIS_NODES_FILE": str(workdir / "data" / "nodes.conf"),
            }
            self.nodes[pod] = Node(pod, host, port, bus, workdir, ["sh", str(conf_dir / "entrypoint.sh")], env)

    def start_all(self) -> None:
        for node in self.nodes.values():
            node.start()
        for node in self.nodes.values():
            wait_until(lambda n=node: n.client().ping(), HANG_SECONDS, f"{node.name} answers PING")

    def bootstrap(self, job_env: Mapping[str, str], address_of: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        """Run the rendered bootstrap script with the Job's env, its pod host names mapped to loopback."""

        def loopback(entry: str) -> str:
            return self.nodes[address_of[entry.rsplit(":", 1)[0]]].address

        pairs = [pair.split(">") for pair in job_env.get("REDIS_PAIRS", "").split()]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **{k: v for k, v in job_env.items() if k not in ("REDIS_NODES", "REDIS_PAIRS", "_TIMEOUT")},
            "REDIS_NODES": " ".join(loopback(entry) for entry in job_env["REDIS_NODES"].split()),
            "REDIS_PAIRS": " ".join(f"{loopback(a)}>{loopback(b)}" for a, b in pairs),
            "REDISCLI_AUTH": self.password,
            "REDIS_WAIT_SECONDS": str(int(HANG_SECONDS)),
        }
        return subprocess.run(
            ["sh", str(self.root / "conf" / "bootstrap.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=float(job_env.get("_TIMEOUT", 2 * HANG_SECONDS)),
            check=False,
        )

    def cluster_client(self, **kwargs: Any) -> redis.RedisCluster:
        node = next(iter(self.nodes.values()))
        return redis.RedisCluster(host=node.host, port=node.port, password=self.password, **kwargs)

    def stop(self) -> None:
        for node in self.nodes.values():
            node.kill()

    def node_by_address(self, address: str) -> Node:
        return next(n for n in self.nodes.values() if n.address == address)


@contextlib.contextmanager
def running(cluster: LoopbackCluster) -> Iterator[LoopbackCluster]:
    """Start every node; always kill them (by PID) on the way out."""
    try:
        cluster.start_all()
        yield cluster
    finally:
        cluster.stop()


# --- what the plan renders -------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedRedis:
    """The parts of a plan the loopback harness runs: ConfigMap files, the Job's env, pod names."""

    files: dict[str, str]
    job_env: dict[str, str]
    pods: list[str]
    """Data pods in bootstrap order (cluster mode) or ordinal order (sentinel mode)."""
    pod_of_host: dict[str, str]
    """Pod DNS name -> pod name."""


def rendered_redis(manifests: list[dict[str, Any]]) -> RenderedRedis:
    """Pick the Redis ConfigMap, bootstrap Job and StatefulSets out of a plan's manifests."""
    config = next(m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "redis-config")
    jobs = [m for m in manifests if m["kind"] == "Job" and m["metadata"]["name"] == "redis-bootstrap"]
    job_env: dict[str, str] = {}
    if jobs:
        container = jobs[0]["spec"]["template"]["spec"]["containers"][0]
        job_env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    if job_env:
        hosts = [entry.rsplit(":", 1)[0] for entry in job_env["REDIS_NODES"].split()]
    else:
        shards = [
            m for m in manifests if m["kind"] == "StatefulSet" and m["metadata"]["name"].startswith("redis-shard-")
        ]
        hosts = [
            f"{sts['metadata']['name']}-{i}.{sts['spec']['serviceName']}"
            for sts in shards
            for i in range(sts["spec"]["replicas"])
        ]
    return RenderedRedis(
        files=dict(config["data"]),
        job_env=job_env,
        pods=[host.split(".")[0] for host in hosts],
        pod_of_host={host: host.split(".")[0] for host in hosts},
    )


class LoopbackSentinel:
    """Sentinel mode as processes: the data pods (ordinal 0 the initial master) and the sentinels."""

    def __init__(self, root: Path, files: Mapping[str, str], pods: list[str], sentinels: int) -> None:
        self.root = root
        self.files = files
        conf_dir = root / "conf"
        conf_dir.mkdir(parents=True, exist_ok=True)
        for file_name in ("entrypoint.sh", "sentinel-entrypoint.sh"):
            (conf_dir / file_name).write_text(files[file_name])
        self.nodes: dict[str, Node] = {}
        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REDIS_PASSWORD": PASSWORD}
        master: Node | None = None
        for i, pod in enumerate(pods):
            host = f"127.0.0.{31 + i}"
            port = free_port(host)
            workdir = root / pod
            (workdir / "data").mkdir(parents=True)
            (workdir / "run").mkdir()
            conf = workdir / "redis.conf"
            auth = workdir / "run" / "auth.conf"
            conf.write_text(
                adapt_redis_conf(
                    files["redis.conf"], bind=host, port=port, bus_port=0, data_dir=workdir / "data", auth_file=auth
                )
            )
            env = {
                **base_env,
                "REDIS_ANNOUNCE_HOSTNAME": host,
                "REDIS_CONF": str(conf),
                "REDIS_AUTH_FILE": str(auth),
                "REDIS_PORT": str(port),
                "REDIS_MASTER_HOST": master.host if master else host,
                "REDIS_MASTER_PORT": str(master.port if master else port),
            }
            node = Node(pod, host, port, 0, workdir, ["sh", str(conf_dir / "entrypoint.sh")], env)
            master = master or node
            self.nodes[pod] = node
        assert master is not None
        self.sentinels: list[Node] = []
        for i in range(sentinels):
            host = f"127.0.0.{51 + i}"
            port = free_port(host)
            workdir = root / f"sentinel-{i}"
            workdir.mkdir(parents=True)
            template = workdir / "sentinel.template.conf"
            template.write_text(
                adapt_sentinel_conf(
                    files["sentinel.conf"],
                    bind=host,
                    port=port,
                    run_dir=workdir,
                    master_host=master.host,
                    master_port=master.port,
                )
            )
            env = {
                **base_env,
                "SENTINEL_ANNOUNCE_HOSTNAME": host,
                "SENTINEL_TEMPLATE": str(template),
                "SENTINEL_CONF": str(workdir / "sentinel.conf"),
            }
            self.sentinels.append(
                Node(f"sentinel-{i}", host, port, 0, workdir, ["sh", str(conf_dir / "sentinel-entrypoint.sh")], env)
            )

    def start_all(self) -> None:
        for node in [*self.nodes.values(), *self.sentinels]:
            node.start()
        for node in [*self.nodes.values(), *self.sentinels]:
            wait_until(lambda n=node: n.client().ping(), HANG_SECONDS, f"{node.name} answers PING")

    def stop(self) -> None:
        for node in [*self.sentinels, *self.nodes.values()]:
            node.kill()

    def master_seen_by(self, sentinel: Node, master_set: str) -> str | None:
        reply = sentinel.client().execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", master_set)
        if not reply:
            return None
        host, port = (part.decode() if isinstance(part, bytes) else str(part) for part in reply)
        return f"{host}:{port}"


@contextlib.contextmanager
def running_sentinel(setup: LoopbackSentinel) -> Iterator[LoopbackSentinel]:
    try:
        setup.start_all()
        yield setup
    finally:
        setup.stop()
