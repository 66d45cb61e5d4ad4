"""On-store format: encrypted chunk frames, the Merkle tree and the manifest MAC.

A chunk object is one frame::

    header (32 bytes) = magic "BKC1" | version u8 | flags u8 | reserved u16 | index u64 | plain_len u32
                        | nonce (12 bytes)
    body              = AES-256-GCM(data key, nonce, plaintext, aad = header || backup id) (ciphertext || tag)

The nonce is ``nonce_prefix (4 random bytes per backup) || index (u64 big-endian)``: a counter, so it
never repeats under one data key, and GCM's per-key message limit is never near (one key per backup).
Binding the header and the backup id into the AAD makes a reordered, renumbered, truncated (final flag)
or transplanted chunk fail authentication even before the manifest's sha256 list is consulted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from functions.backup.errors import IntegrityError

MAGIC = b"BKC1"
FRAME_VERSION = 1
FLAG_FINAL = 0x01
HEADER = struct.Struct(">4sBBHQI12s")
HEADER_SIZE = HEADER.size
TAG_SIZE = 16
MANIFEST_FORMAT = "functions.backup/1"


@dataclass(frozen=True)
class Frame:
    index: int
    final: bool
    plain_len: int
    nonce: bytes


def nonce_for(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(8, "big")


class ChunkCipher:
    """Seals and opens frames for one backup (one data key, one nonce prefix, one backup id)."""

    def __init__(self, data_key: bytes, nonce_prefix: bytes, backup_id: str) -> None:
        if len(nonce_prefix) != 4:
            raise ValueError("nonce prefix must be 4 bytes")
        self._aead = AESGCM(data_key)
        self._prefix = nonce_prefix
        self._bid = backup_id.encode()

    def seal(self, index: int, plaintext: bytes, final: bool) -> bytes:
        nonce = nonce_for(self._prefix, index)
        header = HEADER.pack(MAGIC, FRAME_VERSION, FLAG_FINAL if final else 0, 0, index, len(plaintext), nonce)
        return header + self._aead.encrypt(nonce, plaintext, header + self._bid)

    def open(self, index: int, frame: bytes, *, expect_final: bool | None, where: str) -> bytes:
        """Decrypts chunk ``index``; every refusal names ``where`` (the chunk and its object key)."""
        if len(frame) < HEADER_SIZE + TAG_SIZE:
            raise IntegrityError(f"{where}: truncated ({len(frame)} bytes, a frame has at least 48)")
        header = frame[:HEADER_SIZE]
        magic, version, flags, _reserved, got_index, plain_len, nonce = HEADER.unpack(header)
        if magic != MAGIC or version != FRAME_VERSION:
            raise IntegrityError(f"{where}: not a functions.backup frame (bad magic/version)")
        if got_index != index:
            raise IntegrityError(f"{where}: frame says it is chunk {got_index} (chunks reordered or swapped)")
        if nonce != nonce_for(self._prefix, index):
            raise IntegrityError(f"{where}: nonce does not belong to this backup (chunk from another backup)")
        final = bool(flags & FLAG_FINAL)
        if expect_final is not None and final != expect_final:
            raise IntegrityError(f"{where}: final-chunk flag is {final}, expected {expect_final} (truncation)")
        if len(frame) != HEADER_SIZE + plain_len + TAG_SIZE:
            raise IntegrityError(
                f"{where}: length {len(frame)} does not match header ({HEADER_SIZE + plain_len + TAG_SIZE})"
            )
        try:
            return self._aead.decrypt(nonce, frame[HEADER_SIZE:], header + self._bid)
        except InvalidTag:
            raise IntegrityError(
                f"{where}: authentication tag mismatch (altered bytes, wrong key, or another backup's chunk)"
            ) from None


def derive(data_key: bytes, purpose: str) -> bytes:
    """Separate subkeys (manifest MAC, dedup MAC) from the data key, so no key has two jobs."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(data_key)


def merkle_root(leaves: list[bytes]) -> str:
    """RFC 6962-style tree (0x00 leaf / 0x01 node prefixes, odd node promoted): no second-preimage games."""
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def stream_leaf(index: int, sha256_hex: str) -> bytes:
    return index.to_bytes(8, "big") + bytes.fromhex(sha256_hex)


def file_leaf(entry: dict[str, Any]) -> bytes:
    return canonical(entry)


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def manifest_mac(data_key: bytes, manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return hmac.new(derive(data_key, "manifest-mac"), canonical(body), hashlib.sha256).hexdigest()


def leaves_of(manifest: dict[str, Any]) -> list[bytes]:
    if manifest["layout"] == "stream":
        return [stream_leaf(c["i"], c["sha256"]) for c in manifest["chunks"]]
    return [file_leaf(f) for f in manifest["files"]]
