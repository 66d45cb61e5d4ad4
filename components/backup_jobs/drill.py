"""The weekly restore drill's CronJob: ``python -m functions.backup drill`` against the scratch server.

It restores the newest database dump into a scratch database and checks its per-table checksums against the
ones the dump recorded in its own snapshot (the db dump jobs add ``--table-checksums`` while the drill is on),
then replays the WAL archive to a recent time on a scratch PostgreSQL inside the pod (the image's server
binaries; the data directory on a bounded emptyDir), and pushes ``dr_drill_*`` gauges to the Pushgateway,
which the monitoring package declares and alerts on (no successful drill for ``max_age_days``).
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.backup_jobs.manifests import (
    SCRATCH_URL_ENV,
    JobsContext,
    _common_tail,
    _targets,
    cronjob_manifest,
    job_pod_spec,
    key_args,
)

NAME = "backup-drill"
WORK_DIR = "/drill"


def drill_argv(ctx: JobsContext) -> list[pulumi.Input[str]]:
    """Every vault of the db class (the restore falls back across them), every key, the scratch server."""
    drill = ctx.settings.drill
    return [
        "drill",
        "--to",
        f"$({SCRATCH_URL_ENV})",
        "--pitr-age-seconds",
        str(drill.pitr_age_seconds),
        "--work-dir",
        WORK_DIR,
        "--pg-user",
        drill.pg_user,
        "--startup-timeout-seconds",
        str(drill.startup_timeout_seconds),
        *_targets(ctx, "db"),
        *key_args(ctx),
        "--pushgateway",
        ctx.settings.pushgateway_url,
        *_common_tail(ctx),
    ]


def drill_cronjob(ctx: JobsContext) -> dict[str, Any]:
    """The CronJob, with a work volume sized for a copy of the base backup plus the replayed WAL."""
    drill = ctx.settings.drill
    spec = job_pod_spec(ctx, drill_argv(ctx), data_class="db", scratch_db=True)
    container = spec["containers"][0]
    container["volumeMounts"] = [*container["volumeMounts"], {"name": "drill-work", "mountPath": WORK_DIR}]
    spec["volumes"] = [*spec["volumes"], {"name": "drill-work", "emptyDir": {"sizeLimit": drill.work_volume_size}}]
    return cronjob_manifest(
        ctx,
        NAME,
        "backup-drill",
        drill.schedule,
        spec,
        deadline_seconds=drill.deadline_seconds,
        starting_deadline_seconds=3600,
    )
