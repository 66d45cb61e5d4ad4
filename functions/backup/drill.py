"""The restore drill: prove, on a schedule, that the newest backups restore and how old their data is.

1. The newest ``pg_dump`` of class db is restored into a scratch database on a scratch server; its per-table
   checksums must equal the ones recorded in the dump's own snapshot (``backup --table-checksums``).
2. A point-in-time restore to a recent time (``--pitr`` or now - ``--pitr-age-seconds``): the newest base
   backup before it, archived WAL replayed by a temporary PostgreSQL on a scratch directory (no archiving, no
   TCP listener, its own pg_hba: it can never write to the vaults or take clients), promoted at the target.
   Every table of the dump must exist there; the last replayed commit must not be after the target.
3. Restore time of each path, the data age (now - the last replayed commit, or the dump's start), and the
   drill's duration are returned and pushed as ``dr_drill_*`` gauges (Pushgateway group ``job=dr_drill``).
   A failed drill pushes ``dr_drill_success 0`` and its run time only, so ``dr_drill_last_success_timestamp_seconds``
   keeps the last success and the staleness alert keeps counting from it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.backup import checksums, clock, sources
from functions.backup.errors import BackupError, UsageError
from functions.backup.keys import KeyRing, KeyWrapper
from functions.backup.reader import OpenBackup, parse_time
from functions.backup.report import Reporter
from functions.backup.stores import ObjectStore

METRICS = {
    "dr_drill_last_success_timestamp_seconds": "Unix time the last successful restore drill finished.",
    "dr_drill_last_run_timestamp_seconds": "Unix time the last restore drill (successful or not) finished.",
    "dr_drill_success": "1 when the last restore drill passed every check, else 0.",
    "dr_drill_duration_seconds": "Duration of the last successful restore drill.",
    "dr_drill_restore_seconds": "Restore time of the last successful drill, per path (dump, pitr).",
    "dr_drill_data_age_seconds": "Age of the newest data the last successful drill restored, per path.",
}
"""The series a drill pushes (the Pushgateway monitor declares these names)."""


@dataclass
class DrillOptions:
    server: str
    """Scratch server URL (postgresql://user:pw@host:port/) for the dump restore; never the source."""
    pitr: str | None = None
    pitr_age_seconds: int = 300
    work_dir: str | None = None
    run_as: str | None = None
    pg_user: str = "postgres"
    restore_command: str | None = None
    startup_timeout_seconds: int = 1800
    key_args: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)


def run_drill(
    stores: list[ObjectStore], wrapper: KeyRing | KeyWrapper, reporter: Reporter, opts: DrillOptions
) -> dict[str, Any]:
    """Both restore paths and their checks; ``ok`` is False when any check failed (nothing is left behind)."""
    sources.check_pg_url(opts.server, "--to")
    started = time.monotonic()
    dump = _dump_path(stores, wrapper, reporter, opts)
    pitr = _pitr_path(
        stores, wrapper, reporter, opts, reference=dump["reference"], database=dump["database"] or "postgres"
    )
    problems = [*dump["problems"], *pitr["problems"]]
    result = {
        "ok": not problems,
        "problems": problems,
        "duration_seconds": round(time.monotonic() - started, 3),
        "dump": {k: v for k, v in dump.items() if k != "reference"},
        "pitr": pitr,
    }
    reporter.event("drill_finished", ok=result["ok"], problems=len(problems), duration_s=result["duration_seconds"])
    return result


