"""storage-lifecycle-covers-chain: both real plans pass; a lifecycle shorter than retention + chain length on any
of the three clouds, a chain that is never rebased or rebased too rarely, or a longer prune retention fails
naming the lifecycle that would delete referenced chunks."""

from __future__ import annotations

from typing import Any

import pytest

from functions.backup import defaults, retention
from policies.rules import storage_lifecycle_covers_chain as rule
from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, records_of, violations

POLICY = "storage-lifecycle-covers-chain"


def _found(records: list[dict[str, Any]], stack: str = "prod") -> list[tuple[str | None, str]]:
    return [(v.urn, v.message) for v in violations(records, stack) if v.policy == POLICY]


def _args(inputs: dict[str, Any]) -> list[str]:
    return inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_pass(stack: str) -> None:
    records = records_of(plan_of(stack))
    chain_jobs = [r for r in records if r["name"].endswith("backup-chain") and r["type"].endswith("CronJob")]
    assert chain_jobs and "--max-chain-days" in _args(chain_jobs[0]["inputs"]), "the chain job must rebase"
    assert _found(records, stack) == []


def test_the_pack_defaults_are_the_backup_functions() -> None:
    assert rule.DEFAULT_MAX_CHAIN_DAYS == defaults.DEFAULT_MAX_CHAIN_DAYS
    assert rule.DEFAULT_RETENTION_DAYS == retention.RETENTION_DAYS


def _set_s3_chain_days(days: int) -> Any:
    def change(inputs: dict[str, Any]) -> None:
        for r in inputs["rules"]:
            if r["filter"].get("prefix") == "chain/":
                r["expiration"]["days"] = days

    return change


def test_s3_lifecycle_at_bare_retention_fails() -> None:
    records, urn = mutate(
        records_of(plan_of("prod")), "BucketLifecycleConfiguration", _set_s3_chain_days(90), "backup-s3-lifecycle"
    )
    found = _found(records)
    assert [u for u, _ in found] == [urn], found
    assert "'chain-retention' expires chain objects after 90 d" in found[0][1]
    assert "keeps backups 90 d with a full backup every 7 d (needs >= 97 d)" in found[0][1]


def test_azure_and_gcs_lifecycles_shorter_than_the_chain_fail() -> None:
    def azure(inputs: dict[str, Any]) -> None:
        for r in inputs["policy"]["rules"]:
            if r["name"] == "chain-retention":
                r["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] = 93

    def gcs(inputs: dict[str, Any]) -> None:
        inputs["lifecycleRules"][0]["condition"]["age"] = 60

    records, azure_urn = mutate(records_of(plan_of("prod")), "storage:ManagementPolicy", azure)
    records, gcs_urn = mutate(records, "storage/bucket:Bucket", gcs, "backup-gcs-chain")
    found = dict(_found(records))
    assert set(found) == {azure_urn, gcs_urn}, found
    assert "rule 'chain-retention' expires chain objects after 93 d" in found[azure_urn]
    assert "Delete rule expires chain objects after 60 d" in found[gcs_urn]


@pytest.mark.parametrize(("value", "needs"), [("0", "a chain never rebased"), ("30", "(needs >= 120 d)")])
def test_a_chain_rebased_too_rarely_fails_on_every_cloud(value: str, needs: str) -> None:
    def change(inputs: dict[str, Any]) -> None:
        args = _args(inputs)
        args[args.index("--max-chain-days") + 1] = value

    records, _ = mutate(records_of(plan_of("prod")), "CronJob", change, "backup-jobs-backup-chain")
    found = _found(records)
    assert len(found) == 3 and all(needs in m for _, m in found), found


def test_a_chain_job_without_the_flag_uses_the_functions_default() -> None:
    def drop(inputs: dict[str, Any]) -> None:
        args = _args(inputs)
        index = args.index("--max-chain-days")
        del args[index : index + 2]

    records, _ = mutate(records_of(plan_of("prod")), "CronJob", drop, "backup-jobs-backup-chain")
    assert _found(records) == []


def test_a_longer_prune_retention_fails() -> None:
    def change(inputs: dict[str, Any]) -> None:
        args = _args(inputs)
        args[args.index("--keep-days") + 1] = "120"

    records, _ = mutate(records_of(plan_of("prod")), "CronJob", change, "backup-jobs-prune-chain")
    found = _found(records)
    assert len(found) == 3 and all("keeps backups 120 d" in m for _, m in found), found
