"""RPO per destination and per failure from the declared WAL mechanism (hand-checked arithmetic)."""

from __future__ import annotations

from components.disaster_recovery.config import DrSettings
from components.disaster_recovery.rpo import WalMechanism, rpo_by_destination, rpo_by_failure

DR = DrSettings(enabled=True)


def _wal(mode: str, vaults: tuple[str, ...] = ("s3", "azure_blob", "gcs")) -> WalMechanism:
    return WalMechanism(mode, 30, 10, vaults, 21_600)  # type: ignore[arg-type]


def test_archive_command_bounds_every_cloud_by_timeout_plus_push() -> None:
    got = rpo_by_destination(_wal("archive_command"), DR)
    assert {d: r.seconds for d, r in got.items()} == {"s3": 40, "azure_blob": 40, "gcs": 40, "dr_replica": None}
    assert "holds no copy of the live data" in got["dr_replica"].mechanism
    failures = rpo_by_failure(got, replication_time_control=True)
    assert {f: (r.seconds, r.via) for f, r in failures.items()} == {
        "region_loss": (40, "azure_blob"),
        "cloud_loss": (40, "azure_blob"),
        "corruption": (40, "s3"),
    }


def test_rds_keeps_s3_at_the_log_upload_and_the_other_clouds_at_the_dumps() -> None:
    got = rpo_by_destination(_wal("rds"), DR)
    assert {d: r.seconds for d, r in got.items()} == {"s3": 300, "azure_blob": 21_600, "gcs": 21_600, "dr_replica": 5}
    failures = rpo_by_failure(got, replication_time_control=True)
    assert (failures["region_loss"].seconds, failures["region_loss"].via) == (5, "dr_replica")
    assert (failures["corruption"].seconds, failures["corruption"].via) == (300, "s3")


def test_an_s3_only_stack_survives_a_region_through_the_replicated_copy_and_no_cloud_loss() -> None:
    got = rpo_by_destination(_wal("archive_command", ("s3",)), DrSettings(enabled=False))
    assert set(got) == {"s3", "azure_blob", "gcs"} and got["gcs"].seconds is None
    failures = rpo_by_failure(got, replication_time_control=True)
    assert (failures["region_loss"].seconds, failures["region_loss"].via) == (40 + 900, "s3_dr_copy")
    assert failures["cloud_loss"].seconds is None
    assert rpo_by_failure(got, replication_time_control=False)["region_loss"].seconds is None
