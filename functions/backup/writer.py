"""Writing a backup: source bytes -> zstd -> AES-256-GCM frames -> every target, manifest last.

Memory is bounded by ``chunk_size x in-flight uploads``: chunks are produced one at a time and each
target accepts at most ``max_inflight`` un-uploaded chunks before the producer blocks (back-pressure
to pg_dump through its pipe). Nothing here ever holds the whole dump.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import zstandard

from functions.backup import clock, fmt
from functions.backup.defaults import DEFAULT_CHUNK, ZSTD_LEVEL
from functions.backup.errors import BackupError
from functions.backup.keys import KeyRing, KeyWrapper, as_ring, new_data_key
from functions.backup.report import Reporter
from functions.backup.stores import ObjectStore


def new_backup_id(now: dt.datetime | None = None) -> str:
    now = now or clock.now()
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-" + secrets.token_hex(3)


def chunk_key(backup_class: str, backup_id: str, index: int) -> str:
    return f"{backup_class}/{backup_id}/chunks/{index:08d}"


def manifest_key(backup_class: str, backup_id: str) -> str:
    return f"{backup_class}/{backup_id}/manifest.json"


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class _Target:
    store: ObjectStore
    pool: ThreadPoolExecutor
    slots: threading.Semaphore
    error: BackupError | None = None
    futures: list[Future[None]] = field(default_factory=list)


class Fanout:
    """Uploads each object to every target concurrently; a failing target is dropped, not fatal."""

    def __init__(
        self, stores: list[ObjectStore], reporter: Reporter, max_inflight: int = 3, lock_mode: str = "COMPLIANCE"
    ) -> None:
        self.reporter = reporter
        self.lock_mode = lock_mode
        self.targets = [
            _Target(s, ThreadPoolExecutor(2, thread_name_prefix="upload"), threading.Semaphore(max_inflight))
            for s in stores
        ]

    def live(self) -> list[_Target]:
        return [t for t in self.targets if t.error is None]

    def _put(self, target: _Target, key: str, data: bytes, lock_until: dt.datetime | None) -> None:
        try:
            target.store.put(key, data, lock_until=lock_until, lock_mode=self.lock_mode)
        except BackupError as err:
            if target.error is None:
                target.error = err
                self.reporter.event("target_failed", level="error", target=target.store.uri, error=str(err))
        finally:
            target.slots.release()

    def put(self, key: str, data: bytes, lock_until: dt.datetime | None = None) -> None:
        for target in self.live():
            target.slots.acquire()
            target.futures.append(target.pool.submit(self._put, target, key, data, lock_until))
            target.futures = [f for f in target.futures if not f.done()]
        if not self.live():
            raise BackupError("every target failed: " + "; ".join(str(t.error) for t in self.targets))

    def drain(self) -> None:
        for target in self.targets:
            for fut in target.futures:
                fut.result()
            target.futures.clear()

    def close(self) -> None:
        for target in self.targets:
            target.pool.shutdown(wait=True)


@dataclass
class WriteOptions:
    backup_class: str
    kind: str
    source: dict[str, Any]
    chunk_size: int = DEFAULT_CHUNK
    threads: int = 0
    lock_until: dt.datetime | None = None
    backup_id: str | None = None
    sha256sums: bool = True
    level: int = ZSTD_LEVEL
    lock_mode: str = "COMPLIANCE"


class BackupWriter:
    """One backup in progress: its key, cipher, chunk list and fan-out to targets."""

    def __init__(
        self, stores: list[ObjectStore], wrapper: KeyRing | KeyWrapper, opts: WriteOptions, reporter: Reporter
    ) -> None:
        self.opts = opts
        self.reporter = reporter
        self.started = clock.now()
        self.t0 = time.monotonic()
        self.backup_id = opts.backup_id or new_backup_id(self.started)
        self.data_key = new_data_key()
        self.nonce_prefix = secrets.token_bytes(4)
        self.context = {"backup_id": self.backup_id, "class": opts.backup_class}
        # Wrapped for every recipient before the first chunk: a refused wrap fails the backup, never a recipient
        # quietly missing from it.
        self._key_block = as_ring(wrapper).key_block(self.data_key, self.nonce_prefix, self.context)
        self.cipher = fmt.ChunkCipher(self.data_key, self.nonce_prefix, self.backup_id)
        self.fanout = Fanout(stores, reporter, lock_mode=opts.lock_mode)
        self.next_index = 0
        self.stored_bytes = 0
        self.sums: list[str] = []

    def key_block(self) -> dict[str, Any]:
        """``recipients`` (the data key wrapped by each key given), ``nonce_prefix`` and ``context``; ``key_id``/
        ``wrapped`` repeat the first recipient for readers of the single-key format."""
        return dict(self._key_block)

    def emit(self, plaintext: bytes, final: bool) -> dict[str, Any]:
        """Seals one chunk and queues it to every target; returns its manifest entry."""
        index = self.next_index
        self.next_index += 1
        frame = self.cipher.seal(index, plaintext, final)
        digest = hashlib.sha256(frame).hexdigest()
        key = chunk_key(self.opts.backup_class, self.backup_id, index)
        self.fanout.put(key, frame, self.opts.lock_until)
        self.stored_bytes += len(frame)
        self.sums.append(f"{digest}  chunks/{index:08d}")
        return {"i": index, "sha256": digest, "size": len(frame)}

    def finish(self, body: dict[str, Any], source_bytes: int, compressed_bytes: int) -> dict[str, Any]:
        """Waits for every chunk upload, then writes SHA256SUMS and the manifest (last) to live targets."""
        self.fanout.drain()
        finished = clock.now()
        manifest: dict[str, Any] = {
            "format": fmt.MANIFEST_FORMAT,
            "backup_id": self.backup_id,
            "class": self.opts.backup_class,
            "kind": self.opts.kind,
            "started_at": iso(self.started),
            "finished_at": iso(finished),
            "duration_s": round(time.monotonic() - self.t0, 3),
            "source": self.opts.source,
            "key": self.key_block(),
            "compression": {"algo": "zstd", "level": self.opts.level},
            "chunk_size": self.opts.chunk_size,
            "sizes": {
                "source_bytes": source_bytes,
                "compressed_bytes": compressed_bytes,
                "stored_bytes": self.stored_bytes,
                "chunks": self.next_index,
            },
            "lock_until": iso(self.opts.lock_until) if self.opts.lock_until else None,
            **({"lock_mode": self.opts.lock_mode} if self.opts.lock_until else {}),
            **body,
        }
        manifest["merkle_root"] = fmt.merkle_root(fmt.leaves_of(manifest))
        manifest["mac"] = fmt.manifest_mac(self.data_key, manifest)
        prefix = f"{self.opts.backup_class}/{self.backup_id}"
        if self.opts.sha256sums:
            self.fanout.put(f"{prefix}/SHA256SUMS", ("\n".join(self.sums) + "\n").encode(), self.opts.lock_until)
            self.fanout.drain()
        live = self.fanout.live()
        if not live:
            raise BackupError("every target failed; no manifest written")
        self.fanout.put(
            manifest_key(self.opts.backup_class, self.backup_id),
            json.dumps(manifest, indent=1).encode(),
            self.opts.lock_until,
        )
        self.fanout.drain()
        self.fanout.close()
        failed = [t for t in self.fanout.targets if t.error is not None]
        manifest["_targets_ok"] = [t.store.uri for t in self.fanout.targets if t.error is None]
        manifest["_targets_failed"] = {t.store.uri: str(t.error) for t in failed}
        return manifest

    def abort(self) -> None:
        self.fanout.close()


def auto_threads() -> int:
    """zstd worker threads when not given: none on <= 2 CPUs, where pg_dump and its server backend
    already use both cores and extra workers only add memory (measured: bench/backup.py)."""
    cpus = os.cpu_count() or 1
    return 1 if cpus <= 2 else min(4, cpus // 2)


READ_BLOCK = 1 << 20  # source bytes per compressor call: few Python iterations, one reused buffer


def read_blocks(source: IO[bytes], block: int = READ_BLOCK) -> Iterator[memoryview]:
    """Yields the source in blocks of at most ``block`` bytes, read into one reused buffer (no copies);
    each view is valid until the next step.

    Reading and compressing take turns in one thread on purpose. The source pipe is widened to 1 MiB
    (``sources.widen_pipe``), so pg_dump keeps writing while a block compresses (zstd-1 takes ~0.1 ms per
    100 KiB); a reader thread in front of the compressor (measured: four 1 MiB buffers and a queue) only
    added GIL hand-offs and wake-ups, ~0.04 s of wall per 147 MB on 2 cores (bench/backup.py).
    """
    buf = bytearray(block)
    view = memoryview(buf)
    readinto = getattr(source, "readinto", None)
    while True:
        try:
            if readinto is not None:
                got = readinto(view)
            else:
                data = source.read(block)
                got = len(data)
                view[:got] = data
        except (OSError, ValueError) as err:
            raise BackupError(f"reading the source failed: {err}") from err
        if not got:
            return
        yield view[:got]


def write_stream(
    writer: BackupWriter,
    source: IO[bytes],
    *,
    before_final: Callable[[], None],
    total_hint: int | None = None,
    extra_body: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Stream layout: one zstd frame over the whole source, cut into fixed-size encrypted chunks.

    ``before_final`` runs after the source hit EOF and before the last chunk is sealed: it is where a
    failed pg_dump raises, so a failed dump never gets a final chunk, let alone a manifest. A chunk is
    emitted only once more compressed bytes exist beyond it, so the final one is never empty. ``extra_body``
    (called after ``before_final``) adds fields to the manifest, inside its MAC.
    """
    threads = writer.opts.threads or auto_threads()
    size = writer.opts.chunk_size
    cctx = zstandard.ZstdCompressor(level=writer.opts.level, threads=threads if threads > 1 else 0, write_checksum=True)
    compressor = cctx.compressobj()
    chunks: list[dict[str, Any]] = []
    pending = bytearray()
    compressed = 0

    def cut() -> None:
        """Emits full chunks from ``pending`` while more bytes follow them (the final one is never empty)."""
        nonlocal compressed
        while len(pending) > size:
            with memoryview(pending) as view:
                piece = bytes(view[:size])
            del pending[:size]
            compressed += len(piece)
            chunks.append(writer.emit(piece, final=False))

    source_bytes = 0
    for block in read_blocks(source):
        source_bytes += len(block)
        pending += compressor.compress(block)  # releases the GIL: upload threads keep sending meanwhile
        cut()
        writer.reporter.progress(source_bytes, total_hint)
    before_final()
    pending += compressor.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)
    cut()
    compressed += len(pending)
    chunks.append(writer.emit(bytes(pending), final=True))
    extra = extra_body() if extra_body is not None else {}
    return writer.finish({"layout": "stream", "chunks": chunks, **extra}, source_bytes, compressed)


