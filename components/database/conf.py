"""What the database pods run, as text: postgresql.conf, pg_hba.conf, pgbouncer.ini and the entrypoints.

Pure functions of the settings (and the in-cluster host names), so the real-server tests start PostgreSQL
15 and PgBouncer from exactly these files with only ports and paths adapted. No secret is written here: the
passwords reach the processes from the Secret as environment variables at start, and the PgBouncer userlist
is written then into a memory-backed volume.
"""

from __future__ import annotations

from components.database.config import EXPORTER_CONNECTIONS, MIB, DatabaseSettings, PoolerSettings

PG_PORT = 5432
POOLER_PORT = 5432
PG_METRICS_PORT = 9187
POOLER_METRICS_PORT = 9127

CONF_DIR = "/etc/postgresql/platform"
"""The ConfigMap mount (a directory of its own: the archive fragment is mounted beside it by subPath)."""
TLS_DIR = "/etc/postgresql/tls"
PGDATA_MOUNT = "/var/lib/postgresql/data"
PGDATA = f"{PGDATA_MOUNT}/pgdata"
"""A sub-directory of the volume: initdb refuses a mount point holding lost+found."""
POOLER_CONF_DIR = "/etc/pgbouncer"
POOLER_TLS_DIR = "/etc/pgbouncer/tls"
POOLER_RUN_DIR = "/var/run/pgbouncer"

POSTGRESQL_CONF = "postgresql.conf"
PG_HBA = "pg_hba.conf"
INIT_SCRIPT = "init-roles.sh"
REPLICA_ENTRYPOINT = "replica-entrypoint.sh"
PGBOUNCER_INI = "pgbouncer.ini"
POOLER_ENTRYPOINT = "pooler-entrypoint.sh"

SUPERUSER = "postgres"
REPLICATION_USER = "replicator"
EXPORTER_USER = "postgres_exporter"
STATS_USER = "pgbouncer_stats"

# Environment variable names the entrypoints read (values from the Secret, see manifests.secret_env).
ENV_SUPERUSER_PASSWORD = "POSTGRES_PASSWORD"
ENV_REPLICATION_PASSWORD = "REPLICATION_PASSWORD"
ENV_APP_PASSWORD = "APP_PASSWORD"
ENV_EXPORTER_PASSWORD = "EXPORTER_PASSWORD"
ENV_STATS_PASSWORD = "STATS_PASSWORD"
ENV_PRIMARY_HOST = "PRIMARY_HOST"
ENV_POD_NAME = "POD_NAME"


def _size(value: int) -> str:
    """A memory parameter in the largest whole unit PostgreSQL accepts (MB when exact, else kB)."""
    return f"{value // MIB}MB" if value % MIB == 0 else f"{value // 1024}kB"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def render_postgresql_conf(s: DatabaseSettings, archive_conf_path: str | None) -> str:
    """The server configuration; the archive fragment (``archive_command`` = ``wal-push``) is included from the
    backup jobs' ConfigMap, so a change of vaults or keys there needs no change here."""
    tls = s.tls
    lines = [
        "# Managed by Pulumi (platform:database). Parameters derived from the container memory and the pooler.",
        "listen_addresses = '*'",
        f"port = {PG_PORT}",
        f"max_connections = {s.max_connections}",
        f"superuser_reserved_connections = {s.superuser_reserved_connections}",
        "",
        f"# memory: {s.memory} container",
        f"shared_buffers = {_size(s.shared_buffers_bytes)}",
        f"effective_cache_size = {_size(s.effective_cache_size_bytes)}",
        f"work_mem = {_size(s.work_mem_bytes)}",
        f"maintenance_work_mem = {_size(s.maintenance_work_mem_bytes)}",
        "huge_pages = try",
        "",
        "# TLS is on and pg_hba.conf accepts TCP clients only over it",
        "ssl = on",
        f"ssl_cert_file = '{TLS_DIR}/tls.crt'",
        f"ssl_key_file = '{TLS_DIR}/tls.key'",
        f"ssl_min_protocol_version = '{tls.min_protocol_version}'",
        "password_encryption = 'scram-sha-256'",
        f"hba_file = '{CONF_DIR}/{PG_HBA}'",
        "",
        "# replication: physical slots, one per replica; a dead replica may pin at most this much WAL",
        "wal_level = replica",
        f"max_wal_senders = {s.max_wal_senders}",
        f"max_replication_slots = {s.max_wal_senders}",
        f"max_slot_wal_keep_size = {_size(s.max_slot_wal_keep_bytes)}",
        "wal_compression = on",
        "hot_standby = on",
        "hot_standby_feedback = on",
        "",
        "# statistics and slow queries",
        "shared_preload_libraries = 'pg_stat_statements'",
        "pg_stat_statements.max = 10000",
        "pg_stat_statements.track = top",
        "track_io_timing = on",
        f"log_min_duration_statement = {s.slow_query_ms}",
        "log_checkpoints = on",
        "log_lock_waits = on",
        "log_temp_files = 0",
        "log_autovacuum_min_duration = 10000",
        "log_line_prefix = '%m [%p] %q%u@%d '",
        "",
        "# timeouts (statement_timeout is the server default; the superuser's is 0, see init-roles.sh)",
        f"statement_timeout = '{s.statement_timeout_seconds}s'",
        f"idle_in_transaction_session_timeout = '{s.idle_in_transaction_timeout_seconds}s'",
    ]
    if archive_conf_path is not None:
        lines += ["", "# WAL archiving (archive_mode, archive_timeout, archive_command): the backup jobs' fragment"]
        lines.append(f"include_if_exists = {_quote(archive_conf_path)}")
    else:
        lines += ["", "archive_mode = off  # database.allow_no_wal_archive"]
    if s.parameters:
        lines += ["", "# database.parameters"]
        lines += [f"{name} = {_quote(value)}" for name, value in sorted(s.parameters.items())]
    return "\n".join(lines) + "\n"


