"""Benchmark: 1000 clients through the rendered PgBouncer vs 100 clients straight to PostgreSQL, same run.

Both sides are prod's rendered files on real PostgreSQL 15 and PgBouncer 1.18 (tests/components/database/
servers.py; only ports and paths adapted, TLS on both hops). Each side runs the same short transaction loop
(UPDATE one of 100 counters + SELECT, committed) for ``SECONDS``; rounds alternate the order. Also records
that 1000 direct connections are refused by ``max_connections`` (the reason the pooler exists). Writes
build/bench/pooler.json: transactions/s and p95 latency per side and round, medians, and the pool's largest
server-connection count seen in SHOW POOLS (must stay <= default_pool_size).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from tests.components.database.load import (  # noqa: E402
    SETUP_SQL,
    run,
    run_load,
    sample_pools,
    server_connections,
)
from tests.components.database.servers import Running, database_tier, prod_args  # noqa: E402

SECONDS = 8.0
ROUNDS = 2
POOLED_CLIENTS = 1000
DIRECT_CLIENTS = 100


async def _pooled(tier: Running) -> dict[str, Any]:
    samples: list[dict[str, str]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_pools(tier.admin_dsn(), stop, samples))
    result = await run_load(tier.dsn(pooled=True), POOLED_CLIENTS, SECONDS)
    stop.set()
    await sampler
    pools = [r for r in samples if r["database"] == tier.database and r["user"] == tier.app_user]
    return {**result.summary(), "max_server_connections": max(server_connections(r) for r in pools)}


async def _direct(tier: Running, clients: int, seconds: float) -> dict[str, Any]:
    result = await run_load(tier.dsn(pooled=False), clients, seconds)
    summary: dict[str, Any] = dict(result.summary())
    if result.errors:
        summary["first_error"] = result.errors[0]
    return summary


def main() -> None:
    settings = prod_args().settings
    rounds: list[dict[str, Any]] = []
    with database_tier() as tier:
        with psycopg.connect(tier.dsn(pooled=False), autocommit=True) as conn:
            conn.execute(SETUP_SQL)
        refused = run(_direct(tier, POOLED_CLIENTS, 0.5))
        for i in range(ROUNDS):
            pooled_first = i % 2 == 0
            entry: dict[str, Any] = {}
            for side in ("pooled", "direct") if pooled_first else ("direct", "pooled"):
                if side == "pooled":
                    entry[side] = run(_pooled(tier))
                else:
                    entry[side] = run(_direct(tier, DIRECT_CLIENTS, SECONDS))
                print(side, entry[side], flush=True)
            rounds.append(entry)

    def median(side: str, key: str) -> float:
        return statistics.median(float(r[side][key]) for r in rounds)

    report = {
        "what": "short transaction loop; 1000 clients through PgBouncer (transaction mode) vs 100 clients direct",
        "seconds_per_side": SECONDS,
        "rounds": rounds,
        "pooled_tps_median": median("pooled", "tps"),
        "pooled_p95_ms_median": median("pooled", "p95_ms"),
        "direct_tps_median": median("direct", "tps"),
        "direct_p95_ms_median": median("direct", "p95_ms"),
        "pooled_vs_direct_tps": round(median("pooled", "tps") / median("direct", "tps"), 3),
        "max_server_connections": max(r["pooled"]["max_server_connections"] for r in rounds),
        "default_pool_size": settings.pooler.default_pool_size,
        "direct_1000": {
            "connected": refused["connected"],
            "refused": refused["errors"],
            "first_error": refused.get("first_error", ""),
        },
        "max_connections": settings.max_connections,
    }
    out = REPO / "build" / "bench" / "pooler.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "rounds"}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
