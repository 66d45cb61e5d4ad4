"""Retention per backup class, and the prune plan that honours it and object locks.

Prune never deletes: the newest ``keep_last`` complete backups of a class; a backup an incremental we
keep still references; anything an object lock or legal hold still holds. The manifest goes first, so
a prune interrupted half-way leaves an *incomplete* backup (never listed as good), not a broken one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from functions.backup import clock
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


def _referenced_blobs(complete: list[BackupInfo], keep_ids: set[str]) -> set[str]:
    """Chunk blobs the kept file-layout (incremental) backups point at: the backups holding them must stay, or
    a kept incremental could no longer be restored."""
    referenced: set[str] = set()
    for info in complete:
        if info.backup_id in keep_ids and info.manifest and info.manifest["layout"] == "files":
            referenced |= {r["b"] for f in info.manifest["files"] for r in f.get("chunks", [])}
    return referenced


def _retention_verdict(
    info: BackupInfo,
    *,
    newest: set[str],
    keep_ids: set[str],
    referenced: set[str],
    days: int,
    keep_last: int,
    now: dt.datetime,
) -> tuple[str, str]:
    """(action, reason) from the retention rules alone, in order of precedence; object locks are consulted
    afterwards, and only for what these rules would delete."""
    if not info.complete:
        started = id_time(info.backup_id) or now
        if now - started < INCOMPLETE_GRACE:
            return "keep", "incomplete, may still be running"
        return "delete", "incomplete (crashed or interrupted run)"
    if info.backup_id in newest:
        return "keep", f"among the newest {keep_last}"
    if info.backup_id in keep_ids:
        return "keep", f"within {days} d retention"
    if info.backup_id in referenced:
        return "keep", "referenced by a kept incremental"
    return "delete", f"older than {days} d"


def _unless_locked(
    store: ObjectStore, info: BackupInfo, keys: list[str], now: dt.datetime, *, action: str, reason: str
) -> PruneDecision:
    """The decision to delete, turned into a keep while an object lock or legal hold still holds any object
    (the store would refuse the delete anyway; reporting it as kept says why)."""
    held = _locked(store, keys, now)
    if held is not None:
        return PruneDecision(info, "keep", f"object lock holds it until {held.isoformat()}")
    return PruneDecision(info, action, reason, keys)


def _oldest_base_start(complete: list[BackupInfo], keep_ids: set[str]) -> dt.datetime | None:
    """Start time of the oldest kept pg_basebackup: archived WAL from before it can no longer be replayed onto
    any kept base, so it bounds what WAL prune may delete."""
    oldest: dt.datetime | None = None
    for info in complete:
        if info.backup_id in keep_ids and info.manifest and info.manifest["kind"] == "pg_basebackup":
            started = info.manifest["started_at"]
            t = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
            oldest = t if oldest is None else min(oldest, t)
    return oldest


def _plan_class(
    store: ObjectStore, cls: str, *, days: int, keep_last: int, now: dt.datetime
) -> tuple[list[PruneDecision], dt.datetime | None]:
    """Decisions for every backup of one class, plus the start of its oldest kept base backup (for WAL)."""
    infos = scan(store, cls)
    complete = [i for i in infos if i.complete]
    newest = {i.backup_id for i in complete[-keep_last:]} if keep_last else set()
    cutoff = now - dt.timedelta(days=days)
    keep_ids = {i.backup_id for i in complete if i.backup_id in newest or (i.finished_at or now) >= cutoff}
    referenced = _referenced_blobs(complete, keep_ids)
    decisions: list[PruneDecision] = []
    for info in infos:
        keys = list(store.list(f"{cls}/{info.backup_id}/"))
        action, reason = _retention_verdict(
            info, newest=newest, keep_ids=keep_ids, referenced=referenced, days=days, keep_last=keep_last, now=now
        )
        if action == "keep":
            decisions.append(PruneDecision(info, "keep", reason))
        else:
            decisions.append(_unless_locked(store, info, keys, now, action=action, reason=reason))
    return decisions, _oldest_base_start(complete, keep_ids)


def _plan_wal(store: ObjectStore, oldest_base_kept: dt.datetime, now: dt.datetime) -> list[PruneDecision]:
    """Archived WAL finished (with a margin) before the oldest kept base backup started: nothing can replay it."""
    decisions: list[PruneDecision] = []
    for info in scan(store, "wal"):
        finished = info.finished_at
        if finished is None or finished >= oldest_base_kept - WAL_MARGIN:
            continue
        keys = list(store.list(f"wal/{info.backup_id}/"))
        decisions.append(
            _unless_locked(store, info, keys, now, action="delete", reason="WAL older than the oldest kept base backup")
        )
    return decisions


def plan(
    store: ObjectStore,
    classes: list[str],
    *,
    keep_days: dict[str, int],
    keep_last: int,
    now: dt.datetime | None = None,
) -> list[PruneDecision]:
    """Class by class (in the order given), then the WAL the kept db base backups no longer need."""
    now = now or clock.now()
    decisions: list[PruneDecision] = []
    oldest_base_kept: dt.datetime | None = None
    for cls in classes:
        class_decisions, oldest = _plan_class(store, cls, days=keep_days[cls], keep_last=keep_last, now=now)
        decisions += class_decisions
        if oldest is not None:
            oldest_base_kept = oldest if oldest_base_kept is None else min(oldest_base_kept, oldest)
    if "db" in classes and oldest_base_kept is not None:
        decisions += _plan_wal(store, oldest_base_kept, now)
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
