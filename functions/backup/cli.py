"""argparse front end: ``python -m functions.backup COMMAND …`` (see README.md for the reference).

Results go to stdout as JSON (one document), logs to stderr (JSON lines unless on a terminal).
Exit status: 0 success, 1 runtime failure (including any target that failed), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.backup.defaults import (
    CLASSES,
    DEFAULT_CHUNK,
    DEFAULT_MAX_CHAIN_DAYS,
    KEY_FILE_ENV,
    KINDS,
    LOCK_MODES,
    ZSTD_LEVEL,
)
from functions.backup.errors import BackupError, UsageError
from functions.backup.report import Reporter, write_metrics

if TYPE_CHECKING:
    from functions.backup.keys import KeyRing
    from functions.backup.sources import Child
    from functions.backup.stores import ObjectStore


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: one line, exit 2
        raise UsageError(f"{self.prog}: {message}")


def _common(p: argparse.ArgumentParser, *, targets: bool = True, key: bool = True) -> None:
    if targets:
        p.add_argument(
            "--target",
            action="append",
            default=[],
            metavar="URI",
            help="file:///dir, s3://bucket/prefix, azblob://container/prefix, gs://bucket/prefix (repeat)",
        )
    if key:
        # Every key given wraps each new data key (one recipient each); any one of them opens a backup. With no
        # key flag at all, the same from the environment (keys.KEY_ENVS).
        p.add_argument("--kms-key-id", metavar="ARN", help="AWS KMS key id/ARN (or $BACKUP_KMS_KEY_ID)")
        p.add_argument(
            "--azure-key-id",
            metavar="URL",
            help="Azure Key Vault RSA key, https://<vault>.vault.azure.net/keys/<name>[/<version>] "
            "(or $BACKUP_AZURE_KEY_ID)",
        )
        p.add_argument(
            "--gcp-kms-key",
            metavar="NAME",
            help="Cloud KMS key, projects/P/locations/L/keyRings/R/cryptoKeys/K (or $BACKUP_GCP_KMS_KEY)",
        )
        p.add_argument("--key-file", metavar="PATH", help=f"32-byte key file (or ${KEY_FILE_ENV})")
    p.add_argument("--log-format", choices=("json", "text"), help="default: text on a terminal, else json")


def _metrics(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--metrics-file",
        default=os.environ.get("BACKUP_METRICS_FILE"),
        help="node_exporter textfile-collector file to update (or $BACKUP_METRICS_FILE)",
    )
    p.add_argument(
        "--pushgateway",
        default=os.environ.get("BACKUP_PUSHGATEWAY"),
        help="Prometheus Pushgateway base URL (or $BACKUP_PUSHGATEWAY)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be >= 0")
    return value


def _kind(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--kind",
        choices=tuple(KINDS),
        help="only backups of this kind: dump (pg_dump), base (pg_basebackup), dir (directory tree); "
        "without it the newest backup of any kind is taken",
    )


def _add_keygen(sub: Any) -> None:
    """``keygen``: no targets or keys, so none of the common flags."""
    p = sub.add_parser("keygen", help="create a 32-byte key file (mode 0600)")
    p.add_argument("path")


def _add_backup_commands(sub: Any) -> None:
    """``backup`` and ``incremental`` share every writer flag (lock, chunking, zstd, metrics); only the source
    and the class default differ, so both come from one loop and their flags stay in step."""
    for name in ("backup", "incremental"):
        p = sub.add_parser(name, help="take a full backup" if name == "backup" else "incremental directory backup")
        if name == "backup":
            p.add_argument("--source", help="postgresql:// URL (pg_dump, or pg_basebackup with --pg-kind base)")
            p.add_argument("--pg-kind", choices=("dump", "base"), default="dump")
            p.add_argument(
                "--table-checksums",
                action="store_true",
                help="pg_dump only: record per-table checksums taken in the dump's own snapshot (what `drill` checks)",
            )
        p.add_argument("--source-dir", required=name == "incremental", help="directory tree to back up")
        p.add_argument(
            "--class",
            dest="backup_class",
            choices=CLASSES,
            default="chain" if name == "incremental" else None,
            required=name == "backup",
        )
        if name == "incremental":
            p.add_argument("--parent", help="backup id to diff against (default: newest dir backup)")
            p.add_argument(
                "--max-chain-days",
                type=_positive_int,
                default=DEFAULT_MAX_CHAIN_DAYS,
                help=f"take a full backup instead once the oldest object the chain references is older than this "
                f"(default {DEFAULT_MAX_CHAIN_DAYS}; 0: never). Keep the vault lifecycle >= retention + this",
            )
        _writer_options(p)
        _common(p)
        _metrics(p)


def _writer_options(p: argparse.ArgumentParser) -> None:
    """How a backup is written: object lock, versioning requirement, chunk size, zstd threads and level."""
    p.add_argument("--lock-days", type=_positive_int, default=0, help="S3 object-lock retention per object")
    p.add_argument(
        "--lock-mode",
        choices=LOCK_MODES,
        default="COMPLIANCE",
        help="S3 object-lock mode with --lock-days: COMPLIANCE (default; nobody can shorten it) or GOVERNANCE "
        "(an identity with s3:BypassGovernanceRetention can remove it: staging)",
    )
    p.add_argument(
        "--no-require-versioning",
        action="store_true",
        help="allow an S3 bucket without versioning for db/chain classes",
    )
    p.add_argument("--chunk-mib", type=_positive_int, default=DEFAULT_CHUNK >> 20)
    p.add_argument(
        "--threads", type=_positive_int, default=0, help="zstd threads (0: auto, single-threaded on <= 2 CPUs)"
    )
    p.add_argument(
        "--level",
        type=int,
        default=ZSTD_LEVEL,
        help=f"zstd level (default {ZSTD_LEVEL}; 1 is faster, 3+ smaller: see README, throughput)",
    )


def _add_read_commands(sub: Any) -> None:
    """``list``, ``verify``, ``restore`` and ``test-restore``: the commands that only read backups."""
    p = sub.add_parser("list", help="list complete backups (and incomplete ones with --all)")
    p.add_argument("--class", dest="backup_class", choices=(*CLASSES, "wal"))
    p.add_argument("--all", action="store_true", help="also show incomplete (crashed) backups")
    _common(p, key=False)

    p = sub.add_parser("verify", help="re-read every chunk: sha256, Merkle root, GCM tags, zstd checksum")
    p.add_argument("--class", dest="backup_class", choices=CLASSES)
    p.add_argument("--backup", help="backup id (default: newest)")
    _common(p)

    p = sub.add_parser("restore", help="restore to a new database or an empty directory (or --pitr)")
    p.add_argument("--to", required=True, help="postgresql://host/newdb or a directory path")
    p.add_argument("--class", dest="backup_class", choices=CLASSES)
    p.add_argument("--backup", help="backup id (default: newest)")
    _kind(p)
    p.add_argument("--pitr", metavar="TIME", help="point-in-time: base backup + archived WAL up to TIME")
    p.add_argument("--restore-command", help="restore_command to write for --pitr (default: our wal-fetch)")
    _common(p)

    p = sub.add_parser("test-restore", help="restore into a scratch database/directory, check, drop")
    p.add_argument("--class", dest="backup_class", choices=CLASSES)
    p.add_argument("--backup", help="backup id (default: newest, of --kind if given)")
    _kind(p)
    p.add_argument("--to", help="postgresql://host:port/ server for pg_dump backups")
    _common(p)
    _add_drill(sub)


def _add_drill(sub: Any) -> None:
    """``drill``: the newest dump into a scratch database (checksums against its snapshot's), a point-in-time
    restore to a recent time on a scratch server, restore times and data age pushed as dr_drill_* metrics."""
    p = sub.add_parser("drill", help="restore drill: newest dump + point-in-time restore, checked and timed")
    p.add_argument("--to", required=True, help="postgresql://user:pw@host:port/ scratch server for the dump")
    p.add_argument("--pitr", metavar="TIME", help="point-in-time target (default: now - --pitr-age-seconds)")
    p.add_argument("--pitr-age-seconds", type=_positive_int, default=300, help="target this far back (default 300)")
    p.add_argument("--work-dir", help="where the scratch data directory goes (default: the temp dir)")
    p.add_argument("--run-as", help="run the scratch PostgreSQL as this user (runuser; when the drill runs as root)")
    p.add_argument(
        "--pg-user", default="postgres", help="role to connect to the restored cluster as (default postgres)"
    )
    p.add_argument("--restore-command", help="restore_command for the replay (default: our wal-fetch, same keys)")
    p.add_argument(
        "--startup-timeout-seconds", type=_positive_int, default=1800, help="replay + promotion limit (default 1800)"
    )
    p.add_argument(
        "--pushgateway",
        default=os.environ.get("BACKUP_PUSHGATEWAY"),
        help="Pushgateway base URL for the dr_drill_* gauges (or $BACKUP_PUSHGATEWAY)",
    )
    _common(p)


def _add_prune(sub: Any) -> None:
    """``prune``: retention needs no key (it never opens a backup), only listing and deleting."""
    p = sub.add_parser("prune", help="apply retention (dry-run unless --apply)")
    p.add_argument("--class", dest="backup_class", action="append", choices=CLASSES)
    p.add_argument("--keep-days", type=_positive_int, help="override the class default (db 30, chain 90, state 7)")
    p.add_argument("--keep-last", type=_positive_int, default=1, help="always keep the newest N complete backups")
    p.add_argument("--apply", action="store_true", help="really delete (default: only report)")
    _common(p, key=False)


def _add_wal_commands(sub: Any) -> None:
    """``wal-push`` / ``wal-fetch``: PostgreSQL's archive_command and restore_command, positional like %p/%f."""
    p = sub.add_parser("wal-push", help="archive_command: archive one WAL file (%%p)")
    p.add_argument("path")
    _common(p)
    _metrics(p)

    p = sub.add_parser("wal-fetch", help="restore_command: fetch WAL file %%f to %%p")
    p.add_argument("name")
    p.add_argument("dest")
    _common(p)


def build_parser() -> argparse.ArgumentParser:
    """The whole CLI; subcommands are added in the order ``--help`` lists them."""
    parser = _Parser(prog="python -m functions.backup", description="Streaming encrypted backups.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_keygen(sub)
    _add_backup_commands(sub)
    _add_read_commands(sub)
    _add_prune(sub)
    _add_wal_commands(sub)
    return parser


def run(argv: list[str], reporter: Reporter | None = None) -> tuple[int, Any]:
    """Parses and runs one command; returns (exit status, JSON-able result). Never raises BackupError."""
    ns: argparse.Namespace | None = None
    started = time.monotonic()
    try:
        ns = build_parser().parse_args(argv)
        if reporter is None:
            fmt_choice = getattr(ns, "log_format", None)
            reporter = Reporter(json_logs=None if fmt_choice is None else fmt_choice == "json")
        result = _dispatch(ns, reporter)
        code = 0
        if isinstance(result, dict) and (result.get("targets_failed") or result.get("ok") is False):
            code = 1
        if isinstance(result, list) and any(r.get("ok") is False for r in result):
            code = 1
        _record(ns, ok=code == 0, result=result, duration=time.monotonic() - started)
        return code, result
    except UsageError as err:
        _say(reporter, err, "usage_error")
        return 2, {"error": str(err)}
    except BackupError as err:
        _say(reporter, err, "failed")
        if ns is not None:
            _record(ns, ok=False, result=None, duration=time.monotonic() - started)
        return 1, {"error": str(err)}
    except KeyboardInterrupt:
        return 130, {"error": "interrupted"}


def _say(reporter: Reporter | None, err: BackupError, event: str) -> None:
    if reporter is not None and reporter.json:
        reporter.event(event, level="error", error=str(err))
    else:
        sys.stderr.write(f"error: {err}\n")


def _record(ns: argparse.Namespace, *, ok: bool, result: Any, duration: float) -> None:
    if ns.command not in ("backup", "incremental", "wal-push"):
        return
    if not (getattr(ns, "metrics_file", None) or getattr(ns, "pushgateway", None)):
        return
    cls = "wal" if ns.command == "wal-push" else ns.backup_class
    read = 0
    if ok and isinstance(result, dict):
        read = int(result.get("sizes", {}).get("source_bytes", 0))
    try:
        warning = write_metrics(
            Path(ns.metrics_file) if ns.metrics_file else None,
            ns.pushgateway,
            backup_class=cls,
            ok=ok,
            bytes_read=read,
            duration=duration,
        )
        if warning:
            sys.stderr.write(f"warning: {warning}\n")
    except OSError as err:
        sys.stderr.write(f"warning: metrics not written: {err}\n")


def _start_source_early(ns: argparse.Namespace) -> Child | None:
    """Starts pg_dump / pg_basebackup right after parsing, before the heavy imports, key unwrapping and
    target checks: its connection and catalog phase (~45 ms before the first byte here, longer against a
    remote server) then overlaps them instead of following them. If anything below fails, the caller kills it
    (the dump only ever held ACCESS SHARE locks; nothing was written anywhere)."""
    if ns.command != "backup" or not ns.source or ns.source_dir or ns.table_checksums:
        return None  # (with --table-checksums pg_dump must wait for the snapshot it dumps)
    from functions.backup import sources

    sources.check_pg_url(ns.source, "--source")
    return sources.pg_basebackup(ns.source) if ns.pg_kind == "base" else sources.pg_dump(ns.source)


def _dispatch(ns: argparse.Namespace, reporter: Reporter) -> Any:
    child = _start_source_early(ns)
    try:
        return _dispatch_loaded(ns, reporter, child)
    finally:
        if child is not None:
            child.kill()  # a no-op once the backup has reaped it


def _dispatch_loaded(ns: argparse.Namespace, reporter: Reporter, child: Child | None) -> Any:
    """Opens what the command needs, in this order: nothing for keygen, the stores for list/prune (they never
    open a backup, so no key is unwrapped), the stores and the key ring for everything else."""
    from functions.backup import commands, keys  # the heavy imports (zstandard, cryptography, SDK shims)

    if ns.command == "keygen":
        keys.keygen(Path(ns.path))
        return {"created": ns.path, "mode": "0600"}
    stores = commands.open_stores(ns.target)
    if ns.command in ("list", "prune"):
        return _run_keyless(ns, reporter, stores)
    wrapper = keys.wrapper_from_options(
        key_file=ns.key_file, kms_key_id=ns.kms_key_id, azure_key_id=ns.azure_key_id, gcp_kms_key=ns.gcp_kms_key
    )
    if ns.command in ("backup", "incremental"):
        return _run_backup(ns, reporter, stores, wrapper, child)
    return _run_keyed(ns, reporter, stores, wrapper)


def _run_keyless(ns: argparse.Namespace, reporter: Reporter, stores: list[ObjectStore]) -> Any:
    """``list`` and ``prune``: they only read listings and delete objects, so they run without any key."""
    from functions.backup import commands

    if ns.command == "list":
        return commands.list_backups(stores, ns.backup_class, ns.all)
    classes: list[str] = list(ns.backup_class or CLASSES)
    return commands.prune(
        stores, classes, keep_days=ns.keep_days, keep_last=ns.keep_last, do_apply=ns.apply, reporter=reporter
    )


def _run_backup(
    ns: argparse.Namespace, reporter: Reporter, stores: list[ObjectStore], wrapper: KeyRing, child: Child | None
) -> Any:
    """``backup`` / ``incremental``: range-checks the writer flags argparse cannot (exit 2), then writes the
    backup (with the source started early, if any) and logs ``backup_finished``."""
    from functions.backup import commands

    if ns.chunk_mib < 1 or ns.chunk_mib > 64:
        raise UsageError(f"--chunk-mib {ns.chunk_mib}: allowed 1..64")
    common: dict[str, Any] = {
        "stores": stores,
        "wrapper": wrapper,
        "reporter": reporter,
        "backup_class": ns.backup_class,
        "lock_days": ns.lock_days,
        "lock_mode": ns.lock_mode,
        "require_versioning": False if ns.no_require_versioning else None,
        "chunk_size": ns.chunk_mib << 20,
        "level": ns.level,
    }
    if not -7 <= ns.level <= 19:
        raise UsageError(f"--level {ns.level}: allowed -7..19")
    if ns.command == "backup":
        result = commands.backup(
            source_url=ns.source,
            source_dir=ns.source_dir,
            pg_kind=ns.pg_kind,
            threads=ns.threads,
            child=child,
            table_checksums=ns.table_checksums,
            **common,
        )
    else:
        result = commands.incremental(
            source_dir=ns.source_dir, parent_id=ns.parent, max_chain_days=ns.max_chain_days, **common
        )
    reporter.event("backup_finished", **{k: result[k] for k in ("backup_id", "duration_s", "sizes")})
    return result


def _run_keyed(ns: argparse.Namespace, reporter: Reporter, stores: list[ObjectStore], wrapper: KeyRing) -> Any:
    """The commands that open existing backups with the key ring: verify, restore, test-restore, WAL push/fetch."""
    from functions.backup import commands

    if ns.command == "verify":
        return commands.verify_backups(stores, wrapper, ns.backup_class, ns.backup, reporter)
    if ns.command == "restore":
        return _run_restore(ns, reporter, stores, wrapper)
    if ns.command == "test-restore":
        return commands.test_restore(
            stores=stores,
            wrapper=wrapper,
            reporter=reporter,
            backup_class=ns.backup_class,
            backup_id=ns.backup,
            kind=ns.kind,
            server=ns.to,
        )
    if ns.command == "drill":
        return _run_drill(ns, reporter, stores, wrapper)
    if ns.command == "wal-push":
        return commands.wal_push(stores, wrapper, reporter, ns.path)
    if ns.command == "wal-fetch":
        return commands.wal_fetch(stores, wrapper, ns.name, ns.dest)
    raise UsageError(f"unknown command {ns.command}")


def _run_drill(ns: argparse.Namespace, reporter: Reporter, stores: list[ObjectStore], wrapper: KeyRing) -> Any:
    """``drill``: runs both restore paths and pushes the outcome (a failure too, so the alert sees it)."""
    from functions.backup import drill, keys

    opts = drill.DrillOptions(
        server=ns.to,
        pitr=ns.pitr,
        pitr_age_seconds=ns.pitr_age_seconds,
        work_dir=ns.work_dir,
        run_as=ns.run_as,
        pg_user=ns.pg_user,
        restore_command=ns.restore_command,
        startup_timeout_seconds=ns.startup_timeout_seconds,
        key_args=keys.key_options(
            key_file=ns.key_file, kms_key_id=ns.kms_key_id, azure_key_id=ns.azure_key_id, gcp_kms_key=ns.gcp_kms_key
        ),
        targets=ns.target,
    )
    result: dict[str, Any] | None = None
    try:
        result = drill.run_drill(stores, wrapper, reporter, opts)
        return result
    finally:
        if ns.pushgateway:
            try:
                drill.push_drill_metrics(ns.pushgateway, result)
            except OSError as err:
                sys.stderr.write(f"warning: drill metrics not pushed: {err}\n")


def _run_restore(ns: argparse.Namespace, reporter: Reporter, stores: list[ObjectStore], wrapper: KeyRing) -> Any:
    """``restore``: also passes the key flags and targets on, so a ``--pitr`` restore_command can fetch WAL
    with the same keys and stores."""
    from functions.backup import commands, keys

    return commands.restore(
        stores=stores,
        wrapper=wrapper,
        reporter=reporter,
        to=ns.to,
        backup_class=ns.backup_class,
        backup_id=ns.backup,
        kind=ns.kind,
        pitr=ns.pitr,
        restore_command=ns.restore_command,
        key_args=keys.key_options(
            key_file=ns.key_file,
            kms_key_id=ns.kms_key_id,
            azure_key_id=ns.azure_key_id,
            gcp_kms_key=ns.gcp_kms_key,
        ),
        targets=ns.target,
    )


def main(argv: list[str] | None = None) -> int:
    code, result = run(sys.argv[1:] if argv is None else argv)
    if code != 2 and not (isinstance(result, dict) and set(result) == {"error"}):
        sys.stdout.write(json.dumps(result, indent=1, default=str) + "\n")
    return code
