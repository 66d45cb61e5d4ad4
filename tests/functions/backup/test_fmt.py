"""Frame sealing/opening and the Merkle tree, without any server."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from functions.backup import fmt
from functions.backup.errors import IntegrityError

KEY = os.urandom(32)


def _cipher(bid: str = "b1", prefix: bytes = b"\x00\x01\x02\x03") -> fmt.ChunkCipher:
    return fmt.ChunkCipher(KEY, prefix, bid)


def test_roundtrip_and_counter_nonces() -> None:
    c = _cipher()
    frames = [c.seal(i, f"chunk {i}".encode(), final=i == 2) for i in range(3)]
    nonces = {f[20:32] for f in frames}
    assert len(nonces) == 3
    assert frames[1][20:32] == b"\x00\x01\x02\x03" + (1).to_bytes(8, "big")
    assert [c.open(i, f, expect_final=i == 2, where=f"chunk {i}") for i, f in enumerate(frames)] == [
        b"chunk 0",
        b"chunk 1",
        b"chunk 2",
    ]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f[:-1] + bytes([f[-1] ^ 1]), "authentication tag"),
        (lambda f: f[:-5], "length"),
        (lambda f: f[:10], "truncated"),
        (lambda f: b"XXXX" + f[4:], "bad magic"),
    ],
)
def test_tampered_frames_name_the_chunk(mutate: Callable[[bytes], bytes], message: str) -> None:
    frame = _cipher().seal(7, b"x" * 100, final=False)
    with pytest.raises(IntegrityError, match=f"^chunk 7: .*{message}"):
        _cipher().open(7, mutate(frame), expect_final=False, where="chunk 7")


def test_reordered_other_backup_and_truncation_flags() -> None:
    c = _cipher()
    with pytest.raises(IntegrityError, match="frame says it is chunk 3"):
        c.open(2, c.seal(3, b"a", final=False), expect_final=False, where="chunk 2")
    with pytest.raises(IntegrityError, match="final-chunk flag"):
        c.open(0, c.seal(0, b"a", final=False), expect_final=True, where="chunk 0")
    other = _cipher("b2", b"\x09\x09\x09\x09").seal(0, b"a", final=True)
    with pytest.raises(IntegrityError, match="another backup"):
        c.open(0, other, expect_final=True, where="chunk 0")
    same_prefix_other_id = _cipher("b2").seal(0, b"a", final=True)
    with pytest.raises(IntegrityError, match="authentication tag"):
        c.open(0, same_prefix_other_id, expect_final=True, where="chunk 0")


def test_merkle_root_depends_on_every_leaf_and_order() -> None:
    leaves = [fmt.stream_leaf(i, os.urandom(32).hex()) for i in range(5)]
    root = fmt.merkle_root(leaves)
    assert fmt.merkle_root(leaves) == root
    assert fmt.merkle_root(leaves[:4]) != root
    assert fmt.merkle_root([leaves[1], leaves[0], *leaves[2:]]) != root
    assert fmt.merkle_root([leaves[0]]) != fmt.merkle_root([leaves[0], leaves[0]])


def test_manifest_mac_covers_every_field() -> None:
    manifest = {"backup_id": "a", "chunks": [1, 2], "mac": "ignored"}
    mac = fmt.manifest_mac(KEY, manifest)
    assert fmt.manifest_mac(KEY, {**manifest, "mac": "other"}) == mac
    assert fmt.manifest_mac(KEY, {**manifest, "backup_id": "b"}) != mac
    assert fmt.manifest_mac(os.urandom(32), manifest) != mac