def render_pg_hba(s: DatabaseSettings) -> str:
    """Local socket: peer for the postgres OS user, passwords for the rest; TCP: TLS + SCRAM only."""
    del s  # one shape for every stack; kept as a parameter so a future per-stack rule has its place
    return (
        "# Managed by Pulumi (platform:database). First match wins.\n"
        "# TYPE     DATABASE     USER         ADDRESS  METHOD\n"
        f"local      all          {SUPERUSER:<12} peer\n"
        "local      all          all                   scram-sha-256\n"
        "hostnossl  all          all          all      reject\n"
        "hostnossl  replication  all          all      reject\n"
        f"hostssl    replication  {REPLICATION_USER:<12} all      scram-sha-256\n"
        "hostssl    all          all          all      scram-sha-256\n"
    )


def render_init_script(s: DatabaseSettings) -> str:
    """Run once by the image's entrypoint after initdb (``/docker-entrypoint-initdb.d``): roles and databases.

    Passwords come from the environment through psql variables (``:'var'`` quotes them), never from a file
    in the plan. The superuser's own statement_timeout is 0 so pg_dump, VACUUM and REINDEX are not cut at 30 s.
    """
    creates = "\n".join(
        f"SELECT 'CREATE DATABASE {db} OWNER {s.app_user}' WHERE NOT EXISTS "
        f"(SELECT FROM pg_database WHERE datname = '{db}')\\gexec\n"
        f"\\connect {db}\n"
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;\n"
        f"\\connect postgres"
        for db in s.databases
    )
    return f"""#!/bin/sh
# Managed by Pulumi (platform:database): roles and databases, once, on the primary's first start.
# Sourced by the image's entrypoint (which runs with errexit); ON_ERROR_STOP makes a failed statement fatal.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \\
  -v repl_pw="${ENV_REPLICATION_PASSWORD}" -v app_pw="${ENV_APP_PASSWORD}" \\
  -v exporter_pw="${ENV_EXPORTER_PASSWORD}" <<'SQL'
ALTER ROLE {SUPERUSER} SET statement_timeout = 0;
CREATE ROLE {REPLICATION_USER} WITH LOGIN REPLICATION PASSWORD :'repl_pw';
CREATE ROLE {s.app_user} WITH LOGIN PASSWORD :'app_pw';
CREATE ROLE {EXPORTER_USER} WITH LOGIN PASSWORD :'exporter_pw' CONNECTION LIMIT {EXPORTER_CONNECTIONS};
GRANT pg_monitor TO {EXPORTER_USER};
ALTER ROLE {EXPORTER_USER} SET statement_timeout = '10s';
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
{creates}
SQL
"""


