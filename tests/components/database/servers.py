"""Real PostgreSQL 15 and PgBouncer started from the files the database package renders.

Only ports, paths and the ``-rw`` host are adapted (the TLS, conf and run directories move under a temp
root; PostgreSQL listens on localhost instead of ``*``); every parameter, hba line and pool setting is the
rendered one. The certificate is self-signed for ``localhost`` (what cert-manager would issue in the cluster).
Used by tests/components/database/test_pooler_real.py and bench/pooler.py.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from components.database import conf
from components.database.config import DatabaseArgs
from components.database.manifests import config_files, pooler_files
from components.platform.config import load_stack_file
from tests.functions.backup.conftest import PG_BIN, free_port, wait_port

REPO = Path(__file__).resolve().parents[3]
APP_PASSWORD = "AppPassw0rdForTheTestOnly"
STATS_PASSWORD = "StatsPassw0rdForTheTestOnly"
SUPERUSER_PASSWORD = "SuperPassw0rdForTheTestOnly"
NOFILE = 8192
"""Above max_client_conn (1000) x 2 sockets per client plus server connections."""


def prod_args() -> DatabaseArgs:
    """The prod stack's database section, as the Platform passes it (with WAL archiving)."""
    config = load_stack_file(REPO / "Pulumi.prod.yaml")
    assert config.database is not None and config.backup_jobs is not None
    return DatabaseArgs(
        settings=config.database,
        namespace=config.namespace,
        archive_conf_path=config.backup_jobs.wal_archive.conf_path,
    )


@dataclass
class Running:
    root: Path
    pg_port: int
    pooler_port: int
    app_user: str
    database: str
    files: dict[str, str]

    def dsn(self, *, pooled: bool, sslmode: str = "require") -> str:
        port = self.pooler_port if pooled else self.pg_port
        return (
            f"host=127.0.0.1 port={port} dbname={self.database} user={self.app_user} password={APP_PASSWORD} "
            f"sslmode={sslmode}"
        )

    def admin_dsn(self) -> str:
        return (
            f"host=127.0.0.1 port={self.pooler_port} dbname=pgbouncer user={conf.STATS_USER} "
            f"password={STATS_PASSWORD} sslmode=require"
        )

    def psql_superuser(self, sql: str, db: str = "postgres") -> str:
        """As the postgres OS user over the socket (pg_hba: local peer)."""
        out = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
             "-h", str(self.root), "-p", str(self.pg_port), "-d", db, "-c", sql],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout.strip()


def _as_postgres(path: Path) -> None:
    subprocess.run(["chown", "-R", "postgres:postgres", str(path)], check=True)


