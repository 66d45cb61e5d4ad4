"""The stream writer's pipeline: read-ahead thread, chunk cutting, final flag, source errors, pipe size."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from functions.backup.errors import BackupError
from functions.backup.keys import KeyFileWrapper, keygen
from functions.backup.reader import OpenBackup, StreamDecoder
from functions.backup.report import Reporter
from functions.backup.sources import PIPE_SIZE, widen_pipe
from functions.backup.stores import FileStore
from functions.backup.writer import BackupWriter, WriteOptions, read_blocks, write_stream


def _source(size: int) -> bytes:
    """Half random, half repetitive: several MiB that compress to a few chunks of any small size."""
    noise = os.urandom(size // 2)
    return noise + (b"row,42,constant text\n" * (size // 40))[: size - len(noise)]


def _write(tmp_path: Path, data: bytes, chunk_size: int, source: object | None = None) -> tuple[dict, FileStore]:
    key = tmp_path / "k"
    if not key.exists():
        keygen(key)
    store = FileStore(f"file://{tmp_path}/store", tmp_path / "store")
    opts = WriteOptions("state", "pg_dump", {"kind": "test"}, chunk_size=chunk_size)
    writer = BackupWriter([store], KeyFileWrapper(key), opts, Reporter(io.StringIO(), json_logs=True))
    manifest = write_stream(writer, source or io.BytesIO(data), before_final=lambda: None)  # type: ignore[arg-type]
    return manifest, store


def _read_back(tmp_path: Path, manifest: dict, store: FileStore) -> bytes:
    opened = OpenBackup(store, "state", manifest["backup_id"], KeyFileWrapper(tmp_path / "k"))
    decoder = StreamDecoder()
    out = b"".join(piece for chunk in opened.stream_chunks() for piece in decoder.feed(chunk))
    decoder.close()
    return out


@pytest.mark.parametrize("chunk_size", [4096, 65536, 1 << 20])
def test_chunks_are_full_except_a_non_empty_final_one(tmp_path: Path, chunk_size: int) -> None:
    data = _source(3 << 20)
    manifest, store = _write(tmp_path, data, chunk_size)
    sizes = [c["size"] - 48 for c in manifest["chunks"]]  # frame = 32-byte header + plaintext + 16-byte tag
    assert all(s == chunk_size for s in sizes[:-1]) and 0 < sizes[-1] <= chunk_size
    assert manifest["sizes"]["compressed_bytes"] == sum(sizes)
    assert manifest["sizes"]["source_bytes"] == len(data)
    assert _read_back(tmp_path, manifest, store) == data


def test_empty_source_still_makes_one_final_chunk(tmp_path: Path) -> None:
    manifest, store = _write(tmp_path, b"", 4096)
    assert len(manifest["chunks"]) == 1 and manifest["sizes"]["source_bytes"] == 0
    assert _read_back(tmp_path, manifest, store) == b""


class _ReadOnly:
    """A source with ``read`` but no ``readinto``, returning short reads like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 10_000))


def test_sources_without_readinto_and_with_short_reads(tmp_path: Path) -> None:
    data = _source(1 << 20)
    manifest, store = _write(tmp_path, data, 65536, _ReadOnly(data))
    assert _read_back(tmp_path, manifest, store) == data


class _Failing(io.RawIOBase):
    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: object) -> int:
        self.calls += 1
        if self.calls > 3:
            raise OSError(5, "Input/output error")
        view = memoryview(buf)  # type: ignore[arg-type]
        view[:1000] = b"x" * 1000
        return 1000


def test_a_source_read_error_fails_the_backup_without_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match=r"reading the source failed: .*Input/output error"):
        _write(tmp_path, b"", 4096, _Failing())
    assert not list((tmp_path / "store").rglob("manifest.json"))


def test_read_blocks_reuses_one_buffer() -> None:
    data = os.urandom(10 * 1000 + 7)
    views = list(read_blocks(io.BytesIO(data), block=1000))
    assert len({id(v.obj) for v in views}) == 1  # every block is a view into the same buffer
    seen = [bytes(view) for view in read_blocks(io.BytesIO(data), block=1000)]
    assert b"".join(seen) == data
    assert [len(s) for s in seen] == [1000] * 10 + [7]


def test_source_pipes_are_widened() -> None:
    read_fd, write_fd = os.pipe()
    try:
        assert widen_pipe(read_fd) >= PIPE_SIZE
    finally:
        os.close(read_fd)
        os.close(write_fd)
