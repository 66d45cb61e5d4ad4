"""The commands, as plain functions returning JSON-able results (shared by the CLI and the Lambda handler)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from functions.backup import checksums, clock, fmt, retention, sources
from functions.backup.defaults import CLASSES, DEFAULT_MAX_CHAIN_DAYS, KINDS
from functions.backup.errors import BackupError, IntegrityError, UsageError
from functions.backup.keys import KeyRing, KeyWrapper, as_ring, recipients_of
from functions.backup.reader import (
    BackupInfo,
    OpenBackup,
    StreamDecoder,
    find_backup,
    id_time,
    load_manifest,
    parse_time,
    scan,
    verify,
)
from functions.backup.report import Reporter
from functions.backup.restore import (
    configure_pitr,
    default_restore_command,
    restore_database,
    restore_directory,
)
from functions.backup.stores import ObjectStore, open_store
from functions.backup.writer import DEFAULT_CHUNK, ZSTD_LEVEL, BackupWriter, WriteOptions, write_files, write_stream

Keys = KeyRing | KeyWrapper
"""The keys a command was given (``keys.wrapper_from_options``), or a single wrapper."""


def pick_backup(
    stores: list[ObjectStore], backup_class: str | None, backup_id: str | None, kind: str | None
) -> BackupInfo:
    """The named or newest complete backup, restricted to ``kind`` (a --kind value) when given.

    Without a kind the newest backup of any kind wins, which in a db class with WAL archiving may be a
    pg_basebackup: a weekly database restore test must say ``--kind dump`` to be deterministic.
    """
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind {kind}: allowed: {', '.join(KINDS)}")
    wanted = KINDS[kind] if kind else None
    if backup_id:
        info = find_backup(stores, backup_class, backup_id)
        got = info.manifest["kind"] if info.manifest else None
        if wanted and got != wanted:
            raise UsageError(f"--backup {backup_id} is a {got} backup, not --kind {kind} ({wanted})")
        return info
    return find_backup(stores, backup_class, None, kind=wanted)


def open_stores(targets: list[str]) -> list[ObjectStore]:
    if not targets:
        raise UsageError("--target is required (file://, s3://, azblob:// or gs:// URI)")
    return [open_store(t) for t in targets]


def _public(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "backup_id": manifest["backup_id"],
        "class": manifest["class"],
        "kind": manifest["kind"],
        "finished_at": manifest["finished_at"],
        "duration_s": manifest["duration_s"],
        "sizes": manifest["sizes"],
        "merkle_root": manifest["merkle_root"],
        "targets_ok": manifest.get("_targets_ok", []),
        "targets_failed": manifest.get("_targets_failed", {}),
    }


def _check_targets(stores: list[ObjectStore], backup_class: str, require_versioning: bool, lock_days: int) -> None:
    for store in stores:
        store.check(require_versioning=require_versioning, require_lock=lock_days > 0)


def backup(
    *,
    stores: list[ObjectStore],
    wrapper: Keys,
    reporter: Reporter,
    backup_class: str,
    source_url: str | None,
    source_dir: str | None,
    pg_kind: str = "dump",
    lock_days: int = 0,
    lock_mode: str = "COMPLIANCE",
    require_versioning: bool | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    threads: int = 0,
    level: int = ZSTD_LEVEL,
    child: sources.Child | None = None,
    table_checksums: bool = False,
) -> dict[str, Any]:
    """A full backup. ``child``: the pg_dump / pg_basebackup the CLI already started for ``source_url``
    (so its start-up overlapped ours); started here when not given. ``table_checksums`` (pg_dump only): the dump
    runs on an exported snapshot that a second session checksums meanwhile (``checksums.table_checksums``), and the
    manifest records them, the reference a restore drill compares with."""
    if table_checksums and (not source_url or pg_kind != "dump"):
        raise UsageError("--table-checksums needs --source postgresql://… with --pg-kind dump")
    if backup_class not in CLASSES:
        raise UsageError(f"--class {backup_class}: allowed: {', '.join(CLASSES)}")
    if bool(source_url) == bool(source_dir):
        raise UsageError("give exactly one of --source postgresql://… or --source-dir PATH")
    need_versioning = retention.REQUIRES_VERSIONING[backup_class] if require_versioning is None else require_versioning
    _check_targets(stores, backup_class, need_versioning, lock_days)
    lock_until = clock.now() + dt.timedelta(days=lock_days) if lock_days > 0 else None
    kind, source_info, shown = _describe_source(source_url, source_dir, pg_kind)
    opts = WriteOptions(
        backup_class, kind, source_info, chunk_size, threads, lock_until, level=level, lock_mode=lock_mode
    )
    writer = BackupWriter(stores, wrapper, opts, reporter)
    reporter.event("backup_started", backup_id=writer.backup_id, source=shown, kind=kind)
    session = SnapshotChecksums(source_url) if source_url and table_checksums else None
    try:
        if source_url:
            if session is not None:
                child = sources.pg_dump(source_url, session.snapshot)
                session.start()
            elif child is None:
                child = sources.pg_basebackup(source_url) if kind == "pg_basebackup" else sources.pg_dump(source_url)
            extra = session.result if session is not None else None
            manifest = write_stream(writer, child.stdout, before_final=child.finish, extra_body=extra)
        else:
            root = Path(str(source_dir))
            dedup = fmt.derive(writer.data_key, "dedup")
            manifest = write_files(writer, root, parent=None, dedup_key=dedup, keys={}, chain_base=writer.backup_id)
    except BaseException:
        if child is not None:
            child.kill()
        writer.abort()
        raise
    finally:
        if session is not None:
            session.close()
    result = _public(manifest)
    if "table_checksums" in manifest:
        result["tables"] = len(manifest["table_checksums"])
    return result


def _describe_source(source_url: str | None, source_dir: str | None, pg_kind: str) -> tuple[str, dict[str, Any], str]:
    """(manifest kind, manifest source, what the log shows: the URL without its password)."""
    if source_url:
        sources.check_pg_url(source_url, "--source")
        kind = "pg_basebackup" if pg_kind == "base" else "pg_dump"
        info = sources.pg_source_info(source_url, kind)
        return kind, info, str(info["url"])
    root = Path(source_dir or "")
    if not root.is_dir():
        raise UsageError(f"--source-dir {root}: not a directory")
    return "dir", {"kind": "dir", "path": str(root.resolve())}, str(root)


class SnapshotChecksums:
    """A read-only REPEATABLE READ transaction on the source: pg_dump dumps its exported snapshot while this
    session checksums every table in the same snapshot (one thread), so the recorded checksums describe exactly
    the dumped data."""

    def __init__(self, url: str) -> None:
        import psycopg

        try:
            self.conn = psycopg.connect(url, autocommit=False, connect_timeout=30)
            self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            self.conn.read_only = True
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_export_snapshot()")
                row = cur.fetchone()
        except psycopg.Error as err:
            raise BackupError(f"table checksums on {sources.redact(url)}: {str(err).strip()}") from None
        self.snapshot = str(row[0]) if row else ""
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="checksums")
        self._future: Future[dict[str, Any]] | None = None

    def start(self) -> None:
        self._future = self._pool.submit(checksums.table_checksums, self.conn)

    def result(self) -> dict[str, Any]:
        """``{"table_checksums": ...}`` once the checksum pass is done (called when the dump has ended)."""
        import psycopg

        if self._future is None:
            raise BackupError("table checksums were never started")
        try:
            return {"table_checksums": self._future.result()}
        except psycopg.Error as err:
            raise BackupError(f"table checksums failed: {str(err).strip()}") from None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self.conn.rollback()
        self.conn.close()


def incremental(
    *,
    stores: list[ObjectStore],
    wrapper: Keys,
    reporter: Reporter,
    backup_class: str,
    source_dir: str,
    parent_id: str | None = None,
    max_chain_days: int = DEFAULT_MAX_CHAIN_DAYS,
    lock_days: int = 0,
    lock_mode: str = "COMPLIANCE",
    require_versioning: bool | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    level: int = ZSTD_LEVEL,
) -> dict[str, Any]:
    """A files-layout backup that re-uploads only the pieces whose keyed MAC changed since the parent.

    ``max_chain_days`` (0: no limit) rebases the chain: once the oldest object the parent still references is
    that old, this run is a full backup instead. Bucket lifecycles expire objects by age, so without it a chunk
    written by the chain's first backup and never changed since is deleted while every newer manifest still
    points at it; with it nothing a kept backup references is older than retention + ``max_chain_days``.
    """
    root = Path(source_dir)
    if not root.is_dir():
        raise UsageError(f"--source-dir {root}: not a directory")
    if max_chain_days < 0:
        raise UsageError(f"--max-chain-days {max_chain_days}: allowed 0 (no limit) or more days")
    full = {
        "stores": stores,
        "wrapper": wrapper,
        "reporter": reporter,
        "backup_class": backup_class,
        "source_url": None,
        "source_dir": source_dir,
        "lock_days": lock_days,
        "lock_mode": lock_mode,
        "require_versioning": require_versioning,
        "chunk_size": chunk_size,
        "level": level,
    }
    try:
        parent_info = find_backup(stores[:1], backup_class, parent_id, kind="dir")
    except BackupError:
        if parent_id:
            raise
        reporter.event("incremental_without_parent", note="no previous dir backup: taking a full one")
        return {**backup(**full), "chain": "new"}
    oldest = oldest_reference(parent_info.manifest or {})
    if max_chain_days and oldest is not None and clock.now() - oldest > dt.timedelta(days=max_chain_days):
        reporter.event(
            "chain_rebased",
            parent=parent_info.backup_id,
            oldest_reference=oldest.isoformat(),
            max_chain_days=max_chain_days,
        )
        return {**backup(**full), "chain": "rebased", "previous_oldest_reference": oldest.isoformat()}
    return _incremental_on(parent_info, root, full)


def oldest_reference(manifest: dict[str, Any]) -> dt.datetime | None:
    """When the oldest object a files-layout manifest points at was written: the earliest of its chain base and
    the origin backups of its chunk references (a backup id carries its start time, which is never later than
    the object's own creation, so ages measured from it are never understated)."""
    origins = {manifest.get("chain_base") or manifest.get("backup_id") or ""}
    origins |= {ref["b"] for entry in manifest.get("files", []) for ref in entry.get("chunks", [])}
    times = [t for t in (id_time(origin) for origin in origins if origin) if t is not None]
    return min(times, default=None)


def _incremental_on(parent_info: BackupInfo, root: Path, full: dict[str, Any]) -> dict[str, Any]:
    """The incremental proper: the parent's chain, extended by the pieces that changed since it."""
    stores, wrapper, reporter = full["stores"], full["wrapper"], full["reporter"]
    backup_class, chunk_size, level = full["backup_class"], full["chunk_size"], full["level"]
    lock_days, lock_mode, require_versioning = full["lock_days"], full["lock_mode"], full["require_versioning"]
    parent = OpenBackup(parent_info.store, backup_class, parent_info.backup_id, wrapper)
    if parent.manifest["chunk_size"] != chunk_size:
        chunk_size = parent.manifest["chunk_size"]
    need_versioning = retention.REQUIRES_VERSIONING[backup_class] if require_versioning is None else require_versioning
    _check_targets(stores, backup_class, need_versioning, lock_days)
    lock_until = clock.now() + dt.timedelta(days=lock_days) if lock_days > 0 else None
    opts = WriteOptions(
        backup_class,
        "dir",
        {"kind": "dir", "path": str(root.resolve())},
        chunk_size,
        0,
        lock_until,
        level=level,
        lock_mode=lock_mode,
    )
    writer = BackupWriter(stores, wrapper, opts, reporter)
    # The chain's key blocks, each given a recipient for every key of this run that it lacks (a key added
    # to the job later still opens the whole chain); blocks that already have them are copied unchanged.
    ring = as_ring(wrapper)
    ancestors = {**parent.manifest.get("keys", {}), parent.backup_id: parent.manifest["key"]}
    keys = {bid: ring.extend_block(block, parent.data_key(bid)) for bid, block in ancestors.items()}
    reporter.event("incremental_started", backup_id=writer.backup_id, parent=parent.backup_id)
    try:
        manifest = write_files(
            writer,
            root,
            parent=parent.manifest,
            dedup_key=parent.dedup_key,
            keys=keys,
            chain_base=parent.manifest.get("chain_base") or parent.backup_id,
        )
    except BaseException:
        writer.abort()
        raise
    result = _public(manifest)
    result["parent"] = parent.backup_id
    result["reused_chunks"] = manifest["reused_chunks"]
    result["new_chunks"] = manifest["sizes"]["chunks"]
    result["chain"] = "extended"
    return result


def list_backups(stores: list[ObjectStore], backup_class: str | None, include_incomplete: bool) -> list[dict[str, Any]]:
    rows = []
    for store in stores:
        for info in scan(store, backup_class):
            if info.backup_class == "wal" and backup_class != "wal":
                continue
            if not info.complete and not include_incomplete:
                continue
            row: dict[str, Any] = {
                "target": store.uri,
                "class": info.backup_class,
                "backup_id": info.backup_id,
                "status": "complete" if info.complete else "incomplete",
            }
            if info.manifest:
                m = info.manifest
                row |= {
                    "kind": m["kind"],
                    "finished_at": m["finished_at"],
                    "source_bytes": m["sizes"]["source_bytes"],
                    "stored_bytes": m["sizes"]["stored_bytes"],
                    "chunks": m["sizes"]["chunks"],
                    "parent": m.get("parent"),
                    "key_id": m["key"]["key_id"],
                    "key_ids": [r["key_id"] for r in recipients_of(m["key"])],
                }
            rows.append(row)
    return rows


def verify_backups(
    stores: list[ObjectStore],
    wrapper: Keys,
    backup_class: str | None,
    backup_id: str | None,
    reporter: Reporter,
) -> list[dict[str, Any]]:
    """Verifies the named (or newest) backup on every target; each target is judged on its own."""
    results = []
    for store in stores:
        try:
            info = find_backup([store], backup_class, backup_id)
            opened = OpenBackup(store, info.backup_class, info.backup_id, wrapper)
            problems = verify(opened)
            bid = info.backup_id
        except BackupError as err:
            problems, bid = [str(err)], backup_id
        for problem in problems:
            reporter.event("verify_problem", level="error", target=store.uri, problem=problem)
        results.append({"target": store.uri, "backup_id": bid, "ok": not problems, "problems": problems})
    return results


def restore(
    *,
    stores: list[ObjectStore],
    wrapper: Keys,
    reporter: Reporter,
    to: str,
    backup_class: str | None,
    backup_id: str | None,
    kind: str | None = None,
    pitr: str | None = None,
    restore_command: str | None = None,
    key_args: list[str] | None = None,
    targets: list[str] | None = None,
) -> dict[str, Any]:
    """Restore a backup to a new database or an empty directory; with ``pitr``, a base backup plus a
    ``restore_command`` (``key_args``: the key flags it passes to ``wal-fetch``) that replays WAL to a time."""
    if pitr:
        try:
            when = parse_time(pitr)
        except ValueError:
            raise UsageError(f"--pitr {pitr}: not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)") from None
        if to.startswith(("postgresql://", "postgres://")):
            raise UsageError("--pitr restores a whole cluster: --to must be a data directory path")
        if kind not in (None, "base"):
            raise UsageError(f"--pitr starts from a base backup: --kind {kind} is not allowed (use base or omit it)")
        info = _base_before(stores, when, backup_id)
        opened = OpenBackup(info.store, info.backup_class, info.backup_id, wrapper)
        result = restore_directory(opened, Path(to), reporter)
        command = restore_command or default_restore_command(targets or [s.uri for s in stores], key_args or [])
        configure_pitr(Path(to), when.isoformat(), command)
        return {
            **result,
            "base_backup": info.backup_id,
            "recovery_target_time": when.isoformat(),
            "next": "start PostgreSQL on this directory: it replays archived WAL up to the target and promotes",
        }
    info = pick_backup(stores, backup_class, backup_id, kind)
    opened = OpenBackup(info.store, info.backup_class, info.backup_id, wrapper)
    reporter.event("restore_started", backup_id=info.backup_id, source=info.store.uri)
    if to.startswith(("postgresql://", "postgres://")):
        result = restore_database(opened, to, reporter)
    elif "://" in to:
        raise UsageError(f"--to {to}: expected postgresql://… or a directory path")
    else:
        result = restore_directory(opened, Path(to), reporter)
    return {**result, "backup_id": info.backup_id, "from": info.store.uri}


def _base_before(stores: list[ObjectStore], when: dt.datetime, backup_id: str | None) -> Any:
    if backup_id:
        return find_backup(stores, "db", backup_id, kind="pg_basebackup")
    for store in stores:
        bases = [
            i
            for i in scan(store, "db")
            if i.manifest and i.manifest["kind"] == "pg_basebackup" and i.finished_at and i.finished_at <= when
        ]
        if bases:
            return bases[-1]
    raise BackupError(f"no base backup (pg_basebackup) finished before {when.isoformat()}")


def test_restore(
    *,
    stores: list[ObjectStore],
    wrapper: Keys,
    reporter: Reporter,
    backup_class: str | None,
    backup_id: str | None,
    server: str | None,
    kind: str | None = None,
) -> dict[str, Any]:
    """Restores into a scratch database or directory, checks it, and removes it again.

    ``kind`` (dump|base|dir) restricts the choice: a pg_dump goes into the scratch server, a base
    backup or a directory tree is unpacked into a temporary directory.
    """
    info = pick_backup(stores, backup_class, backup_id, kind)
    opened = OpenBackup(info.store, info.backup_class, info.backup_id, wrapper)
    if opened.manifest["kind"] == "pg_dump":
        if not server:
            raise UsageError("test-restore of a pg_dump backup needs --to postgresql://host:port/ (a scratch server)")
        sources.check_pg_url(server, "--to")
        scratch = f"restoretest_{info.backup_id[-6:]}"
        url = sources.urlunparse(sources.urlparse(server)._replace(path="/" + scratch))
        restore_database(opened, url, reporter)
        try:
            tables = int(
                sources.psql(
                    url, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema')"
                )
            )
        finally:
            maint = sources.urlunparse(sources.urlparse(server)._replace(path="/postgres"))
            sources.psql(maint, f'DROP DATABASE IF EXISTS "{scratch}"')
        return {"backup_id": info.backup_id, "kind": "pg_dump", "ok": True, "tables": tables}
    scratch_dir = Path(tempfile.mkdtemp(prefix="restoretest-")) / "data"
    try:
        restore_directory(opened, scratch_dir, reporter)
        files = sum(1 for p in scratch_dir.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(scratch_dir.parent, ignore_errors=True)
    return {"backup_id": info.backup_id, "kind": opened.manifest["kind"], "ok": True, "files": files}


def prune(
    stores: list[ObjectStore],
    classes: list[str],
    *,
    keep_days: int | None,
    keep_last: int,
    do_apply: bool,
    reporter: Reporter,
) -> list[dict[str, Any]]:
    days = {c: keep_days if keep_days is not None else retention.RETENTION_DAYS[c] for c in classes}
    rows = []
    for store in stores:
        for decision in retention.plan(store, classes, keep_days=days, keep_last=keep_last):
            done = False
            if decision.action == "delete" and do_apply:
                retention.apply(store, decision)
                done = True
            row = {
                "target": store.uri,
                "class": decision.info.backup_class,
                "backup_id": decision.info.backup_id,
                "action": decision.action,
                "reason": decision.reason,
                "deleted": done,
            }
            reporter.event("prune", **row)
            rows.append(row)
    return rows


def wal_push(stores: list[ObjectStore], wrapper: Keys, reporter: Reporter, path: str) -> dict[str, Any]:
    """archive_command: one WAL file as a tiny backup of class ``wal`` named after the file."""
    src = Path(path)
    if not src.is_file():
        raise UsageError(f"wal-push {path}: no such file")
    name = src.name
    pending = []
    for store in stores:
        if store.exists(f"wal/{name}/manifest.json"):
            existing = _fetch_wal(store, wrapper, name)
            if existing != src.read_bytes():
                raise BackupError(f"{store.uri}: wal/{name} already archived with different content")
            continue
        pending.append(store)
    if not pending:
        return {"wal": name, "status": "already archived"}
    opts = WriteOptions("wal", "wal", {"kind": "wal", "file": name}, threads=1, backup_id=name, sha256sums=False)
    writer = BackupWriter(pending, wrapper, opts, reporter)
    with src.open("rb") as handle:
        manifest = write_stream(writer, handle, before_final=lambda: None)
    if manifest["_targets_failed"]:
        raise BackupError(f"wal-push {name}: failed on {', '.join(manifest['_targets_failed'])}")
    return {"wal": name, "status": "archived", "stored_bytes": manifest["sizes"]["stored_bytes"]}


def _fetch_wal(store: ObjectStore, wrapper: Keys, name: str) -> bytes:
    opened = OpenBackup(store, "wal", name, wrapper)
    decoder = StreamDecoder()
    out = b"".join(piece for chunk in opened.stream_chunks() for piece in decoder.feed(chunk))
    decoder.close()
    return out


def wal_fetch(stores: list[ObjectStore], wrapper: Keys, name: str, dest: str) -> dict[str, Any]:
    """restore_command: exit 1 (quietly) when the file was never archived, as PostgreSQL expects."""
    for store in stores:
        if not store.exists(f"wal/{name}/manifest.json"):
            continue
        data = _fetch_wal(store, wrapper, name)
        target = Path(dest)
        tmp = target.with_name(target.name + ".fetching")
        tmp.write_bytes(data)
        tmp.replace(target)
        return {"wal": name, "bytes": len(data), "from": store.uri}
    raise BackupError(f"wal-fetch {name}: not archived on any target")


def manifest_of(store: ObjectStore, backup_class: str, backup_id: str) -> dict[str, Any]:
    """The raw manifest (tests and tools); never includes a plaintext key."""
    manifest = load_manifest(store, backup_class, backup_id)
    for recipient in recipients_of(manifest["key"]):
        base64.b64decode(recipient["wrapped"])  # shape check
    return manifest


__all__ = ["IntegrityError", "backup", "incremental", "list_backups", "prune", "restore", "verify_backups"]
