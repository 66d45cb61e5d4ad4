"""The real programs behind the plan's workloads, started on loopback from what the plan renders."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.components.redis.harness import (
    PASSWORD,
    LoopbackCluster,
    LoopbackSentinel,
    cluster_nodes,
    rendered_redis,
)

from .processes import Process, free_port, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REPO = Path(__file__).resolve().parents[2]
QUERIES = Path(__file__).with_name("queries.yaml")


@dataclass
class Postgres:
    """PostgreSQL 15 run as the postgres user (initdb, pg_ctl), its data in a directory that user can reach."""

    root: Path
    port: int
    running: bool = False

    @classmethod
    def create(cls) -> Postgres:
        root = Path(tempfile.mkdtemp(prefix="cell-pg-", dir="/tmp"))
        root.chmod(0o755)
        shutil.chown(root, "postgres", "postgres")
        server = cls(root, free_port())
        (root / "data").mkdir()
        shutil.chown(root / "data", "postgres", "postgres")
        server._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        return server

    def _as_postgres(self, *argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr[-2000:]}")
        return done

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-w",
            "-l",
            str(self.root / "pg.log"),
            "-o",
            opts,
            "start",
        )
        self.running = True

    def stop(self) -> None:
        """Stop the server (immediate mode, as a crash or a lost node would)."""
        if self.running:
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
            self.running = False

    def psql(self, sql: str) -> str:
        argv = [str(PG_BIN / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port)]
        done = subprocess.run([*argv, "-U", "postgres", "-c", sql], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Servers:
    """Everything started, so one ``close`` stops it all by PID whatever failed on the way."""

    workdir: Path
    processes: list[Process] = field(default_factory=list)
    redis: LoopbackCluster | LoopbackSentinel | None = None
    postgres: Postgres | None = None

    def start(self, name: str, argv: list[str], **kwargs: Any) -> Process:
        process = Process(name, argv, self.workdir / "logs", **kwargs)
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(OSError):
                process.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.remove()


def start_redis(servers: Servers, manifests: list[dict[str, Any]]) -> LoopbackCluster | LoopbackSentinel:
    """The plan's Redis: a Cluster formed by the rendered bootstrap script, or sentinel mode (data pods with
    ordinal 0 the initial master, and the sentinel StatefulSet's pods), from the rendered files."""
    rendered = rendered_redis(manifests)
    if not rendered.job_env:
        sentinels = next(
            (
                m["spec"]["replicas"]
                for m in manifests
                if m["kind"] == "StatefulSet" and m["metadata"]["name"] == "redis-sentinel"
            ),
            0,
        )
        setup = LoopbackSentinel(servers.workdir / "redis", rendered.files, rendered.pods, sentinels)
        servers.redis = setup
        setup.start_all()
        return setup
    cluster = LoopbackCluster(servers.workdir / "redis", rendered.files, rendered.pods)
    servers.redis = cluster
    cluster.start_all()
    result = cluster.bootstrap(rendered.job_env, rendered.pod_of_host)
    if result.returncode != 0:
        raise RuntimeError(f"the rendered Redis bootstrap failed: {result.stdout[-1500:]} {result.stderr[-1500:]}")
    first = next(iter(cluster.nodes.values()))
    wait_until(lambda: all(slot_ok(row) for row in cluster_nodes(first)), "every Redis node sees the cluster formed")
    return cluster


def slot_ok(row: dict[str, Any]) -> bool:
    return "fail" not in row["flags"] and "fail?" not in row["flags"]


def masters(redis: LoopbackCluster | LoopbackSentinel) -> list[str]:
    """Pod names of the masters: nodes serving slots (cluster), or the node replicating from no one (sentinel)."""
    if isinstance(redis, LoopbackSentinel):
        return [name for name, node in redis.nodes.items() if node.client().info("replication")["role"] == "master"]
    first = next(iter(redis.nodes.values()))
    by_address = {node.address: name for name, node in redis.nodes.items()}
    return [by_address[row["address"]] for row in cluster_nodes(first) if "master" in row["flags"] and row["slots"]]


def redis_exporter(servers: Servers, pod: str, address: str) -> tuple[Process, str]:
    port = free_port()
    listen = f"127.0.0.1:{port}"
    process = servers.start(
        f"redis-exporter-{pod}",
        ["prometheus-redis-exporter", "-redis.addr", f"redis://{address}", "-web.listen-address", listen],
        env={"REDIS_PASSWORD": PASSWORD},
    )
    process.wait_http(f"http://{listen}/metrics")
    return process, listen


def postgres_exporter(servers: Servers, name: str, dsn: str) -> tuple[Process, str]:
    port = free_port()
    listen = f"127.0.0.1:{port}"
    process = servers.start(
        f"postgres-exporter-{name}",
        ["prometheus-postgres-exporter", f"--web.listen-address={listen}", f"--extend.query-path={QUERIES}"],
        env={"DATA_SOURCE_NAME": dsn},
    )
    process.wait_http(f"http://{listen}/metrics")
    return process, listen


def pushgateway(servers: Servers) -> str:
    listen = f"127.0.0.1:{free_port()}"
    process = servers.start("pushgateway", ["prometheus-pushgateway", f"--web.listen-address={listen}"])
    process.wait_http(f"http://{listen}/-/ready")
    return listen


def alertmanager(servers: Servers, config: dict[str, Any]) -> str:
    root = servers.workdir / "alertmanager"
    root.mkdir()
    (root / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    check = subprocess.run(
        ["amtool", "check-config", str(root / "alertmanager.yml")], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        raise RuntimeError(f"amtool rejects the alertmanager.yml built from the plan: {check.stdout}{check.stderr}")
    listen = f"127.0.0.1:{free_port()}"
    process = servers.start(
        "alertmanager",
        [
            "prometheus-alertmanager",
            f"--config.file={root / 'alertmanager.yml'}",
            f"--storage.path={root / 'data'}",
            f"--web.listen-address={listen}",
            "--cluster.listen-address=",
        ],
    )
    process.wait_http(f"http://{listen}/-/ready")
    return listen


def prometheus(servers: Servers, config: dict[str, Any], rule_files: dict[str, list[dict[str, Any]]]) -> str:
    """Prometheus with ``config`` and one rule file per PrometheusRule (its ``spec.groups`` as rendered)."""
    root = servers.workdir / "prometheus"
    root.mkdir()
    paths = []
    for name, groups in rule_files.items():
        path = root / f"{name}.rules.yml"
        path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        paths.append(str(path))
    config = {**config, "rule_files": paths}
    (root / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    check = subprocess.run(
        ["promtool", "check", "config", str(root / "prometheus.yml")], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        raise RuntimeError(f"promtool rejects the prometheus.yml built from the plan: {check.stdout}{check.stderr}")
    listen = f"127.0.0.1:{free_port()}"
    process = servers.start(
        "prometheus",
        [
            "prometheus",
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address={listen}",
        ],
    )
    process.wait_http(f"http://{listen}/-/ready")
    return listen


def backup_cli() -> list[str]:
    """The backup function's CLI as the scheduled jobs run it."""
    return [sys.executable, "-m", "functions.backup"]