def _certificate(tls: Path) -> None:
    tls.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(tls / "tls.key"), "-out", str(tls / "tls.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    shutil.copy(tls / "tls.crt", tls / "ca.crt")
    _as_postgres(tls)
    (tls / "tls.key").chmod(0o600)


def adapt_postgresql_conf(text: str, root: Path, port: int) -> str:
    """Paths and port only; the socket directory is added (the image's default /var/run/postgresql is absent)."""
    text = text.replace(f"port = {conf.PG_PORT}\n", f"port = {port}\nunix_socket_directories = '{root}'\n")
    text = text.replace("listen_addresses = '*'", "listen_addresses = 'localhost'")
    text = text.replace(conf.TLS_DIR, str(root / "tls")).replace(conf.CONF_DIR, str(root / "conf"))
    return text.replace("/etc/postgresql/conf.d/", str(root / "conf.d") + "/")


def adapt_pgbouncer_ini(text: str, root: Path, port: int, pg_port: int, rw_host: str) -> str:
    text = text.replace(f"listen_port = {conf.POOLER_PORT}", f"listen_port = {port}")
    text = text.replace("listen_addr = *", "listen_addr = 127.0.0.1")
    text = text.replace(f"host={rw_host} port={conf.PG_PORT}", f"host=localhost port={pg_port}")
    text = text.replace(conf.POOLER_TLS_DIR, str(root / "tls")).replace(conf.POOLER_RUN_DIR, str(root / "run"))
    return text.replace(conf.POOLER_CONF_DIR, str(root / "conf"))


def _write_files(args: DatabaseArgs, files: dict[str, str], root: Path, pg_port: int, pooler_port: int) -> None:
    """The rendered files under ``root/conf`` with ports and paths adapted, and the test certificate."""
    from components.database.manifests import rw_name, service_dns

    (root / "conf").mkdir()
    (root / "run").mkdir()
    _certificate(root / "tls")
    conf_text = adapt_postgresql_conf(files[conf.POSTGRESQL_CONF], root, pg_port)
    (root / "conf" / conf.POSTGRESQL_CONF).write_text(conf_text)
    (root / "conf" / conf.PG_HBA).write_text(files[conf.PG_HBA])
    rw_host = service_dns(args, rw_name(args))
    ini = adapt_pgbouncer_ini(files[conf.PGBOUNCER_INI], root, pooler_port, pg_port, rw_host)
    (root / "conf" / conf.PGBOUNCER_INI).write_text(ini)
    entry = files[conf.POOLER_ENTRYPOINT].replace(conf.POOLER_RUN_DIR, str(root / "run"))
    entry = entry.replace(conf.POOLER_CONF_DIR, str(root / "conf"))
    (root / "conf" / conf.POOLER_ENTRYPOINT).write_text(entry)
    (root / "conf" / conf.INIT_SCRIPT).write_text(files[conf.INIT_SCRIPT])


@contextlib.contextmanager
def database_tier(args: DatabaseArgs | None = None) -> Iterator[Running]:
    """PostgreSQL (initdb, init-roles.sh) and PgBouncer (pooler-entrypoint.sh) from the rendered files."""
    args = args or prod_args()
    s = args.settings
    root = Path(tempfile.mkdtemp(prefix="db-tier-", dir="/tmp"))
    root.chmod(0o755)
    pg_port, pooler_port = free_port(), free_port()
    files = {**config_files(args), **pooler_files(args)}
    _write_files(args, files, root, pg_port, pooler_port)
    datadir = root / "data"
    datadir.mkdir()
    _as_postgres(root)
    pwfile = root / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD)
    _as_postgres(pwfile)
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(datadir), "-U", conf.SUPERUSER,
         "--pwfile", str(pwfile), "--auth-local=peer", "--auth-host=scram-sha-256", "--data-checksums", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    log = root / "pg.log"
    started = subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-w", "-t", "180", "-l",
         str(log), "-o", f"-c config_file={root / 'conf' / conf.POSTGRESQL_CONF} -c fsync=off", "start"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if started.returncode != 0:
        raise RuntimeError(f"pg_ctl start: {started.stderr} {log.read_text()[-3000:] if log.exists() else ''}")
    pooler: subprocess.Popen[bytes] | None = None
    try:
        env = {
            "PATH": "/usr/sbin:/usr/bin:/bin",
            "POSTGRES_USER": conf.SUPERUSER,
            "PGHOST": str(root),
            "PGPORT": str(pg_port),
            conf.ENV_REPLICATION_PASSWORD: "ReplPassw0rdForTheTestOnly",
            conf.ENV_APP_PASSWORD: APP_PASSWORD,
            conf.ENV_EXPORTER_PASSWORD: "ExporterPassw0rdForTheTestOnly",
        }
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "env", *(f"{k}={v}" for k, v in env.items()), "sh",
             str(root / "conf" / conf.INIT_SCRIPT)],
            check=True, capture_output=True,
        )  # fmt: skip
        pooler_env = {"PATH": "/usr/sbin:/usr/bin:/bin", "APP_USER": s.app_user,
                      conf.ENV_APP_PASSWORD: APP_PASSWORD, conf.ENV_STATS_PASSWORD: STATS_PASSWORD}  # fmt: skip
        pooler_log = root / "pgbouncer.log"
        with pooler_log.open("wb") as out:
            pooler = subprocess.Popen(
                ["prlimit", f"--nofile={NOFILE}:{NOFILE}", "runuser", "-u", "postgres", "--", "env",
                 *(f"{k}={v}" for k, v in pooler_env.items()), "sh", str(root / "conf" / conf.POOLER_ENTRYPOINT)],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_port(pooler_port, pooler, pooler_log)
        yield Running(root, pg_port, pooler_port, s.app_user, s.databases[0], files)
    finally:
        if pooler is not None and pooler.poll() is None:
            pooler.terminate()
            try:
                pooler.wait(20)
            except subprocess.TimeoutExpired:
                pooler.kill()
                pooler.wait()
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-m", "immediate",
             "-w", "stop"],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
