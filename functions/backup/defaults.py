"""Names and defaults the CLI's parser needs, kept free of heavy imports.

The parser is built before anything else runs, and a backup starts pg_dump as soon as the arguments
parse (its catalog phase then overlaps our imports and target checks), so this module must not pull in
zstandard, cryptography or a cloud SDK.
"""

from __future__ import annotations

CLASSES = ("db", "chain", "state")
KINDS = {"dump": "pg_dump", "base": "pg_basebackup", "dir": "dir"}  # --kind value -> manifest "kind"
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
KEY_FILE_ENV = "BACKUP_KEY_FILE"
DEFAULT_CHUNK = 4 << 20
# Level 1, not 3: on pg_dump output (bench/backup.py) level 1 is both smaller (22.4 vs 23.8 MB for a
# 147 MB dump) and needs about a third of level 3's CPU, which on 2 cores competes with pg_dump and its
# server backend. The BackupJobs component deploys level 1 too (backup_jobs.classes.<class>.level).
ZSTD_LEVEL = 1
DEFAULT_MAX_CHAIN_DAYS = 7
"""``incremental --max-chain-days``: a chain older than this starts over with a full backup. The vault
lifecycle must keep objects retention + this many days (the infrastructure program adds it)."""