def _entry_for(path: Path, rel: str) -> dict[str, Any]:
    st = path.lstat()
    return {"path": rel, "size": st.st_size, "mode": st.st_mode & 0o7777, "mtime_ns": st.st_mtime_ns}


def write_files(
    writer: BackupWriter,
    root: Path,
    *,
    parent: dict[str, Any] | None,
    dedup_key: bytes,
    keys: dict[str, Any],
    chain_base: str,
) -> dict[str, Any]:
    """Files layout: each file cut into pieces compressed and sealed on their own, so an incremental
    run can reuse the previous manifest's chunk references for every unchanged file or piece."""
    cctx = zstandard.ZstdCompressor(level=writer.opts.level, write_checksum=True)
    old = {f["path"]: f for f in parent["files"]} if parent else {}
    files: list[dict[str, Any]] = []
    source_bytes = compressed = reused = 0
    total = sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            files.append({"path": rel, "link": str(path.readlink())})
            continue
        if path.is_dir():
            files.append({"path": rel, "dir": True, "mode": path.stat().st_mode & 0o7777})
            continue
        if not path.is_file():
            continue
        entry = _entry_for(path, rel)
        prev = old.get(rel)
        if prev and "chunks" in prev and all(prev.get(k) == entry[k] for k in ("size", "mode", "mtime_ns")):
            entry["chunks"] = prev["chunks"]
            reused += len(prev["chunks"])
            files.append(entry)
            source_bytes += entry["size"]
            writer.reporter.progress(source_bytes, total)
            continue
        prev_chunks = prev.get("chunks", []) if prev else []
        refs: list[dict[str, Any]] = []
        with path.open("rb") as src:
            piece = src.read(writer.opts.chunk_size)
            index = 0
            while True:
                nxt = src.read(writer.opts.chunk_size) if piece else b""
                mac = hmac.new(dedup_key, piece, hashlib.sha256).hexdigest()
                source_bytes += len(piece)
                if index < len(prev_chunks) and prev_chunks[index]["mac"] == mac:
                    refs.append(prev_chunks[index])
                    reused += 1
                else:
                    packed = cctx.compress(piece)
                    compressed += len(packed)
                    ref = writer.emit(packed, final=not nxt)
                    refs.append({"b": writer.backup_id, **ref, "mac": mac})
                writer.reporter.progress(source_bytes, total)
                index += 1
                if not nxt:
                    break
                piece = nxt
        entry["chunks"] = refs
        files.append(entry)
    body = {
        "layout": "files",
        "parent": parent["backup_id"] if parent else None,
        "chain_base": chain_base,
        "keys": keys,
        "files": files,
        "reused_chunks": reused,
    }
    return writer.finish(body, source_bytes, compressed)