def _dump_path(
    stores: list[ObjectStore], wrapper: KeyRing | KeyWrapper, reporter: Reporter, opts: DrillOptions
) -> dict[str, Any]:
    from functions.backup.commands import pick_backup
    from functions.backup.restore import restore_database

    info = pick_backup(stores, "db", None, "dump")
    opened = OpenBackup(info.store, info.backup_class, info.backup_id, wrapper)
    reference = opened.manifest.get("table_checksums")
    scratch = f"drill_{info.backup_id[-6:]}"
    url = sources.urlunparse(sources.urlparse(opts.server)._replace(path="/" + scratch))
    maint = sources.urlunparse(sources.urlparse(opts.server)._replace(path="/postgres"))
    sources.psql(maint, f'DROP DATABASE IF EXISTS "{scratch}"')  # a crashed drill's leftover
    t0 = time.monotonic()
    try:
        restore_database(opened, url, reporter)
        seconds = time.monotonic() - t0
        restored = _checksums(url)
    finally:
        sources.psql(maint, f'DROP DATABASE IF EXISTS "{scratch}"')
    problems = (
        [f"dump {info.backup_id}: {p}" for p in checksums.compare(reference, restored)]
        if reference is not None
        else [f"dump {info.backup_id}: no table checksums recorded (take db dumps with --table-checksums)"]
    )
    taken = parse_time(opened.manifest["started_at"])
    return {
        "backup_id": info.backup_id,
        "restore_seconds": round(seconds, 3),
        "data_age_seconds": round((clock.now() - taken).total_seconds(), 3),
        "tables": len(restored),
        "rows": {t: c["rows"] for t, c in restored.items()},
        "problems": problems,
        "reference": reference or {},
        "database": opened.manifest["source"].get("database"),
    }


