"""The upload term of the database RPO, measured: one ``wal-push`` of a full 16 MiB segment of incompressible
data (the worst case: WAL usually compresses several-fold) to SeaweedFS (S3), Azurite (Azure Blob) and the GCS
emulator at once must finish within ``backup_jobs.wal_archive.push_bound_seconds``, the figure each vault's
exported RPO adds to ``archive_timeout``. Emulators on loopback do not measure a cloud's latency or bandwidth:
the bound is alerted in production (WalPushSlow), this proves the command's own cost fits in it."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from components.backup_jobs.config import WalArchive
from functions.backup.cli import run
from tests.functions.backup.conftest import AzuriteServer, GcsEmulator, S3Server

pytestmark = pytest.mark.real

SEGMENT = 16 << 20


def test_one_segment_reaches_all_three_stores_within_the_push_bound(
    cloud_env: dict[str, str],
    seaweedfs: S3Server,
    azurite: AzuriteServer,
    gcs_emulator: GcsEmulator,
    tmp_path: Path,
    key_file: Path,
) -> None:
    tag = uuid.uuid4().hex[:8]
    targets = [
        f"s3://{seaweedfs.make_bucket(f'bk-walb-{tag}')}/pg",
        f"azblob://{azurite.make_container(f'bk-walb-{tag}')}/pg",
        f"gs://{gcs_emulator.make_bucket(f'bk-walb-{tag}')}/pg",
    ]
    bound = WalArchive().push_bound_seconds
    timings = []
    for n in range(1, 4):
        segment = tmp_path / f"00000001000000000000000{n}"
        segment.write_bytes(os.urandom(SEGMENT))
        argv = ["wal-push", str(segment), *[a for t in targets for a in ("--target", t)], "--key-file", str(key_file)]
        started = time.monotonic()
        code, result = run(argv)
        timings.append(time.monotonic() - started)
        assert code == 0 and result["status"] == "archived", result
    for target in targets:
        code, listed = run(["list", "--target", target, "--class", "wal"])
        assert code == 0 and len(listed) == 3, (target, listed)
    print(f"wal-push 16 MiB to 3 stores: {', '.join(f'{t:.2f}' for t in timings)} s (bound {bound} s)")
    assert max(timings) <= bound, timings
