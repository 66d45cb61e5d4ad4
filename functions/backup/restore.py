"""Restoring: into a new PostgreSQL database, into a directory, or a cluster to a point in time.

Nothing half-restored is ever left under the requested name: a database is restored under a temporary
name and renamed on success (dropped on failure); a directory is written beside the target and renamed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from functions.backup import sources
from functions.backup.errors import BackupError, IntegrityError, UsageError
from functions.backup.reader import OpenBackup, StreamDecoder
from functions.backup.report import Reporter

_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


def _pump(opened: OpenBackup, child: sources.Child, reporter: Reporter) -> int:
    """Streams decrypted, decompressed bytes into a child's stdin; returns bytes written."""
    decoder = StreamDecoder()
    total = opened.manifest["sizes"]["source_bytes"]
    try:
        for data in opened.stream_chunks():
            for out in decoder.feed(data):
                child.stdin.write(out)
            reporter.progress(decoder.out_bytes, total)
        decoder.close()
    except BrokenPipeError:
        child.finish()  # raises with the child's own message
        raise BackupError(f"{child.role} stopped reading early") from None
    child.finish()
    return decoder.out_bytes


def restore_database(opened: OpenBackup, url: str, reporter: Reporter) -> dict[str, Any]:
    if opened.manifest["kind"] != "pg_dump":
        raise UsageError(
            f"--to {sources.redact(url)}: backup {opened.backup_id} is a "
            f"{opened.manifest['kind']}, not a pg_dump; restore it to a directory"
        )
    name = urlparse(url).path.lstrip("/")
    if not _DB_NAME.match(name):
        raise UsageError(f"--to {sources.redact(url)}: database name must match {_DB_NAME.pattern}")
    maint = _with_db(url, "postgres")
    if sources.psql(maint, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        raise BackupError(
            f"--to {sources.redact(url)}: database {name!r} already exists; restore creates "
            "a new database (pick another name or drop it first)"
        )
    temp = f"{name[:40]}__restoring_{opened.backup_id[-6:]}"
    sources.psql(maint, f'DROP DATABASE IF EXISTS "{temp}"')
    sources.psql(maint, f'CREATE DATABASE "{temp}"')
    child = sources.pg_restore(_with_db(url, temp))
    try:
        written = _pump(opened, child, reporter)
    except BaseException:
        child.kill()
        sources.psql(maint, f'DROP DATABASE IF EXISTS "{temp}"')
        raise
    sources.psql(maint, f'ALTER DATABASE "{temp}" RENAME TO "{name}"')
    return {"restored_to": sources.redact(url), "bytes": written}


def _fresh_dir(target: Path, backup_id: str) -> Path:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"--to {target}: exists and is not an empty directory")
    partial = target.with_name(f".{target.name}.partial-{backup_id[-6:]}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True, mode=0o700)
    except OSError as err:
        raise BackupError(f"--to {target}: cannot create {partial}: {err.strerror}") from None
    return partial


def _commit_dir(partial: Path, target: Path) -> None:
    if target.exists():
        target.rmdir()
    partial.rename(target)


def restore_directory(opened: OpenBackup, target: Path, reporter: Reporter) -> dict[str, Any]:
    partial = _fresh_dir(target, opened.backup_id)
    try:
        if opened.manifest["layout"] == "stream":
            if opened.manifest["kind"] not in ("pg_basebackup", "tar"):
                raise UsageError(f"--to {target}: a {opened.manifest['kind']} backup restores to a database")
            written = _pump(opened, sources.tar_extract(partial), reporter)
        else:
            written = _restore_files(opened, partial, reporter)
    except OSError as err:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError(f"restore to {target} failed: {err.strerror or err}; nothing was kept") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _commit_dir(partial, target)
    return {"restored_to": str(target), "bytes": written}


def _restore_files(opened: OpenBackup, root: Path, reporter: Reporter) -> int:
    written = 0
    total = opened.manifest["sizes"]["source_bytes"]
    dirs: list[tuple[Path, int]] = []
    for entry in opened.manifest["files"]:
        path = root / entry["path"]
        if ".." in Path(entry["path"]).parts or Path(entry["path"]).is_absolute():
            raise IntegrityError(f"manifest path {entry['path']!r} escapes the restore directory")
        if entry.get("dir"):
            path.mkdir(parents=True, exist_ok=True)
            dirs.append((path, entry["mode"]))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if "link" in entry:
            path.symlink_to(entry["link"])
            continue
        with path.open("wb") as out:
            for ref in entry["chunks"]:
                piece = opened.open_ref(ref)
                out.write(piece)
                written += len(piece)
                reporter.progress(written, total)
        path.chmod(entry["mode"])
        os.utime(path, ns=(entry["mtime_ns"], entry["mtime_ns"]))
    for path, mode in reversed(dirs):
        path.chmod(mode)
    return written


def default_restore_command(targets: list[str], key_args: list[str]) -> str:
    """The ``restore_command`` a PITR restore writes: our own ``wal-fetch`` through the same pipeline, with
    the key flags the restore itself used (``keys.key_options``: cloud keys too, key file made absolute)."""
    repo_root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "functions.backup", "wal-fetch", "%f", "%p"]
    for target in targets:
        argv += ["--target", target]
    argv += key_args
    quoted = " ".join(a if a in ("%f", "%p") else shlex.quote(a) for a in argv)
    return f"cd {shlex.quote(str(repo_root))} && {quoted}"


def configure_pitr(datadir: Path, target_time: str, restore_command: str) -> None:
    """Recovery settings for PostgreSQL >= 12: recovery.signal + settings in postgresql.auto.conf."""
    (datadir / "recovery.signal").write_text("")
    escaped = restore_command.replace("'", "''")
    with (datadir / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            "\n# written by functions.backup restore --pitr\n"
            f"restore_command = '{escaped}'\n"
            f"recovery_target_time = '{target_time}'\n"
            "recovery_target_action = 'promote'\n"
            "recovery_target_inclusive = false\n"
        )
