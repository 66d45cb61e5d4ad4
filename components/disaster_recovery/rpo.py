"""The recovery point per destination and per failure, from the WAL mechanism the plan actually declares.

Only settings that configure something in the stack enter a bound: ``backup.wal_archive_timeout_seconds`` is
the database's ``archive_timeout`` only when ``backup_jobs.wal_archive.mode`` is ``archive_command`` (the
fragment the database pod includes); with ``rds`` it configures nothing, and what reaches each cloud is
RDS's own transaction-log upload (S3 side, every 5 minutes) or the scheduled dumps.

Per destination (seconds of committed data a copy can miss):

- ``s3``, ``azure_blob``, ``gcs`` with ``archive_command``: ``archive_timeout`` (a segment is switched at the
  latest then) + ``push_bound_seconds`` (the alerted time one ``wal-push`` takes to put it in every store;
  the stores are written concurrently and the command returns once all have it).
- ``dr_replica``: a WAL standby (``dr.database.kind: postgres_standby``) replays the archive from the copies
  that survive the primary region (Azure Blob and GCS; its ``restore_command`` reads those two). Its replay
  trails the archive by the ``restore_command`` retry interval + the alerted replay lag, but that costs no data:
  on promotion PostgreSQL first restores every segment the archive still holds, then ends recovery. So its RPO is
  the freshest surviving archive copy's (archive_timeout + push bound), and the lag is a term of the RTO
  (inside ``dr.database.promotion_seconds``). An RDS replica (``rds_replica``, ``aurora_global``) copies an RDS primary: its alerted lag bound holds only when
  that RDS instance *is* the database (``wal_archive.mode: rds``); next to a self-managed primary it holds no
  copy of the live data at all, and its RPO is reported as ``None`` with that reason.

Per failure, the best copy that survives it (recovery restores or promotes the freshest survivor):

- ``region_loss`` (the primary AWS region): Azure Blob, GCS, the DR replica, and the S3 vault's DR-region copy
  (Replication Time Control: 15 minutes on top of the S3 bound).
- ``cloud_loss`` (all of AWS, where the primary runs): Azure Blob and GCS. Losing Azure or GCP alone loses
  no committed data (the primary and the other copies remain).
- ``corruption`` (a bad write replicated everywhere): a point-in-time restore from the archive (S3, Azure,
  GCS; with ``rds``, RDS's own PITR), never the replica, which replays the damage.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from components.backup.config import BackupSettings
    from components.backup_jobs.config import BackupJobsSettings
    from components.disaster_recovery.config import DrSettings

Destination = Literal["s3", "azure_blob", "gcs", "dr_replica"]
Failure = Literal["region_loss", "cloud_loss", "corruption"]
DESTINATIONS: tuple[Destination, ...] = ("s3", "azure_blob", "gcs", "dr_replica")
FAILURES: tuple[Failure, ...] = ("region_loss", "cloud_loss", "corruption")
CLOUD_DESTINATIONS: tuple[Destination, ...] = ("s3", "azure_blob", "gcs")

RDS_LOG_UPLOAD_SECONDS = 300
"""RDS uploads transaction logs for point-in-time restore every 5 minutes (its latest restorable time)."""
S3_RTC_SECONDS = 15 * 60
"""S3 Replication Time Control: 99.99 % of objects replicated within 15 minutes."""
STANDBY_SOURCES: tuple[Destination, ...] = ("azure_blob", "gcs")
"""The archive copies the DR standby's ``restore_command`` reads: the ones a primary-region loss leaves. The S3
vault lives in the primary region; its DR-region replica trails it by up to 15 minutes (Replication Time
Control), so it adds nothing fresher than these two (and reading it would need another identity in AWS)."""
RESTORE_RETRY_SECONDS = 5
"""PostgreSQL's ``wal_retrieve_retry_interval`` default: a standby asks ``restore_command`` again this often."""

_SURVIVORS: dict[Failure, tuple[str, ...]] = {
    "region_loss": ("azure_blob", "gcs", "dr_replica", "s3_dr_copy"),
    "cloud_loss": ("azure_blob", "gcs"),
    "corruption": ("s3", "azure_blob", "gcs"),
}


@dataclass(frozen=True)
class WalMechanism:
    """How committed data leaves the primary, as the plan declares it."""

    mode: Literal["archive_command", "rds", "off", "none"]
    archive_timeout_seconds: int
    push_bound_seconds: int
    vaults: tuple[Destination, ...]
    dump_gap_seconds: int | None


@dataclass(frozen=True)
class Rpo:
    seconds: int | None
    """None: no declared mechanism bounds it."""
    mechanism: str


