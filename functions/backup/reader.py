"""Reading a backup back: manifests, key unwrapping, chunk fetch + verify + decrypt + decompress.

The same chunk path serves ``verify`` (bytes discarded) and ``restore`` (bytes to a sink): every chunk is
checked against the manifest's sha256 *and* its GCM tag before a single plaintext byte is used, and the
manifest itself is checked against its Merkle root and MAC before any chunk is fetched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import zstandard

from functions.backup import fmt
from functions.backup.errors import BackupError, IntegrityError
from functions.backup.keys import KeyRing, KeyWrapper, as_ring
from functions.backup.stores import NotFoundError, ObjectStore
from functions.backup.writer import chunk_key, manifest_key

PREFETCH = 4


@dataclass
class BackupInfo:
    store: ObjectStore
    backup_class: str
    backup_id: str
    manifest: dict[str, Any] | None

    @property
    def complete(self) -> bool:
        return self.manifest is not None

    @property
    def finished_at(self) -> dt.datetime | None:
        if not self.manifest:
            return None
        return parse_time(self.manifest["finished_at"])


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def id_time(backup_id: str) -> dt.datetime | None:
    """The start time a backup id carries (``YYYYMMDDTHHMMSSmmmZ-<hex>``), or None for other names (WAL files)."""
    if len(backup_id) < 19 or backup_id[18] != "Z":
        return None
    try:
        return dt.datetime.strptime(backup_id[:18], "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def scan(store: ObjectStore, backup_class: str | None = None) -> list[BackupInfo]:
    """Every backup directory on a target: complete (manifest present) or not, oldest first."""
    seen: dict[tuple[str, str], bool] = {}
    for key in store.list(f"{backup_class}/" if backup_class else ""):
        parts = key.split("/")
        if len(parts) < 3:
            continue
        ident = (parts[0], parts[1])
        seen[ident] = seen.get(ident, False) or (len(parts) == 3 and parts[2] == "manifest.json")
    infos = []
    for (cls, bid), has_manifest in sorted(seen.items(), key=lambda kv: kv[0][1]):
        manifest = load_manifest(store, cls, bid) if has_manifest else None
        infos.append(BackupInfo(store, cls, bid, manifest))
    return infos


def load_manifest(store: ObjectStore, backup_class: str, backup_id: str) -> dict[str, Any]:
    key = manifest_key(backup_class, backup_id)
    try:
        raw = store.get(key)
    except NotFoundError:
        raise BackupError(f"{store.uri}: backup {backup_class}/{backup_id} not found (no manifest)") from None
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise IntegrityError(f"{store.uri}: {key}: not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt.MANIFEST_FORMAT:
        raise IntegrityError(f"{store.uri}: {key}: unknown manifest format")
    return manifest


def find_backup(
    stores: list[ObjectStore], backup_class: str | None, backup_id: str | None, kind: str | None = None
) -> BackupInfo:
    """The named backup, or the newest complete one (of ``kind``), from the first target that has it."""
    errors = []
    for store in stores:
        try:
            infos = [i for i in scan(store, backup_class) if i.complete and i.backup_class != "wal"]
        except BackupError as err:
            errors.append(str(err))
            continue
        if kind:
            infos = [i for i in infos if i.manifest and i.manifest["kind"] == kind]
        if backup_id:
            infos = [i for i in infos if i.backup_id == backup_id]
        if infos:
            return infos[-1]
    where = ", ".join(s.uri for s in stores)
    detail = f" ({'; '.join(errors)})" if errors else ""
    if backup_id:
        raise BackupError(f"backup {backup_id} not found on {where}{detail}")
    what = " ".join(x for x in ("no complete", backup_class, kind, "backup") if x)
    raise BackupError(f"{what} on {where}{detail}")


class OpenBackup:
    """A manifest whose integrity was checked and whose data keys were unwrapped."""

    def __init__(self, store: ObjectStore, backup_class: str, backup_id: str, wrapper: KeyRing | KeyWrapper) -> None:
        self.store = store
        self.backup_class = backup_class
        self.backup_id = backup_id
        m = load_manifest(store, backup_class, backup_id)
        self.manifest = m
        where = f"{store.uri}: {manifest_key(backup_class, backup_id)}"
        if m.get("backup_id") != backup_id or m.get("class") != backup_class:
            raise IntegrityError(
                f"{where}: manifest names backup {m.get('class')}/{m.get('backup_id')} (a manifest from another backup)"
            )
        root = fmt.merkle_root(fmt.leaves_of(m))
        if root != m.get("merkle_root"):
            raise IntegrityError(f"{where}: Merkle root {root[:16]}… does not match the manifest's")
        blocks = {**m.get("keys", {}), backup_id: m["key"]}
        self.ciphers: dict[str, fmt.ChunkCipher] = {}
        self._keys: dict[str, bytes] = {}
        data_key = b""
        ring = as_ring(wrapper)
        for bid, block in blocks.items():
            context = block.get("context") or {}
            if context.get("backup_id") != bid or context.get("class") != backup_class:
                raise IntegrityError(
                    f"{where}: the key block of backup {bid} is bound to {context.get('class')}/"
                    f"{context.get('backup_id')} (a key block copied from another backup)"
                )
            # Any supplied key that matches one of the block's recipients; the MAC below (over the whole
            # manifest, recipients included) then proves no recipient was added, removed or swapped.
            key = ring.unwrap(block, f"{where}: backup {bid}")
            if bid == backup_id:
                data_key = key
            self.ciphers[bid] = fmt.ChunkCipher(key, bytes.fromhex(block["nonce_prefix"]), bid)
            self._keys[bid] = key
        if not hmac.compare_digest(fmt.manifest_mac(data_key, m), m.get("mac", "")):
            raise IntegrityError(f"{where}: manifest MAC mismatch (the manifest was altered)")
        base = m.get("chain_base") or backup_id
        self.dedup_key = fmt.derive(self._keys[base], "dedup") if base in self._keys else b""

    def data_key(self, bid: str) -> bytes:
        return self._keys[bid]

    def _fetch(self, origin: str, index: int, sha256: str) -> tuple[str, bytes, str | None]:
        key = chunk_key(self.backup_class, origin, index)
        where = f"chunk {index} ({key})" if origin == self.backup_id else f"chunk {origin}/{index} ({key})"
        try:
            frame = self.store.get(key)
        except NotFoundError:
            return where, b"", f"{where}: missing"
        except BackupError as err:
            return where, b"", f"{where}: {err}"
        digest = hashlib.sha256(frame).hexdigest()
        if digest != sha256:
            return where, frame, f"{where}: sha256 {digest[:16]}… differs from manifest {sha256[:16]}…"
        return where, frame, None

    def stream_chunks(self, on_error: Callable[[str], None] | None = None) -> Iterator[bytes]:
        """Decrypted stream-layout chunks in order, fetched ``PREFETCH`` ahead.

        Without ``on_error`` the first bad chunk raises; with it (verify) every chunk is still checked.
        """
        chunks = self.manifest["chunks"]
        last = len(chunks) - 1
        cipher = self.ciphers[self.backup_id]
        with ThreadPoolExecutor(PREFETCH, thread_name_prefix="fetch") as pool:
            window: deque[Future[tuple[str, bytes, str | None]]] = deque()
            pos = 0
            for n, entry in enumerate(chunks):
                while pos < len(chunks) and len(window) < PREFETCH:
                    nxt = chunks[pos]
                    window.append(pool.submit(self._fetch, self.backup_id, nxt["i"], nxt["sha256"]))
                    pos += 1
                where, frame, problem = window.popleft().result()
                try:
                    if entry["i"] != n:
                        raise IntegrityError(f"{where}: manifest lists chunk {entry['i']} at position {n}")
                    if problem:
                        raise IntegrityError(problem)
                    yield cipher.open(n, frame, expect_final=(n == last), where=where)
                except IntegrityError as err:
                    if on_error is None:
                        raise
                    on_error(str(err))

    def open_ref(self, ref: dict[str, Any]) -> bytes:
        """One files-layout chunk, decrypted, decompressed and checked against its keyed MAC."""
        origin = ref["b"]
        where, frame, problem = self._fetch(origin, ref["i"], ref["sha256"])
        if problem:
            raise IntegrityError(problem)
        cipher = self.ciphers.get(origin)
        if cipher is None:
            raise IntegrityError(f"{where}: no key for backup {origin} in the manifest")
        packed = cipher.open(ref["i"], frame, expect_final=None, where=where)
        try:
            piece = zstandard.ZstdDecompressor().decompress(packed)
        except zstandard.ZstdError as err:
            raise IntegrityError(f"{where}: zstd: {err}") from None
        if not hmac.compare_digest(hmac.new(self.dedup_key, piece, hashlib.sha256).hexdigest(), ref["mac"]):
            raise IntegrityError(f"{where}: content MAC mismatch")
        return piece


class StreamDecoder:
    """zstd decompression of a stream-layout backup with bounded output per step.

    Input is fed in small slices so one highly compressible chunk (pgbench filler compresses ~100x)
    never turns into hundreds of MiB at once; ``close`` refuses a stream that ended mid-frame.
    """

    SLICE = 16 << 10

    def __init__(self) -> None:
        self._d = zstandard.ZstdDecompressor().decompressobj()
        self.out_bytes = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        for start in range(0, len(view), self.SLICE):
            try:
                out = self._d.decompress(view[start : start + self.SLICE].tobytes())
            except zstandard.ZstdError as err:
                raise IntegrityError(f"zstd stream: {err}") from None
            if out:
                self.out_bytes += len(out)
                yield out

    def close(self) -> None:
        if not self._d.eof:
            raise IntegrityError("zstd stream ended before its final frame (truncated backup)")


def verify(opened: OpenBackup) -> list[str]:
    """Re-reads every chunk: sha256, GCM tag, order, zstd checksum. Returns the problems (empty = good)."""
    problems: list[str] = []
    m = opened.manifest
    if m["layout"] == "stream":
        decoder = StreamDecoder()
        broken = False
        for data in opened.stream_chunks(on_error=problems.append):
            if broken:
                continue
            try:
                for _ in decoder.feed(data):
                    pass
            except IntegrityError as err:
                problems.append(str(err))
                broken = True
        if not problems:
            try:
                decoder.close()
            except IntegrityError as err:
                problems.append(str(err))
            if decoder.out_bytes != m["sizes"]["source_bytes"]:
                problems.append(f"restored size {decoder.out_bytes} != manifest {m['sizes']['source_bytes']}")
    else:
        for entry in m["files"]:
            for ref in entry.get("chunks", []):
                try:
                    opened.open_ref(ref)
                except IntegrityError as err:
                    problems.append(f"{entry['path']}: {err}")
    return problems