@dataclass
class _Scratch:
    """A temporary PostgreSQL on a restored data directory, reachable only through its private socket."""

    root: Path
    datadir: Path
    port: int
    run_as: str | None

    def _as_user(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else argv

    def start(self, timeout: int) -> None:
        sock = self.root / "sock"
        sock.mkdir(mode=0o700, exist_ok=True)
        hba = self.root / "drill_hba.conf"
        hba.write_text("local all all trust\n")
        if self.run_as:
            subprocess.run(["chown", "-R", f"{self.run_as}:", str(self.root)], check=True)
        options = " ".join(
            [
                f"-c port={self.port}",
                "-c listen_addresses=''",
                f"-c unix_socket_directories={sock}",
                f"-c hba_file={hba}",
                "-c archive_mode=off",  # a restored cluster must never ship WAL into the production archive
                "-c ssl=off",
                "-c hot_standby=off",  # no connections before promotion; lets the drill use less memory
                "-c shared_buffers=128MB",
            ]
        )
        argv = [sources.pg_tool("pg_ctl"), "-D", str(self.datadir), "-l", str(self.root / "server.log")]
        proc = subprocess.run(
            self._as_user([*argv, "-w", "-t", str(timeout), "-o", options, "start"]),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BackupError(f"scratch PostgreSQL did not start: {proc.stderr.strip()} {self.log_tail()}")

    def log_tail(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def url(self, user: str, database: str) -> str:
        return f"postgresql://{user}@/{database}?host={self.root / 'sock'}&port={self.port}"

    def stop(self) -> None:
        argv = [sources.pg_tool("pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"]
        subprocess.run(self._as_user(argv), capture_output=True, check=False)


def _pitr_path(
    stores: list[ObjectStore],
    wrapper: KeyRing | KeyWrapper,
    reporter: Reporter,
    opts: DrillOptions,
    *,
    reference: dict[str, Any],
    database: str,
) -> dict[str, Any]:
    """The newest base backup before the target plus archived WAL, replayed and promoted on a scratch server;
    ``database`` (the dump's source database) is the one whose tables are compared with the dump's."""
    from functions.backup.commands import restore

    target = _pitr_target(opts)
    root = Path(tempfile.mkdtemp(prefix="drill-pitr-", dir=opts.work_dir))
    root.chmod(0o755)
    scratch = _Scratch(root, root / "data", _free_port(), opts.run_as)
    t0 = time.monotonic()
    try:
        restored = restore(
            stores=stores,
            wrapper=wrapper,
            reporter=reporter,
            to=str(scratch.datadir),
            backup_class="db",
            backup_id=None,
            pitr=target.isoformat(),
            restore_command=opts.restore_command,
            key_args=opts.key_args,
            targets=opts.targets,
        )
        scratch.start(opts.startup_timeout_seconds)
        try:
            found = _promoted_state(scratch, opts, database)
        finally:
            scratch.stop()
        seconds = time.monotonic() - t0
    finally:
        shutil.rmtree(root, ignore_errors=True)
    last = found["last_replayed_commit"]
    problems = [f"pitr: {t}: missing (it is in the newest dump)" for t in sorted(set(reference) - set(found["tables"]))]
    if last is not None and last > target:
        problems.append(f"pitr: replayed a commit at {last.isoformat()}, after the target {target.isoformat()}")
    return {
        "base_backup": restored["base_backup"],
        "target": target.isoformat(),
        "restore_seconds": round(seconds, 3),
        "last_replayed_commit": last.isoformat() if last else None,
        "data_age_seconds": round((clock.now() - last).total_seconds(), 3) if last else None,
        "tables": len(found["tables"]),
        "rows": {t: c["rows"] for t, c in found["tables"].items()},
        "changed_since_dump": sorted(t for t, c in found["tables"].items() if reference.get(t, c) != c),
        "problems": problems,
    }


def _pitr_target(opts: DrillOptions) -> dt.datetime:
    if opts.pitr:
        try:
            return parse_time(opts.pitr)
        except ValueError:
            raise UsageError(f"--pitr {opts.pitr}: not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)") from None
    return clock.now() - dt.timedelta(seconds=opts.pitr_age_seconds)


def _promoted_state(scratch: _Scratch, opts: DrillOptions, database: str) -> dict[str, Any]:
    """Waits until recovery ended (connections are refused until the promotion), then reads what was replayed."""
    import psycopg

    deadline = time.monotonic() + opts.startup_timeout_seconds
    url = scratch.url(opts.pg_user, database)
    while True:
        try:
            with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
                row = conn.execute("SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()").fetchone()
                if row is not None and not row[0]:
                    conn.autocommit = False
                    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                    return {"last_replayed_commit": row[1], "tables": checksums.table_checksums(conn)}
        except psycopg.OperationalError as err:
            if time.monotonic() > deadline:
                raise BackupError(
                    f"pitr: the scratch server never accepted connections: {err} {scratch.log_tail()}"
                ) from None
        if time.monotonic() > deadline:
            raise BackupError(f"pitr: recovery did not finish in {opts.startup_timeout_seconds} s {scratch.log_tail()}")
        time.sleep(1)


def _checksums(url: str) -> dict[str, dict[str, Any]]:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=30) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            return checksums.table_checksums(conn)
    except psycopg.Error as err:
        raise BackupError(f"checksums on {sources.redact(url)}: {str(err).strip()}") from None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def push_drill_metrics(base_url: str, result: dict[str, Any] | None, timeout: float = 10) -> None:
    """POST to ``job=dr_drill``: on success every series; on failure ``dr_drill_success 0`` and the run time
    only (POST replaces just the names it carries, so the last success's series survive)."""
    import urllib.request

    now = time.time()
    values: dict[str, float] = {"dr_drill_last_run_timestamp_seconds": now}
    if result is not None and result.get("ok"):
        values |= {
            "dr_drill_success": 1,
            "dr_drill_last_success_timestamp_seconds": now,
            "dr_drill_duration_seconds": float(result["duration_seconds"]),
        }
        for path in ("dump", "pitr"):
            values[f'dr_drill_restore_seconds{{path="{path}"}}'] = float(result[path]["restore_seconds"])
            age = result[path].get("data_age_seconds")
            if age is not None:
                values[f'dr_drill_data_age_seconds{{path="{path}"}}'] = float(age)
    else:
        values["dr_drill_success"] = 0
    lines: list[str] = []
    for metric, help_text in METRICS.items():
        series = sorted(k for k in values if k.split("{", 1)[0] == metric)
        if series:
            lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge"]
            lines += [f"{k} {values[k]:.17g}" for k in series]
    body = ("\n".join(lines) + "\n").encode()
    req = urllib.request.Request(f"{base_url.rstrip('/')}/metrics/job/dr_drill", data=body, method="POST")
    req.add_header("Content-Type", "text/plain; version=0.0.4")
    with contextlib.closing(urllib.request.urlopen(req, timeout=timeout)):
        pass