def wal_mechanism(backup: BackupSettings, jobs: BackupJobsSettings | None) -> WalMechanism:
    """The mechanism of ``backup`` + ``backup_jobs`` (no jobs section: nothing leaves the database)."""
    from components.backup_jobs.config import max_gap_seconds

    vaults: list[Destination] = []
    for destination, vault in (("s3", backup.aws), ("azure_blob", backup.azure), ("gcs", backup.gcs)):
        if vault.enabled:
            vaults.append(destination)  # type: ignore[arg-type]
    if jobs is None:
        return WalMechanism("none", backup.wal_archive_timeout_seconds, 0, tuple(vaults), None)
    return WalMechanism(
        mode=jobs.wal_archive.mode,
        archive_timeout_seconds=backup.wal_archive_timeout_seconds,
        push_bound_seconds=jobs.wal_archive.push_bound_seconds,
        vaults=tuple(vaults),
        dump_gap_seconds=max_gap_seconds(backup.classes["db"].schedule),
    )


def _cloud(wal: WalMechanism, destination: Destination) -> Rpo:
    if destination not in wal.vaults:
        return Rpo(None, "vault disabled")
    if wal.mode == "archive_command":
        return Rpo(
            wal.archive_timeout_seconds + wal.push_bound_seconds,
            f"archive_command wal-push: archive_timeout {wal.archive_timeout_seconds} s + push bound "
            f"{wal.push_bound_seconds} s",
        )
    if wal.mode == "rds" and destination == "s3":
        return Rpo(RDS_LOG_UPLOAD_SECONDS, f"RDS transaction-log upload every {RDS_LOG_UPLOAD_SECONDS} s (RDS PITR)")
    if wal.dump_gap_seconds is not None:
        return Rpo(wal.dump_gap_seconds, f"scheduled dumps only (backup.classes.db.schedule, {wal.dump_gap_seconds} s)")
    return Rpo(None, "no backup jobs: nothing copies the database here")


def _replica(wal: WalMechanism, dr: DrSettings) -> Rpo:
    kind = dr.database.kind
    lag = dr.database.replication_lag_bound_seconds
    if kind in ("rds_replica", "aurora_global"):
        if wal.mode == "rds":
            return Rpo(lag, f"{kind} of the RDS primary: alerted lag bound {lag} s")
        return Rpo(
            None,
            f"{kind} replicates an RDS primary, but the database is self-managed (wal_archive.mode {wal.mode}): "
            "the DR replica holds no copy of the live data",
        )
    read: list[Destination] = [d for d in STANDBY_SOURCES if d in wal.vaults]
    archive = min((s for s in (_cloud(wal, d).seconds for d in read) if s is not None), default=None)
    if wal.mode != "archive_command" or archive is None:
        return Rpo(
            None, f"WAL standby without a surviving archive to replay (wal_archive.mode {wal.mode}, vaults {read})"
        )
    return Rpo(
        archive,
        f"WAL standby reading {' and '.join(read)}: promotion replays every archived segment first, so it loses what "
        f"the archive lacks ({archive} s); its replay lag (restore_command retry {RESTORE_RETRY_SECONDS} s + alerted "
        f"lag {lag} s) adds to the promotion time, not to the RPO",
    )


def rpo_by_destination(wal: WalMechanism, dr: DrSettings | None) -> dict[Destination, Rpo]:
    """One RPO per destination; ``dr_replica`` only with ``dr.enabled``."""
    result: dict[Destination, Rpo] = {d: _cloud(wal, d) for d in CLOUD_DESTINATIONS}
    if dr is not None and dr.enabled:
        result["dr_replica"] = _replica(wal, dr)
    return result


@dataclass(frozen=True)
class FailureRpo:
    seconds: int | None
    via: str | None
    """The surviving copy recovery uses (the freshest one)."""


def rpo_by_failure(
    destinations: Mapping[Destination, Rpo], *, replication_time_control: bool
) -> dict[Failure, FailureRpo]:
    """Per failure, the freshest copy that survives it (None: no copy survives)."""
    copies: dict[str, int | None] = {d: r.seconds for d, r in destinations.items()}
    s3 = copies.get("s3")
    copies["s3_dr_copy"] = s3 + S3_RTC_SECONDS if s3 is not None and replication_time_control else None
    result: dict[Failure, FailureRpo] = {}
    for failure in FAILURES:
        options = [(seconds, name) for name in _SURVIVORS[failure] if (seconds := copies.get(name)) is not None]
        best = min(options, key=lambda option: option[0], default=None)  # ties: the first survivor listed
        result[failure] = FailureRpo(best[0], best[1]) if best else FailureRpo(None, None)
    return result


def worst(values: Collection[int | None]) -> int | None:
    """The largest bounded value (None when nothing is bounded)."""
    bounded = [v for v in values if v is not None]
    return max(bounded) if bounded else None
