"""Storage, Redis, DR, backup-schedule, IAM and tag rules: each passes on the real plans and catches a
mutation of a real plan (an encryption block removed, a lock beyond the lifecycle, a Redis without auth,
...), naming the URN of the resource to fix."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, records_of, violations

Mutation = Callable[[dict[str, Any]], object]


def _prod() -> list[dict[str, Any]]:
    return records_of(plan_of("prod"))


def _urn(records: list[dict[str, Any]], name: str) -> str:
    return next(r["urn"] for r in records if r["name"] == name)


def _set_policy_actions(inputs: dict[str, Any]) -> None:
    doc = json.loads(inputs["policy"])
    doc["Statement"][0]["Action"] = ["s3:*"]
    inputs["policy"] = json.dumps(doc)


def _drop_redis_auth(inputs: dict[str, Any]) -> None:
    data = inputs["data"]
    data["redis.conf"] = "\n".join(line for line in data["redis.conf"].splitlines() if not line.startswith("include"))
    for key in list(data):
        if key != "redis.conf":
            data[key] = data[key].replace("masterauth", "# no-auth")


def _no_persistence(inputs: dict[str, Any]) -> None:
    conf = inputs["data"]["redis.conf"]
    lines = [line for line in conf.splitlines() if not line.startswith(("save ", "appendonly "))]
    inputs["data"]["redis.conf"] = "\n".join([*lines, "appendonly no", 'save ""'])


# (policy, type suffix, resource name, mutation, URN owner name (None = same resource), message fragment)
CASES: list[tuple[str, str, str, Mutation, str | None, str]] = [
    (
        "storage-customer-key-encryption",
        "BucketServerSideEncryptionConfiguration",
        "backup-s3-encryption",
        lambda i: i["rules"][0]["applyServerSideEncryptionByDefault"].update(
            sseAlgorithm="AES256", kmsMasterKeyId=None
        ),
        "backup-s3-bucket",
        "not a customer-managed KMS key",
    ),
    (
        "storage-customer-key-encryption",
        "storage/bucket:Bucket",
        "backup-gcs-chain",
        lambda i: i.pop("encryption"),
        None,
        "defaultKmsKeyName",
    ),
    (
        "storage-customer-key-encryption",
        "StorageAccount",
        "backup-azure-account",
        lambda i: i["encryption"].update(requireInfrastructureEncryption=False),
        None,
        "double",
    ),
    (
        "storage-versioning-immutability",
        "BucketVersioning",
        "backup-s3-versioning",
        lambda i: i["versioningConfiguration"].update(status="Suspended"),
        "backup-s3-bucket",
        "must be Enabled",
    ),
    (
        "storage-versioning-immutability",
        "storage/bucket:Bucket",
        "backup-gcs-db",
        lambda i: i["versioning"].update(enabled=True),
        None,
        "combines object versioning",
    ),
    (
        "storage-versioning-immutability",
        "BlobServiceProperties",
        "backup-azure-blob-service",
        lambda i: i.update(isVersioningEnabled=False),
        "backup-azure-account",
        "no blob versioning",
    ),
    (
        "storage-lifecycle-consistent-with-lock",
        "BucketObjectLockConfiguration",
        "backup-s3-object-lock",
        lambda i: i["rule"]["defaultRetention"].update(days=400),
        None,
        "exceeds the shortest lifecycle expiry",
    ),
    (
        "storage-lifecycle-consistent-with-lock",
        "storage/bucket:Bucket",
        "backup-gcs-state",
        lambda i: i.update(lifecycleRules=[]),
        None,
        "no Delete lifecycle rule",
    ),
    (
        "storage-public-access-blocked",
        "BucketPublicAccessBlock",
        "backup-s3-public-access-block",
        lambda i: i.update(blockPublicPolicy=False),
        None,
        "blockPublicPolicy",
    ),
    (
        "storage-public-access-blocked",
        "StorageAccount",
        "backup-azure-account",
        lambda i: i.update(allowBlobPublicAccess=True),
        None,
        "allows public blob access",
    ),
    (
        "storage-public-access-blocked",
        "storage/bucket:Bucket",
        "backup-gcs-chain",
        lambda i: i.update(publicAccessPrevention="inherited"),
        None,
        "publicAccessPrevention",
    ),
    (
        "storage-tls-only",
        "BucketPolicy",
        "backup-s3-policy",
        lambda i: i.update(policy=json.dumps({"Version": "2012-10-17", "Statement": []})),
        "backup-s3-bucket",
        "does not deny non-TLS",
    ),
    (
        "storage-tls-only",
        "StorageAccount",
        "backup-azure-account",
        lambda i: i.update(minimumTlsVersion="TLS1_0"),
        None,
        "TLS1_0",
    ),
    ("redis-auth", "ConfigMap", "redis-config", _drop_redis_auth, None, "no requirepass"),
    ("redis-persistence", "ConfigMap", "redis-config", _no_persistence, None, "persists nothing"),
    (
        "redis-replicas-anti-affinity",
        "StatefulSet",
        "redis-shard-1",
        lambda i: i["spec"].update(replicas=1),
        None,
        "needs a replica per master",
    ),
    (
        "redis-replicas-anti-affinity",
        "StatefulSet",
        "redis-shard-2",
        lambda i: i["spec"]["template"]["spec"].pop("affinity"),
        None,
        "no required zone anti-affinity",
    ),
    (
        "backup-schedule-within-rpo",
        "CronJob",
        "backup-jobs-backup-chain",
        lambda i: i["spec"].update(schedule="*/30 * * * *"),
        None,
        "chain backups run up to 1800 s apart",
    ),
    ("iam-no-wildcards", "iam/policy:Policy", "backup-s3-writer-policy", _set_policy_actions, None, "wildcard actions"),
    (
        "iam-no-wildcards",
        "RoleDefinition",
        "backup-azure-writer-role",
        lambda i: i["permissions"][0].update(dataActions=["*"]),
        None,
        "wildcards",
    ),
    (
        "tags-required",
        "StatefulSet",
        "redis-shard-0",
        lambda i: i["metadata"]["labels"].pop("platform.example.com/owner"),
        None,
        "['owner']",
    ),
]


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_pass_every_rule(stack: str) -> None:
    found = [
        v for v in violations(records_of(plan_of(stack)), stack, plan_of(stack).outputs) if v.enforcement == "mandatory"
    ]
    assert found == [], "\n".join(f"{v.policy} {v.urn}: {v.message}" for v in found)


@pytest.mark.parametrize(
    ("policy", "suffix", "name", "change", "owner", "expected"),
    CASES,
    ids=[f"{c[0]}:{c[2]}:{c[5][:24]}" for c in CASES],
)
def test_mutation_fails_the_gate_naming_the_urn(
    policy: str, suffix: str, name: str, change: Mutation, owner: str | None, expected: str
) -> None:
    records, urn = mutate(_prod(), suffix, change, name=name)
    target = _urn(records, owner) if owner else urn
    found = [v for v in violations(records, "prod", plan_of("prod").outputs) if v.policy == policy]
    assert any(v.urn == target and expected in v.message for v in found), found


def test_prod_without_replication_fails_only_in_prod() -> None:
    records = [r for r in _prod() if not r["type"].endswith("BucketReplicationConfig")]
    prod = [v for v in violations(records, "prod") if v.policy == "storage-prod-backup-replication"]
    assert any(v.urn == _urn(records, "backup-s3-bucket") for v in prod)
    assert not [v for v in violations(records, "staging") if v.policy == "storage-prod-backup-replication"]


def test_recovery_bounds_are_checked_against_the_targets() -> None:
    outputs = copy.deepcopy(plan_of("prod").outputs)
    outputs["dr"]["rto_seconds_bound"] = 420
    found = [v for v in violations(_prod(), "prod", outputs) if v.policy == "dr-recovery-bounds"]
    assert any(
        "rto_seconds_bound 420 s exceeds the target 300 s" in v.message and (v.urn or "").endswith("::platform-prod")
        for v in found
    )
    without_dr = {k: v for k, v in plan_of("prod").outputs.items() if k != "dr"}
    assert any(
        "exports no dr section" in v.message
        for v in violations(_prod(), "prod", without_dr)
        if v.policy == "dr-recovery-bounds"
    )


def test_provider_without_default_tags_fails_every_aws_resource() -> None:
    def untag(inputs: dict[str, Any]) -> None:
        inputs["defaultTags"] = json.dumps({"tags": {"environment": "prod"}})

    records, _ = mutate(_prod(), "providers:aws", untag, name="aws-primary")
    found = [v for v in violations(records, "prod") if v.policy == "tags-required"]
    aws_urns = {
        r["urn"] for r in records if r["type"].startswith("aws:") and r["provider"] and "aws-primary" in r["provider"]
    }
    assert aws_urns and aws_urns <= {v.urn for v in found}
