"""Many concurrent psycopg clients running a short transaction loop, and a SHOW POOLS sampler.

Each client opens its own connection (``prepare_threshold=None``: transaction pooling cannot keep a prepared
statement between transactions), then repeats one transaction: an UPDATE of one of 100 counter rows and a
SELECT, committed. Latency is measured per transaction, from BEGIN to COMMIT acknowledged.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs ``coroutine`` on a loop of its own without touching the thread's current loop (``asyncio.run`` resets
    it, which breaks later code in the same process that calls ``get_event_loop()``, like Pulumi's mocks)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


SETUP_SQL = (
    "CREATE TABLE IF NOT EXISTS counters (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0);"
    "INSERT INTO counters (id) SELECT g FROM generate_series(0, 99) g ON CONFLICT DO NOTHING"
)


@dataclass
class LoadResult:
    clients: int
    connected: int
    transactions: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused_then_connected: int = 0
    """Clients a pooler refused at connect time (``max_client_conn``) that got in when they retried."""

    @property
    def tps(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0

    @property
    def p95_ms(self) -> float:
        if len(self.latencies) < 20:
            return float("nan")
        return statistics.quantiles(self.latencies, n=20)[18] * 1000

    def summary(self) -> dict[str, float | int]:
        return {
            "clients": self.clients,
            "connected": self.connected,
            "transactions": self.transactions,
            "seconds": round(self.seconds, 3),
            "tps": round(self.tps, 1),
            "p95_ms": round(self.p95_ms, 2),
            "errors": len(self.errors),
        }


POOLER_FULL = "no more connections allowed (max_client_conn)"
CONNECT_ATTEMPTS = 5


async def _connect(dsn: str, retry_refused: bool, result: LoadResult) -> psycopg.AsyncConnection[Any]:
    """Connect; with ``retry_refused``, a connection the pooler refuses as full is tried again, as an
    application's pool does. PgBouncer checks ``max_client_conn`` against every client object it holds
    (``get_active_client_count() > cf_max_client_conn``), its admin-console clients (the test's SHOW POOLS
    sampler) and clients still logging in included, so a burst of exactly ``max_client_conn`` connects can
    be refused in part for a moment: 25 of 1,000 once in a full-suite run, none when run alone."""
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            conn = await psycopg.AsyncConnection.connect(dsn, prepare_threshold=None, autocommit=True)
        except psycopg.OperationalError as exc:
            if not (retry_refused and POOLER_FULL in str(exc) and attempt < CONNECT_ATTEMPTS):
                raise
            await asyncio.sleep(0.2 * attempt)
            continue
        if attempt > 1:
            result.refused_then_connected += 1
        return conn
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _client(
    dsn: str, key: int, start: asyncio.Event, stop: asyncio.Event, result: LoadResult, retry_refused: bool
) -> None:
    try:
        conn = await _connect(dsn, retry_refused, result)
    except psycopg.Error as exc:
        result.errors.append(str(exc).splitlines()[0])
        return
    result.connected += 1
    try:
        await start.wait()
        while not stop.is_set():
            began = time.perf_counter()
            async with conn.transaction():
                await conn.execute("UPDATE counters SET n = n + 1 WHERE id = %s", (key % 100,))
                await conn.execute("SELECT n FROM counters WHERE id = %s", (key % 100,))
            result.latencies.append(time.perf_counter() - began)
            result.transactions += 1
    except psycopg.Error as exc:
        result.errors.append(str(exc).splitlines()[0])
    finally:
        await conn.close()


async def run_load(dsn: str, clients: int, seconds: float, *, retry_refused: bool = False) -> LoadResult:
    """Connect ``clients`` connections, then let them all loop for ``seconds`` (measured from the start signal).

    ``retry_refused``: a client the pooler refuses as full retries (see ``_connect``); off, a refusal is an
    error (what the direct-connection benchmark counts)."""
    result = LoadResult(clients=clients, connected=0, transactions=0, seconds=0.0)
    start, stop = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(_client(dsn, i, start, stop, result, retry_refused)) for i in range(clients)]
    # Connections open concurrently; the loop starts once every client has connected or failed.
    while result.connected + len(result.errors) < clients:
        await asyncio.sleep(0.05)
    began = time.perf_counter()
    start.set()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - began
    return result


async def show_pools(admin_dsn: str) -> list[dict[str, str]]:
    """``SHOW POOLS`` on PgBouncer's admin console (simple query protocol: psql, not psycopg's extended one)."""
    import re

    match = dict(re.findall(r"(\w+)=(\S+)", admin_dsn))
    proc = await asyncio.create_subprocess_exec(
        "psql", "-X", "-A", "-F", "|", "-c", "SHOW POOLS",
        env={"PGHOST": match["host"], "PGPORT": match["port"], "PGUSER": match["user"], "PGDATABASE": "pgbouncer",
             "PGPASSWORD": match["password"], "PGSSLMODE": "require", "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"SHOW POOLS: {err.decode()}")
    lines = [line for line in out.decode().splitlines() if "|" in line]
    header = lines[0].split("|")
    return [dict(zip(header, line.split("|"), strict=True)) for line in lines[1:]]


async def sample_pools(admin_dsn: str, stop: asyncio.Event, samples: list[dict[str, str]]) -> None:
    while not stop.is_set():
        samples.extend(await show_pools(admin_dsn))
        await asyncio.sleep(0.1)


def server_connections(row: dict[str, str]) -> int:
    """Server connections PgBouncer holds for one pool: active, idle and used."""
    return int(row["sv_active"]) + int(row["sv_idle"]) + int(row["sv_used"])
