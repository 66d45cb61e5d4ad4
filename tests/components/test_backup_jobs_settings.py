"""Pure checks of the backup_jobs settings: cron gap arithmetic and the class defaults merge."""

from __future__ import annotations

import pytest

from components.settings.backup_jobs import BackupJobsSettings, max_gap_seconds


@pytest.mark.parametrize(
    ("schedule", "gap"),
    [("* * * * *", 60), ("*/5 * * * *", 300), ("0 */6 * * *", 21_600), ("15 1 * * *", 86_400), ("0 5 * * 0", 604_800)],
)
def test_max_gap_seconds(schedule: str, gap: int) -> None:
    assert max_gap_seconds(schedule) == gap


def test_max_gap_sees_an_uneven_schedule() -> None:
    # 00:00 and 01:00 only: the widest gap is 23 hours, not the first one
    assert max_gap_seconds("0 0,1 * * *") == 23 * 3600


def test_max_gap_stops_early_above_the_limit() -> None:
    assert max_gap_seconds("0 */6 * * *", limit=60) == 21_600


def test_a_stack_lists_only_the_classes_it_changes() -> None:
    settings = BackupJobsSettings.model_validate(
        {
            "image": "ghcr.io/example/backup:1.0.0",
            "classes": {"chain": {"source": {"claim_name": "geth"}, "incremental": True}},
        }
    )
    assert set(settings.classes) == {"db", "chain", "state"}
    chain = settings.classes["chain"].source
    assert chain is not None and chain.claim_name == "geth"
    state = settings.classes["state"].source
    assert state is not None and state.claim_name == "app-state"
