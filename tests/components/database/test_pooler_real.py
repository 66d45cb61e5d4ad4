"""The database tier on real PostgreSQL 15 and PgBouncer 1.18, from prod's rendered files.

postgresql.conf, pg_hba.conf, init-roles.sh, pgbouncer.ini and pooler-entrypoint.sh come from the builders
the component declares (prod stack), with only ports, paths and the ``-rw`` host adapted (servers.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest

from tests.components.database.load import SETUP_SQL, run, run_load, sample_pools, server_connections
from tests.components.database.servers import Running, database_tier, prod_args

pytestmark = pytest.mark.real

CLIENTS = 1000


@pytest.fixture(scope="module")
def tier() -> Iterator[Running]:
    with database_tier() as running:
        with psycopg.connect(running.dsn(pooled=False), autocommit=True) as conn:
            conn.execute(SETUP_SQL)
        yield running


def test_1000_clients_share_at_most_25_server_connections(tier: Running) -> None:
    pool_size = prod_args().settings.pooler.default_pool_size
    assert pool_size == 25

    async def scenario() -> tuple[int, list[dict[str, str]]]:
        samples: list[dict[str, str]] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_pools(tier.admin_dsn(), stop, samples))
        result = await run_load(tier.dsn(pooled=True), CLIENTS, seconds=5.0, retry_refused=True)
        stop.set()
        await sampler
        assert not result.errors, result.errors[:5]
        # Exactly max_client_conn clients plus the sampler's admin connection: a few may be refused for a
        # moment and get in on retry, never a real share of them.
        assert result.refused_then_connected <= 0.05 * CLIENTS, result.refused_then_connected
        return result.transactions, samples

    transactions, samples = run(scenario())
    app_pools = [row for row in samples if row["database"] == tier.database and row["user"] == tier.app_user]
    assert app_pools, "SHOW POOLS never listed the app pool"
    assert transactions > CLIENTS  # every client ran its loop more than once on average
    most_clients = max(int(row["cl_active"]) + int(row["cl_waiting"]) for row in app_pools)
    most_servers = max(server_connections(row) for row in app_pools)
    assert most_clients >= 0.9 * CLIENTS, most_clients  # the clients were connected at once
    assert 0 < most_servers <= pool_size, most_servers
    # PostgreSQL's side agrees: the pooler's sessions never exceed the pool either.
    sessions = int(tier.psql_superuser(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{tier.app_user}'"))
    assert sessions <= pool_size


def test_server_defaults_reach_pooled_sessions(tier: Running) -> None:
    with psycopg.connect(tier.dsn(pooled=True), prepare_threshold=None, autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("30s",)
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert row == (True,)  # PgBouncer -> PostgreSQL is TLS (verify-full against the test CA)
        assert conn.execute("SELECT count(*) > 0 FROM pg_stat_statements").fetchone() == (True,)
    assert tier.psql_superuser("SHOW shared_preload_libraries") == "pg_stat_statements"
    assert tier.psql_superuser("SHOW ssl") == "on"


def test_tcp_without_tls_is_refused(tier: Running) -> None:
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(tier.dsn(pooled=False, sslmode="disable"))
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(tier.dsn(pooled=True, sslmode="disable"))  # client_tls_sslmode = require


def test_transaction_mode_does_not_keep_session_state(tier: Running) -> None:
    """What the README lists as forbidden: a session SET or advisory lock is not tied to the client's session.

    After client A's ``SET`` its server connection returns to the pool; PgBouncer hands out the most recently
    used idle connection first (``server_round_robin = 0``), so client B's next transaction runs on it and sees
    A's setting.
    """
    with psycopg.connect(tier.dsn(pooled=True), prepare_threshold=None, autocommit=True) as a:
        pid_a = a.execute("SELECT pg_backend_pid()").fetchone()
        a.execute("SET application_name = 'leaked-from-a'")
        with psycopg.connect(tier.dsn(pooled=True), prepare_threshold=None, autocommit=True) as b:
            # Session state lives on whichever server connection ran the statement, not on client A.
            rows = tier.psql_superuser("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leaked-from-a'")
            assert int(rows) == 1
            seen_by_b = b.execute("SELECT pg_backend_pid(), current_setting('application_name')").fetchone()
            assert seen_by_b is not None and pid_a is not None
            assert seen_by_b == (pid_a[0], "leaked-from-a")  # B inherited A's SET: why transaction mode forbids it
