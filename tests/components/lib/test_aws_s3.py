"""What ``declare_private_bucket`` declares, run on the mock engine through a small program.

The program declares three buckets under one component, through an explicit regional provider and with
``protect`` in the data options (as a prod stack passes them):
- ``vault``: SSE-KMS, object lock with a default retention, lifecycle, the bucket named ``vault-bucket``;
- ``logs``: the access-log variant (SSE-S3, unversioned, policy not waiting for the public-access block);
- ``plain``: SSE-KMS, no lock, renamed children, unprotected versioning, lifecycle not after versioning.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from components.lib.aws_s3 import DefaultRetention, PrivateBucketSpec
from offline.engine import PlanResult, ResourceRecord, run_program
from tests.plans import REPO

BUCKET = "aws:s3/bucket:Bucket"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"

PROGRAM = """
import json

import pulumi
import pulumi_aws as aws

from components.lib.aws_s3 import DefaultRetention, PrivateBucketSpec, ResourceNames, declare_private_bucket


def tls_only(arn):
    return arn.apply(
        lambda a: json.dumps(
            {"Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Resource": [a, a + "/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
        )
    )


RULE = {"id": "expire", "status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 30}}


class Holder(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("test:aws_s3:Holder", name)
        provider = aws.Provider("regional", region="eu-west-1")
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        data = pulumi.ResourceOptions(parent=self, provider=provider, protect=True)
        key = aws.kms.Key("key", opts=data)
        self.vault = declare_private_bucket(
            "vault",
            PrivateBucketSpec(
                kms_key_arn=key.arn,
                policy=tls_only,
                object_lock=True,
                default_retention=DefaultRetention(mode="GOVERNANCE", days=7),
                lifecycle_rules=[RULE],
                names=ResourceNames(bucket="bucket"),
            ),
            data_opts=data,
            child_opts=child,
        )
        self.logs = declare_private_bucket(
            "logs",
            PrivateBucketSpec(
                kms_key_arn=None,
                policy=tls_only,
                force_destroy=True,
                versioning=False,
                lifecycle_rules=[RULE],
                policy_after_public_access_block=False,
            ),
            data_opts=data,
            child_opts=child,
        )
        self.plain = declare_private_bucket(
            "plain",
            PrivateBucketSpec(
                kms_key_arn=key.arn,
                policy=tls_only,
                lifecycle_rules=[RULE],
                names=ResourceNames(public_access_block="public-access", policy="tls-only"),
                protect_versioning=False,
                lifecycle_after_versioning=False,
            ),
            data_opts=data,
            child_opts=child,
        )


holder = Holder("holder")
try:
    holder.logs.require_versioning()
    error = None
except ValueError as caught:
    error = str(caught)
pulumi.export("logs_require_versioning_error", error)
pulumi.export("vault_declared", {
    "versioning": holder.vault.require_versioning() is holder.vault.versioning,
    "object_lock": holder.vault.object_lock is not None,
    "lifecycle": holder.vault.lifecycle is not None,
})
"""


@functools.cache
def plan() -> PlanResult:
    path = Path(tempfile.mkdtemp(prefix="aws-s3-program-")) / "program.py"
    path.write_text(PROGRAM)
    return run_program("test", {}, path)


def records(prefix: str) -> dict[str, ResourceRecord]:
    """The S3 resources named ``prefix`` or ``prefix-*``, by type token."""
    found = [
        r
        for r in plan().resources
        if r.type.startswith("aws:s3/") and (r.name == prefix or r.name.startswith(f"{prefix}-"))
    ]
    by_type = {r.type: r for r in found}
    assert len(by_type) == len(found), f"two resources of one type for {prefix}"
    return by_type


def depends_on(record: ResourceRecord) -> list[str]:
    return record.options.get("dependsOn", [])


def test_kms_variant_declares_the_whole_hardened_set() -> None:
    vault = records("vault")
    assert set(vault) == {
        BUCKET,
        OWNERSHIP,
        PUBLIC_ACCESS_BLOCK,
        VERSIONING,
        ENCRYPTION,
        OBJECT_LOCK,
        LIFECYCLE,
        POLICY,
    }
    assert {r.type: r.name for r in vault.values()} == {
        BUCKET: "vault-bucket",
        OWNERSHIP: "vault-ownership",
        PUBLIC_ACCESS_BLOCK: "vault-public-access-block",
        VERSIONING: "vault-versioning",
        ENCRYPTION: "vault-encryption",
        OBJECT_LOCK: "vault-object-lock",
        LIFECYCLE: "vault-lifecycle",
        POLICY: "vault-policy",
    }
    assert vault[BUCKET].inputs["objectLockEnabled"] is True
    assert vault[BUCKET].inputs["forceDestroy"] is False
    assert vault[OWNERSHIP].inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert {f: vault[PUBLIC_ACCESS_BLOCK].inputs[f] for f in flags} == dict.fromkeys(flags, True)
    assert vault[VERSIONING].inputs["versioningConfiguration"] == {"status": "Enabled"}
    (rule,) = vault[ENCRYPTION].inputs["rules"]
    key = next(r for r in plan().resources if r.name == "key")
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:eu-west-1:")
    assert rule["bucketKeyEnabled"] is True
    assert vault[ENCRYPTION].property_dependencies["rules"] == [key.urn]
    assert vault[OBJECT_LOCK].inputs["objectLockEnabled"] == "Enabled"
    assert vault[OBJECT_LOCK].inputs["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 7}}
    assert vault[LIFECYCLE].inputs["rules"] == [
        {"id": "expire", "status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 30}}
    ]
    for record in vault.values():  # every configuration resource configures this bucket
        if record.type != BUCKET:
            assert record.inputs["bucket"].startswith("vault-bucket-")
            assert record.property_dependencies["bucket"] == [vault[BUCKET].urn]
    statement = json.loads(vault[POLICY].inputs["policy"])["Statement"][0]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [
        f"arn:aws:s3:::{vault[POLICY].inputs['bucket']}",
        f"arn:aws:s3:::{vault[POLICY].inputs['bucket']}/*",
    ]


def test_log_variant_is_sse_s3_unversioned_and_unlocked() -> None:
    logs = records("logs")
    assert set(logs) == {BUCKET, OWNERSHIP, PUBLIC_ACCESS_BLOCK, ENCRYPTION, LIFECYCLE, POLICY}
    assert logs[BUCKET].name == "logs"
    assert "objectLockEnabled" not in logs[BUCKET].inputs
    assert logs[BUCKET].inputs["forceDestroy"] is True
    assert logs[ENCRYPTION].inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    assert depends_on(logs[POLICY]) == [logs[BUCKET].urn]


def test_object_lock_and_lifecycle_wait_for_versioning() -> None:
    vault = records("vault")
    versioning = vault[VERSIONING].urn
    assert versioning in depends_on(vault[OBJECT_LOCK])
    assert versioning in depends_on(vault[LIFECYCLE])
    assert vault[PUBLIC_ACCESS_BLOCK].urn in depends_on(vault[POLICY])
    plain = records("plain")
    assert plain[VERSIONING].urn not in depends_on(plain[LIFECYCLE])
    assert plain[PUBLIC_ACCESS_BLOCK].urn in depends_on(plain[POLICY])


def test_protect_goes_to_data_holding_resources_only() -> None:
    protected = {r.name for r in plan().resources if r.type.startswith("aws:s3/") and r.options.get("protect")}
    assert protected == {"vault-bucket", "vault-versioning", "vault-object-lock", "logs", "plain"}


def test_every_resource_has_the_callers_parent_and_provider() -> None:
    s3 = [r for r in plan().resources if r.type.startswith("aws:s3/")]
    assert len(s3) == 8 + 6 + 7
    assert {r.parent for r in s3} == {next(r.urn for r in plan().resources if r.type == "test:aws_s3:Holder")}
    assert {r.provider for r in s3} == {next(r.urn for r in plan().resources if r.name == "regional")}


def test_renamed_children_keep_the_prefix() -> None:
    assert sorted(r.name for r in records("plain").values()) == [
        "plain",
        "plain-encryption",
        "plain-lifecycle",
        "plain-ownership",
        "plain-public-access",
        "plain-tls-only",
        "plain-versioning",
    ]


def test_require_versioning() -> None:
    assert plan().outputs["logs_require_versioning_error"] == "private bucket 'logs' was declared without versioning"
    assert plan().outputs["vault_declared"] == {"versioning": True, "object_lock": True, "lifecycle": True}


def _policy(arn: object) -> str:
    return "{}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"versioning": False, "object_lock": True}, "object_lock needs versioning"),
        ({"default_retention": DefaultRetention(mode="COMPLIANCE", days=1)}, "default_retention needs object_lock"),
    ],
)
def test_spec_rejects_impossible_buckets(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrivateBucketSpec(kms_key_arn=None, policy=_policy, **changes)  # type: ignore[arg-type]


def test_default_retention_needs_a_day() -> None:
    with pytest.raises(ValueError, match="at least 1, got 0"):
        DefaultRetention(mode="COMPLIANCE", days=0)


def test_module_import_does_not_load_the_aws_sdk() -> None:
    code = "import sys, components.lib.aws_s3; print('pulumi_aws' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
