"""Retention per backup class, and the prune plan that honours it and object locks.

Prune never deletes: the newest ``keep_last`` complete backups of a class; a backup an incremental we
keep still references; anything an object lock or legal hold still holds. The manifest goes first, so
a prune interrupted half-way leaves an *incomplete* backup (never listed as good), not a broken one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from functions.backup.reader import BackupInfo, id_time, scan
from functions.backup.stores import ObjectStore
from functions.backup.writer import manifest_key

RETENTION_DAYS = {"db": 30, "chain": 90, "state": 7}
REQUIRES_VERSIONING = {"db": True, "chain": True, "state": False}
INCOMPLETE_GRACE = dt.timedelta(hours=6)
WAL_MARGIN = dt.timedelta(minutes=5)


@dataclass
class PruneDecision:
    info: BackupInfo
    action: str  # "delete" | "keep"
    reason: str
    keys: list[str] = field(default_factory=list)


def _locked(store: ObjectStore, keys: list[str], now: dt.datetime) -> dt.datetime | None:
    latest: dt.datetime | None = None
    for key in keys:
        until = store.lock_until(key)
        if until is not None and until > now and (latest is None or until > latest):
            latest = until
    return latest


def plan(
    store: ObjectStore,
    classes: list[str],
    *,
    keep_days: dict[str, int],
    keep_last: int,
    now: dt.datetime | None = None,
) -> list[PruneDecision]:
    now = now or dt.datetime.now(dt.UTC)
    decisions: list[PruneDecision] = []
    oldest_base_kept: dt.datetime | None = None
    for cls in classes:
        infos = scan(store, cls)
        complete = [i for i in infos if i.complete]
        newest = {i.backup_id for i in complete[-keep_last:]} if keep_last else set()
        cutoff = now - dt.timedelta(days=keep_days[cls])
        keep_ids = {i.backup_id for i in complete if i.backup_id in newest or (i.finished_at or now) >= cutoff}
        referenced: set[str] = set()
        for info in complete:
            if info.backup_id in keep_ids and info.manifest and info.manifest["layout"] == "files":
                referenced |= {r["b"] for f in info.manifest["files"] for r in f.get("chunks", [])}
        for info in infos:
            keys = list(store.list(f"{cls}/{info.backup_id}/"))
            if not info.complete:
                started = id_time(info.backup_id) or now
                if now - started < INCOMPLETE_GRACE:
                    decisions.append(PruneDecision(info, "keep", "incomplete, may still be running"))
                    continue
                reason, action = "incomplete (crashed or interrupted run)", "delete"
            elif info.backup_id in newest:
                decisions.append(PruneDecision(info, "keep", f"among the newest {keep_last}"))
                continue
            elif info.backup_id in keep_ids:
                decisions.append(PruneDecision(info, "keep", f"within {keep_days[cls]} d retention"))
                continue
            elif info.backup_id in referenced:
                decisions.append(PruneDecision(info, "keep", "referenced by a kept incremental"))
                continue
            else:
                reason, action = f"older than {keep_days[cls]} d", "delete"
            held = _locked(store, keys, now)
            if held is not None:
                decisions.append(PruneDecision(info, "keep", f"object lock holds it until {held.isoformat()}"))
                continue
            decisions.append(PruneDecision(info, action, reason, keys))
        for info in complete:
            if info.backup_id in keep_ids and info.manifest and info.manifest["kind"] == "pg_basebackup":
                started = info.manifest["started_at"]
                t = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
                oldest_base_kept = t if oldest_base_kept is None else min(oldest_base_kept, t)
    if "db" in classes and oldest_base_kept is not None:
        for info in scan(store, "wal"):
            finished = info.finished_at
            if finished is None or finished >= oldest_base_kept - WAL_MARGIN:
                continue
            keys = list(store.list(f"wal/{info.backup_id}/"))
            held = _locked(store, keys, now)
            if held is not None:
                decisions.append(PruneDecision(info, "keep", f"object lock holds it until {held.isoformat()}"))
            else:
                decisions.append(PruneDecision(info, "delete", "WAL older than the oldest kept base backup", keys))
    return decisions


def apply(store: ObjectStore, decision: PruneDecision) -> None:
    """Manifest first (the backup stops being 'complete'), then the rest."""
    info = decision.info
    mkey = manifest_key(info.backup_class, info.backup_id)
    if mkey in decision.keys:
        store.delete(mkey)
    for key in decision.keys:
        if key != mkey:
            store.delete(key)
