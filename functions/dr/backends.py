"""Promotion backends: what "promote the DR database" and "is it writable" mean per engine.

- ``postgres``: a warm standby (``standby.signal`` + ``restore_command`` replaying the DR copy of the WAL
  archive, or ``primary_conninfo``). ``SELECT pg_promote(wait => true)`` ends recovery; a committed upsert
  into ``dr_controller_heartbeat`` proves it takes writes.
- ``rds_replica``: ``promote_read_replica``, then ``available`` with no replication source, then the same
  write (when a connection string is given).
- ``aurora_global``: ``failover_global_cluster`` with ``AllowDataLoss`` (the primary region is gone, so a
  managed switchover cannot run), then the target cluster is the global cluster's writer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from functions.dr.config import PostgresDatabase, RdsDatabase
from functions.dr.errors import DrError, UsageError
from functions.dr.publish import Endpoint

Role = Literal["standby", "writer", "promoting", "unreachable"]

HEARTBEAT_DDL = (
    "CREATE TABLE IF NOT EXISTS dr_controller_heartbeat (database_id text PRIMARY KEY, written_at timestamptz NOT NULL)"
)
HEARTBEAT_UPSERT = (
    "INSERT INTO dr_controller_heartbeat (database_id, written_at) VALUES (%s, clock_timestamp()) "
    "ON CONFLICT (database_id) DO UPDATE SET written_at = excluded.written_at"
)


@dataclass(frozen=True)
class Status:
    role: Role
    detail: dict[str, Any]


class Backend(Protocol):
    kind: str
    budget_seconds: int
    poll_seconds: float

    def status(self) -> Status: ...

    def promote(self) -> None:
        """Asks the engine to promote; may return before it is done (the controller waits on ``writable``)."""
        ...

    def writable(self) -> tuple[bool, str]:
        """A real write committed (or the engine's own writer state when no write is possible from here)."""
        ...

    def writer_endpoint(self) -> Endpoint: ...

    def fence_old_primary(self) -> str:
        """Stops the old primary from taking writes when it is reachable; says what was done."""
        ...

    def freeze(self) -> str:
        """Stops the standby replaying more WAL (corruption: keep what it has); says what was done."""
        ...


def _env(name: str | None, key: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value


def secret_dsn(secrets: Any, secret_id: str, key: str) -> str:
    """A libpq connection string from a Secrets Manager secret: the URL itself, or RDS/operator-style JSON
    (``host``, ``port``, ``username``/``user``, ``password``, ``dbname``/``database``)."""
    from psycopg.conninfo import make_conninfo

    if secrets is None:
        raise UsageError(f"database.{key}: a Secrets Manager client is needed to read {secret_id!r}")
    try:
        text = secrets.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except Exception as err:  # not found, access denied, throttled: say which secret and why
        raise DrError(f"database.{key}: cannot read secret {secret_id!r}: {err}") from None
    if text.startswith(("postgresql://", "postgres://")):
        return text
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        raise UsageError(f"database.{key}: secret {secret_id!r} is neither a postgresql:// URL nor JSON") from None
    if not isinstance(doc, dict) or "host" not in doc:
        raise UsageError(f"database.{key}: secret {secret_id!r} has no 'host' key")
    return make_conninfo(
        host=str(doc["host"]),
        port=str(doc.get("port", 5432)),
        user=str(doc.get("username") or doc.get("user") or "postgres"),
        password=str(doc.get("password", "")),
        dbname=str(doc.get("dbname") or doc.get("database") or "postgres"),
    )


def resolve_dsn(secrets: Any, secret_id: str | None, env_name: str | None, key: str) -> str | None:
    """The secret when one is named (it wins), else the environment variable, else None."""
    if secret_id:
        return secret_dsn(secrets, secret_id, key.replace("_env", "_secret"))
    return _env(env_name, key)


def write_check(dsn: str, database_id: str, timeout: float) -> tuple[bool, str]:
    """Commits one upsert. (False, why) while the server is still in recovery, read-only or unreachable (worth
    waiting for); a DrError for anything waiting cannot fix (missing privilege, bad SQL)."""
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=max(1, int(timeout)), autocommit=False) as conn:
            conn.execute("SELECT set_config('statement_timeout', %s, true)", (f"{int(timeout * 1000)}ms",))
            conn.execute(HEARTBEAT_DDL)
            conn.execute(HEARTBEAT_UPSERT, (database_id,))
            conn.commit()
        return True, "write committed"
    except (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return False, f"{type(err).__name__}: {first}"
    except psycopg.Error as err:
        raise DrError(f"write check on the promoted database failed for good: {type(err).__name__}: {err}") from None


class PostgresBackend:
    kind = "postgres"

    def __init__(
        self, settings: PostgresDatabase, database_id: str, *, connect_timeout: float = 5, secrets: Any = None
    ) -> None:
        self.settings = settings
        self.database_id = database_id
        self.budget_seconds = settings.promotion_budget_seconds
        self.poll_seconds = settings.poll_seconds
        self.connect_timeout = connect_timeout
        dsn = resolve_dsn(secrets, settings.standby_dsn_secret, settings.standby_dsn_env, "standby_dsn_env")
        if dsn is None:
            raise UsageError(f"database.standby_dsn_env: ${settings.standby_dsn_env} is unset or empty")
        self.standby_dsn = dsn
        self.primary_dsn = resolve_dsn(
            secrets, settings.primary_dsn_secret, settings.primary_dsn_env, "primary_dsn_env"
        )

    def _connect(self, dsn: str) -> Any:
        import psycopg

        return psycopg.connect(dsn, connect_timeout=max(1, int(self.connect_timeout)), autocommit=True)

    def status(self) -> Status:
        import psycopg

        try:
            with self._connect(self.standby_dsn) as conn:
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), "
                    "coalesce(pg_last_wal_replay_lsn()::text, ''), extract(epoch FROM now() - "
                    "pg_last_xact_replay_timestamp())"
                ).fetchone()
        except psycopg.Error as err:
            return Status("unreachable", {"error": str(err).strip()[:300]})
        assert row is not None
        in_recovery, replayed_at, lsn, age = row
        detail = {
            "in_recovery": in_recovery,
            "last_replayed_commit": replayed_at.isoformat() if replayed_at else None,
            "replay_lsn": lsn or None,
            "replay_age_seconds": round(float(age), 3) if age is not None else None,
        }
        return Status("standby" if in_recovery else "writer", detail)

    def promote(self) -> None:
        import psycopg

        try:
            with self._connect(self.standby_dsn) as conn:
                row = conn.execute(
                    "SELECT pg_promote(wait => true, wait_seconds => %s)", (self.budget_seconds,)
                ).fetchone()
        except psycopg.Error as err:
            if "not in recovery" in str(err):
                return  # promoted meanwhile (another run, or by hand): the write check decides
            raise DrError(f"pg_promote on the standby failed: {str(err).strip()}") from None
        if not row or not row[0]:
            raise DrError(f"pg_promote did not finish within {self.budget_seconds} s")

    def writable(self) -> tuple[bool, str]:
        return write_check(self.standby_dsn, self.database_id, self.connect_timeout)

    def writer_endpoint(self) -> Endpoint:
        return Endpoint.parse(self.settings.writer_endpoint)

    def heartbeat_primary(self) -> str:
        """Commits the heartbeat row on the primary (when its connection is configured), so the standby's replay
        age measures the archive path, not the applications' write rate: an idle primary archives nothing."""
        if self.primary_dsn is None:
            return "skipped: no primary connection string configured"
        return write_check(self.primary_dsn, self.database_id, self.connect_timeout)[1]

    def fence_old_primary(self) -> str:
        """``default_transaction_read_only`` on, then ends client sessions so reconnects get it.

        A client that runs ``SET default_transaction_read_only = off`` can still write: this fences the
        applications (which follow the published endpoint anyway), not a hostile superuser.
        """
        import psycopg

        if self.primary_dsn is None:
            return "skipped: no primary connection string configured"
        try:
            with self._connect(self.primary_dsn) as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
                    return "skipped: the old primary is itself in recovery"
                conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
                conn.execute("SELECT pg_reload_conf()")
                ended = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                ).fetchone()
            return f"fenced: default_transaction_read_only=on, {ended[0] if ended else 0} sessions ended"
        except psycopg.Error as err:
            return f"unreachable: {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}"

    def freeze(self) -> str:
        import psycopg

        try:
            with self._connect(self.standby_dsn) as conn:
                conn.execute("SELECT pg_wal_replay_pause()")
                row = conn.execute("SELECT pg_last_xact_replay_timestamp()").fetchone()
            return f"replay paused at last commit {row[0].isoformat() if row and row[0] else 'unknown'}"
        except psycopg.Error as err:
            return f"not paused: {str(err).strip()[:200]}"