def render_replica_entrypoint() -> str:
    """A replica's first start clones the primary (``pg_basebackup -R`` with a slot named after the pod), then
    every start runs the image's entrypoint, which skips initdb on an existing data directory."""
    return f"""#!/bin/sh
# Managed by Pulumi (platform:database): clone the primary once, then run as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  slot="$(echo "${ENV_POD_NAME}" | tr -c 'a-z0-9_\\n' '_')"
  rm -rf "$PGDATA.tmp"
  PGPASSWORD="${ENV_REPLICATION_PASSWORD}" pg_basebackup \\
    --dbname="host=${ENV_PRIMARY_HOST} port={PG_PORT} user={REPLICATION_USER} sslmode=verify-full \
sslrootcert={TLS_DIR}/ca.crt application_name=$slot" \\
    --pgdata="$PGDATA.tmp" --wal-method=stream --write-recovery-conf \\
    --slot="$slot" --create-slot --checkpoint=fast --progress --verbose
  # primary_conninfo carries the password file's path, not the password.
  printf '%s:%s:*:%s:%s\\n' "${ENV_PRIMARY_HOST}" {PG_PORT} {REPLICATION_USER} "${ENV_REPLICATION_PASSWORD}" \\
    > "$PGDATA.tmp/.pgpass-replication"
  chmod 0600 "$PGDATA.tmp/.pgpass-replication"
  sed -i "s|password=[^ ']*||" "$PGDATA.tmp/postgresql.auto.conf"
  echo "primary_conninfo = 'host=${ENV_PRIMARY_HOST} port={PG_PORT} user={REPLICATION_USER} sslmode=verify-full \
sslrootcert={TLS_DIR}/ca.crt application_name=$slot passfile=$PGDATA/.pgpass-replication'" \\
    >> "$PGDATA.tmp/postgresql.auto.conf"
  chmod 0700 "$PGDATA.tmp"
  mv "$PGDATA.tmp" "$PGDATA"
fi
exec docker-entrypoint.sh "$@"
"""


def render_pgbouncer_ini(p: PoolerSettings, databases: tuple[str, ...], primary_host: str, tls_min: str) -> str:
    """PgBouncer: one pool per database toward the ``-rw`` Service, TLS on both sides.

    ``max_db_connections`` caps each database's server sessions per pod at the pool size, so the figure the
    config check multiplies out is a hard bound, not a typical value.
    """
    protocols = "tlsv1.3" if tls_min == "TLSv1.3" else "tlsv1.2,tlsv1.3"
    cap = p.server_connections_per_pool
    dbs = "\n".join(f"{db} = host={primary_host} port={PG_PORT} dbname={db}" for db in databases)
    return f"""; Managed by Pulumi (platform:database). Transaction pooling in front of the primary.
[databases]
{dbs}

[pgbouncer]
listen_addr = *
listen_port = {POOLER_PORT}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {POOLER_RUN_DIR}/userlist.txt
stats_users = {STATS_USER}
pool_mode = {p.pool_mode}
max_client_conn = {p.max_client_conn}
default_pool_size = {p.default_pool_size}
min_pool_size = {p.min_pool_size}
reserve_pool_size = {p.reserve_pool_size}
reserve_pool_timeout = 5
max_db_connections = {cap}
server_idle_timeout = {p.server_idle_timeout_seconds}
server_lifetime = {p.server_lifetime_seconds}
query_wait_timeout = {p.query_wait_timeout_seconds}
client_idle_timeout = {p.client_idle_timeout_seconds}
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits
tcp_keepalive = 1
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
stats_period = 60

client_tls_sslmode = require
client_tls_cert_file = {POOLER_TLS_DIR}/tls.crt
client_tls_key_file = {POOLER_TLS_DIR}/tls.key
client_tls_protocols = {protocols}
server_tls_sslmode = verify-full
server_tls_ca_file = {POOLER_TLS_DIR}/ca.crt
server_tls_protocols = {protocols}
"""


def render_pooler_entrypoint() -> str:
    """Writes the userlist from the Secret's values into the memory volume (mode 0600), then runs PgBouncer.

    Plain passwords in the userlist let PgBouncer answer SCRAM from clients and log in to PostgreSQL with
    SCRAM itself; the file never exists outside the pod's memory.
    """
    return f"""#!/bin/sh
# Managed by Pulumi (platform:database): the userlist from the Secret, then PgBouncer in the foreground.
set -eu
umask 077
quote() {{ printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }}
{{
  printf '%s %s\\n' "$(quote "$APP_USER")" "$(quote "${ENV_APP_PASSWORD}")"
  printf '%s %s\\n' "$(quote {STATS_USER})" "$(quote "${ENV_STATS_PASSWORD}")"
}} > {POOLER_RUN_DIR}/userlist.txt
exec pgbouncer {POOLER_CONF_DIR}/{PGBOUNCER_INI}
"""
