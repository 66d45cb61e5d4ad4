"""Byte-stream sources (pg_dump, pg_basebackup) and sinks (pg_restore, tar, a file) as subprocesses.

Each child's stderr goes to a temporary file, not a pipe, so a chatty child can never deadlock us; its
last lines become the error message when it exits non-zero.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse, urlunparse

from functions.backup.errors import BackupError, UsageError

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)


def pg_tool(name: str) -> str:
    for directory in PG_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found (install postgresql-15)")
    return found


def redact(url: str) -> str:
    """The URL without its password, for manifests and logs."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.rsplit("@", 1)
    return urlunparse(parsed._replace(netloc=netloc[0].split(":", 1)[0] + ":***@" + netloc[1]))


def check_pg_url(url: str, flag: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise UsageError(f"{flag} {redact(url)}: expected a postgresql:// URL")


PIPE_SIZE = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size for unprivileged processes
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def widen_pipe(fd: int, size: int = PIPE_SIZE) -> int:
    """Grows a pipe from 64 KiB to ``size`` so the child keeps writing while we compress a block.

    Best effort: returns the size in effect (0 when the kernel refused, e.g. above pipe-max-size).
    """
    try:
        return fcntl.fcntl(fd, F_SETPIPE_SZ, size)
    except OSError:
        return 0


class Child:
    """A subprocess whose stdout (source) or stdin (sink) we stream; stderr captured to a temp file."""

    def __init__(self, argv: list[str], *, role: str, sink: bool = False, cwd: str | None = None) -> None:
        self.role = role
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if sink else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL if sink else subprocess.PIPE,
                stderr=self._err,
                cwd=cwd,
            )
        except OSError as err:
            raise BackupError(f"{role}: cannot start {argv[0]}: {err.strerror}") from None
        if not sink and self.proc.stdout is not None:
            widen_pipe(self.proc.stdout.fileno())

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    def stderr_tail(self) -> str:
        self._err.seek(0)
        lines = self._err.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:])

    def finish(self) -> None:
        """Waits for the child; raises with its stderr when it failed."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        code = self.proc.wait()
        if code != 0:
            raise BackupError(f"{self.role} failed (exit {code}): {self.stderr_tail() or 'no message'}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def pg_dump(url: str, snapshot: str | None = None) -> Child:
    """``pg_dump -Fc`` to stdout; with ``snapshot`` (``pg_export_snapshot()`` of a transaction kept open) it dumps
    exactly what that transaction sees."""
    extra = [f"--snapshot={snapshot}"] if snapshot else []
    return Child([pg_tool("pg_dump"), "-Fc", "-Z0", "--no-password", *extra, "-d", url], role="pg_dump")


def pg_basebackup(url: str) -> Child:
    """A tar of the whole cluster on stdout, with the WAL needed to make it consistent (-X fetch)."""
    argv = [pg_tool("pg_basebackup"), "-d", url, "-D", "-", "-Ft", "-X", "fetch", "--checkpoint=fast"]
    return Child([*argv, "--no-password"], role="pg_basebackup")


def pg_restore(url: str) -> Child:
    argv = [pg_tool("pg_restore"), "--no-owner", "--no-password", "--exit-on-error", "-d", url]
    return Child(argv, role="pg_restore", sink=True)


def tar_extract(directory: Path) -> Child:
    return Child(["tar", "-x", "-f", "-", "-C", str(directory)], role="tar", sink=True)


def psql(url: str, sql: str) -> str:
    proc = subprocess.run(
        [pg_tool("psql"), "-X", "-At", "--no-password", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BackupError(f"psql on {redact(url)}: {proc.stderr.strip() or 'failed'}")
    return proc.stdout.strip()


def pg_source_info(url: str, tool: str) -> dict[str, Any]:
    parsed = urlparse(url)
    return {
        "kind": tool,
        "url": redact(url),
        "host": parsed.hostname,
        "port": parsed.port,
        "database": parsed.path.lstrip("/") or None,
    }