class RdsBackend:
    """RDS read replica or Aurora global database, through boto3 in the DR region."""

    def __init__(self, settings: RdsDatabase, database_id: str, rds: Any, *, secrets: Any = None) -> None:
        self.settings = settings
        self.kind = settings.kind
        self.database_id = database_id
        self.rds = rds
        self.budget_seconds = settings.promotion_budget_seconds
        self.poll_seconds = settings.poll_seconds
        self.writable_dsn = resolve_dsn(
            secrets, settings.writable_dsn_secret, settings.writable_dsn_env, "writable_dsn_env"
        )

    def _instance(self) -> dict[str, Any]:
        try:
            found = self.rds.describe_db_instances(DBInstanceIdentifier=self.settings.replica_id)["DBInstances"]
        except self.rds.exceptions.DBInstanceNotFoundFault:
            raise DrError(f"database.replica_id: DB instance {self.settings.replica_id!r} not found") from None
        return found[0]

    def _cluster(self) -> dict[str, Any]:
        try:
            return self.rds.describe_db_clusters(DBClusterIdentifier=self.settings.replica_id)["DBClusters"][0]
        except self.rds.exceptions.DBClusterNotFoundFault:
            raise DrError(f"database.replica_id: DB cluster {self.settings.replica_id!r} not found") from None

    def _global_writer(self) -> bool:
        clusters = self.rds.describe_global_clusters(GlobalClusterIdentifier=self.settings.global_cluster_id)
        for member in clusters["GlobalClusters"][0].get("GlobalClusterMembers", []):
            if member.get("DBClusterArn") == self.settings.target_cluster_arn:
                return bool(member.get("IsWriter"))
        raise DrError(
            f"database.target_cluster_arn: {self.settings.target_cluster_arn} is not a member of "
            f"{self.settings.global_cluster_id}"
        )

    def status(self) -> Status:
        if self.kind == "aurora_global":
            cluster = self._cluster()
            writer = self._global_writer()
            return Status("writer" if writer else "standby", {"status": cluster.get("Status")})
        inst = self._instance()
        source = inst.get("ReadReplicaSourceDBInstanceIdentifier")
        state = inst.get("DBInstanceStatus")
        role: Role = "standby" if source else ("writer" if state == "available" else "promoting")
        return Status(role, {"status": state, "source": source})

    def promote(self) -> None:
        if self.kind == "aurora_global":
            self.rds.failover_global_cluster(
                GlobalClusterIdentifier=self.settings.global_cluster_id,
                TargetDbClusterIdentifier=self.settings.target_cluster_arn,
                AllowDataLoss=True,
            )
            return
        try:
            self.rds.promote_read_replica(DBInstanceIdentifier=self.settings.replica_id)
        except self.rds.exceptions.InvalidDBInstanceStateFault as err:
            raise DrError(f"promote_read_replica {self.settings.replica_id}: {err}") from None

    def writable(self) -> tuple[bool, str]:
        if self.kind == "aurora_global":
            if not self._global_writer() or self._cluster().get("Status") != "available":
                return False, "target cluster not yet the available writer"
        else:
            state = self._instance().get("DBInstanceStatus")
            if state != "available":
                return False, f"instance status {state}"
        if self.writable_dsn is None:
            return True, "available (no write check: database.writable_dsn_env not set)"
        return write_check(self.writable_dsn, self.database_id, 5)

    def writer_endpoint(self) -> Endpoint:
        if self.kind == "aurora_global":
            cluster = self._cluster()
            return Endpoint(cluster["Endpoint"], int(cluster.get("Port") or 5432))
        endpoint = self._instance()["Endpoint"]
        return Endpoint(endpoint["Address"], int(endpoint["Port"]))

    def fence_old_primary(self) -> str:
        return "not supported for RDS: consumers follow the published endpoint; stop the old writer by hand"

    def freeze(self) -> str:
        return "not supported for RDS: the replica keeps replicating; restore to a point in time instead"
