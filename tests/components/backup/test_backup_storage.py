"""BackupStorage on the mock engine: what each cloud's vault declares, read from the plan as the engine
receives it (camelCase inputs, options), plus the writers' policy documents and bad config."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.backup.aws import WAL_PREFIX, WRITER_DENIED_ACTIONS, writer_policy
from components.backup.azure import WRITER_ACTIONS, WRITER_DATA_ACTIONS
from components.backup.gcs import WRITER_PERMISSIONS
from components.platform.config import ConfigError, load_stack_file, parse_config
from offline.engine import PlanResult, ResourceRecord
from tests.plans import REPO, deep_merge, named, of_type, plan_of, stack_values

DAY = 86400
PROD_RETENTION = {"db": 30, "chain": 90, "state": 7}
PROD_EXPIRY = {"db": 30, "chain": 97, "state": 7}
"""Lifecycle expiry = retention + full_interval_days (chain: a full backup weekly), so a chain's first chunks
outlive every incremental still within retention that references them."""


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return plan_of("prod")


@pytest.fixture(scope="module")
def staging() -> PlanResult:
    return plan_of("staging")


def _policy(record: ResourceRecord) -> dict[str, Any]:
    return json.loads(record.inputs["policy"])


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


# --- AWS ----------------------------------------------------------------------------------------------


def test_s3_vault_encrypted_with_rotating_customer_key_and_bucket_key(prod: PlanResult) -> None:
    key = named(prod, "backup-s3-key")
    assert key.inputs["enableKeyRotation"] is True
    rule = named(prod, "backup-s3-encryption").inputs["rules"][0]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"].startswith("arn:aws:kms:us-east-1:")
    assert rule["bucketKeyEnabled"] is True


def test_s3_vault_versioned_and_object_locked(prod: PlanResult) -> None:
    assert named(prod, "backup-s3-bucket").inputs["objectLockEnabled"] is True
    assert named(prod, "backup-s3-versioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    lock = named(prod, "backup-s3-object-lock")
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 7}
    assert any(urn.endswith("::backup-s3-versioning") for urn in lock.options["dependsOn"])


def test_s3_lifecycle_days_per_class(prod: PlanResult) -> None:
    rules = {r["id"]: r for r in named(prod, "backup-s3-lifecycle").inputs["rules"]}
    for data_class, days in {**PROD_EXPIRY, WAL_PREFIX: PROD_EXPIRY["db"]}.items():
        rule = rules[f"{data_class}-retention"]
        assert rule["filter"] == {"prefix": f"{data_class}/"}
        assert rule["expiration"] == {"days": days}
        assert rule["noncurrentVersionExpiration"]["noncurrentDays"] >= 1
        assert rule["status"] == "Enabled"
    assert rules["expired-delete-markers"]["expiration"] == {"expiredObjectDeleteMarker": True}


def test_s3_lock_never_outlives_lifecycle(prod: PlanResult, staging: PlanResult) -> None:
    """Default retention <= every prefix's expiry; per-object locks the writer may set <= its prefix's expiry."""
    for plan, vault in ((prod, "backup-s3"), (staging, "backup-s3"), (prod, "dr")):
        expiry = {
            r["filter"]["prefix"]: r["expiration"]["days"]
            for r in named(plan, f"{vault}-lifecycle").inputs["rules"]
            if "days" in r["expiration"]
        }
        default_days = named(plan, f"{vault}-object-lock").inputs["rule"]["defaultRetention"]["days"]
        assert all(default_days <= days for days in expiry.values())
    writer = _policy(named(prod, "backup-s3-writer-policy"))
    prod_expiry = {
        r["filter"]["prefix"]: r["expiration"]["days"]
        for r in named(prod, "backup-s3-lifecycle").inputs["rules"]
        if "days" in r["expiration"]
    }
    bounded = [s for s in writer["Statement"] if "s3:PutObjectRetention" in _actions(s) and s["Effect"] == "Allow"]
    assert len(bounded) == 4
    for statement in bounded:
        prefix = statement["Resource"].split(":::", 1)[1].split("/", 1)[1].removesuffix("*")
        cap = int(statement["Condition"]["NumericLessThanEquals"]["s3:object-lock-remaining-retention-days"])
        assert cap <= prod_expiry[prefix]


@pytest.mark.parametrize("bucket", ["backup-s3", "backup-s3-logs", "dr"])
def test_s3_public_access_blocked(prod: PlanResult, bucket: str) -> None:
    block = named(prod, f"{bucket}-public-access-block").inputs
    assert all(
        block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert named(prod, f"{bucket}-ownership").inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"


@pytest.mark.parametrize("policy", ["backup-s3-policy", "dr-policy", "backup-s3-logs-policy"])
def test_s3_tls_only(prod: PlanResult, policy: str) -> None:
    statements = _policy(named(prod, policy))["Statement"]
    tls = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == "s3:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_s3_vault_denies_unencrypted_or_foreign_encryption(prod: PlanResult) -> None:
    statements = {s["Sid"]: s for s in _policy(named(prod, "backup-s3-policy"))["Statement"]}
    assert statements["DenyNonKmsEncryption"]["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption": "aws:kms"
    }
    key_arn = named(prod, "backup-s3-encryption").inputs["rules"][0]["applyServerSideEncryptionByDefault"][
        "kmsMasterKeyId"
    ]
    foreign = statements["DenyForeignKmsKey"]["Condition"]["StringNotEquals"]
    assert foreign == {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}
    assert "DenyCustomerProvidedKeys" in statements


def test_s3_access_logs_to_encrypted_expiring_log_bucket(prod: PlanResult) -> None:
    logging = named(prod, "backup-s3-access-logging").inputs
    assert logging["targetBucket"].startswith("backup-s3-logs-") and logging["targetPrefix"] == "vault/"
    # S3 log delivery cannot write to SSE-KMS buckets: SSE-S3 (AES-256) on the log bucket.
    sse = named(prod, "backup-s3-logs-encryption").inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse == {"sseAlgorithm": "AES256"}
    lifecycle = named(prod, "backup-s3-logs-lifecycle").inputs["rules"][0]
    assert lifecycle["expiration"]["days"] == 365
    delivery = _policy(named(prod, "backup-s3-logs-policy"))["Statement"][0]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws:s3:::backup-s3-bucket")


def test_s3_writer_cannot_delete_or_reconfigure(prod: PlanResult) -> None:
    policy = _policy(named(prod, "backup-s3-writer-policy"))
    allowed = {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in _actions(s)}
    assert not any(
        "Delete" in a or a.startswith(("s3:PutBucket", "s3:PutLifecycle", "s3:PutEncryption")) for a in allowed
    )
    assert not {"s3:BypassGovernanceRetention", "s3:PutObjectLegalHold", "s3:PutReplicationConfiguration"} & allowed
    assert "s3:*" not in allowed and "*" not in allowed
    assert {"s3:PutObject", "s3:GetObject"} <= allowed
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert set(WRITER_DENIED_ACTIONS) == set(deny["Action"])
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketObjectLockConfiguration"} <= set(deny["Action"])
    for statement in policy["Statement"]:
        if "s3:PutObjectRetention" in _actions(statement) and statement["Effect"] == "Allow":
            assert statement["Condition"]["StringEquals"] == {"s3:object-lock-mode": "COMPLIANCE"}
    kms = next(s for s in policy["Statement"] if s["Sid"] == "UseVaultKeyThroughS3")
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"


def test_s3_writer_role_is_attached_and_trusted_by_lambda(prod: PlanResult) -> None:
    role = named(prod, "backup-s3-writer")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": ["lambda.amazonaws.com"]}
    attachment = named(prod, "backup-s3-writer-attachment").inputs
    assert attachment["policyArn"].startswith("arn:aws:iam::") and ":policy/" in attachment["policyArn"]


def test_writer_policy_lock_mode_follows_config() -> None:
    staging = load_stack_file(REPO / "Pulumi.staging.yaml")
    doc = writer_policy("arn:aws:s3:::b", "arn:aws:kms:us-east-1:1:key/k", staging.backup, "us-east-1")
    modes = {
        s["Condition"]["StringEquals"]["s3:object-lock-mode"]
        for s in doc["Statement"]
        if "Condition" in s
        and "StringEquals" in s["Condition"]
        and "s3:object-lock-mode" in s["Condition"]["StringEquals"]
    }
    assert modes == {"GOVERNANCE"}


# --- Azure --------------------------------------------------------------------------------------------


def test_azure_account_locked_down(prod: PlanResult) -> None:
    account = named(prod, "backup-azure-account").inputs
    assert account["sku"] == {"name": "Standard_RAGZRS"}
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    assert account["allowSharedKeyAccess"] is False
    assert account["encryption"]["requireInfrastructureEncryption"] is True
    assert 3 <= len(account["accountName"]) <= 24 and account["accountName"].isalnum()


def test_azure_versioning_soft_delete_and_immutability(prod: PlanResult) -> None:
    service = named(prod, "backup-azure-blob-service").inputs
    assert service["isVersioningEnabled"] is True
    assert service["deleteRetentionPolicy"]["enabled"] is True and service["deleteRetentionPolicy"]["days"] == 14
    assert service["containerDeleteRetentionPolicy"]["enabled"] is True
    for data_class, days in PROD_RETENTION.items():
        container = named(prod, f"backup-azure-{data_class}")
        assert container.inputs["publicAccess"] == "None"
        assert container.inputs["immutableStorageWithVersioning"] == {"enabled": True}
        assert any(u.endswith("::backup-azure-blob-service") for u in container.options["dependsOn"])
        policy = named(prod, f"backup-azure-{data_class}-immutability").inputs
        assert policy["immutabilityPeriodSinceCreationInDays"] == days  # prod locks == retention


def test_azure_lifecycle_days_per_class(prod: PlanResult) -> None:
    rules = {r["name"]: r["definition"] for r in named(prod, "backup-azure-lifecycle").inputs["policy"]["rules"]}
    assert rules, "the prod Azure lifecycle policy declares no rules"
    assert PROD_RETENTION, "no prod retention classes to check the Azure lifecycle against"
    for data_class, days in PROD_EXPIRY.items():
        rule = rules[f"{data_class}-retention"]
        assert rule["filters"]["prefixMatch"] == [f"backup-{data_class}/"]
        assert rule["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == days
        lock = named(prod, f"backup-azure-{data_class}-immutability").inputs["immutabilityPeriodSinceCreationInDays"]
        assert lock <= days
        assert rule["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"] > days


def test_azure_writer_role_cannot_delete_or_manage(prod: PlanResult) -> None:
    role = named(prod, "backup-azure-writer-role").inputs
    (permission,) = role["permissions"]
    assert permission["dataActions"] == list(WRITER_DATA_ACTIONS)
    assert permission["actions"] == list(WRITER_ACTIONS)
    every = permission["dataActions"] + permission["actions"]
    assert not any("delete" in a.lower() or "immutab" in a.lower() or "*" in a for a in every)
    assert not any(a.endswith(("/write", "/action")) for a in permission["actions"])
    assignment = named(prod, "backup-azure-grant-writer").inputs
    assert assignment["principalType"] == "ServicePrincipal"
    assert assignment["scope"] == role["scope"]


# --- GCS ----------------------------------------------------------------------------------------------


def test_gcs_buckets_per_class(prod: PlanResult) -> None:
    key = named(prod, "backup-gcs-key")
    assert key.inputs["rotationPeriod"] == f"{90 * DAY}s"
    for data_class, days in PROD_RETENTION.items():
        bucket = named(prod, f"backup-gcs-{data_class}").inputs
        assert bucket["location"] == "NAM4"
        assert bucket["uniformBucketLevelAccess"] is True
        assert bucket["publicAccessPrevention"] == "enforced"
        assert bucket["retentionPolicy"]["retentionPeriod"] == str(days * DAY)
        assert bucket["versioning"] == {"enabled": False}  # GCS refuses versioning with a retention policy
        assert "/cryptoKeys/" in bucket["encryption"]["defaultKmsKeyName"]
        delete = next(r for r in bucket["lifecycleRules"] if r["action"]["type"] == "Delete")
        assert delete["condition"]["age"] == PROD_EXPIRY[data_class]
        assert int(bucket["retentionPolicy"]["retentionPeriod"]) <= delete["condition"]["age"] * DAY


def test_gcs_cmek_service_agent_granted_before_buckets(prod: PlanResult) -> None:
    grant = named(prod, "backup-gcs-key-storage-agent").inputs
    assert grant["member"] == "serviceAccount:service-271828182845@gs-project-accounts.iam.gserviceaccount.com"
    bucket = named(prod, "backup-gcs-db")
    assert any(u.endswith("::backup-gcs-key-storage-agent") for u in bucket.options["dependsOn"])


def test_gcs_writer_role_cannot_delete_or_change_retention(prod: PlanResult) -> None:
    role = named(prod, "backup-gcs-writer-role").inputs
    assert role["permissions"] == list(WRITER_PERMISSIONS)
    assert not any(p.endswith((".delete", ".update", ".setIamPolicy")) for p in role["permissions"])
    members = [r for r in of_type(prod, "gcp:storage/bucketIAMMember:BucketIAMMember") if "grant-writer" in r.name]
    assert len(members) == 3
    assert {m.inputs["role"] for m in members} == {"projects/example-platform-prod/roles/backupWriterProd"}
    assert {m.inputs["member"] for m in members} == {
        "serviceAccount:backup-writer-prod@example-platform-prod.iam.gserviceaccount.com"
    }


# --- stacks, protection, outputs ----------------------------------------------------------------------


DATA_HOLDERS = (
    "backup-s3-bucket",
    "backup-s3-key",
    "backup-s3-logs",
    "backup-s3-versioning",
    "backup-s3-object-lock",
    "backup-azure-account",
    "backup-azure-db",
    "backup-azure-chain",
    "backup-azure-state",
    "backup-gcs-db",
    "backup-gcs-chain",
    "backup-gcs-state",
    "backup-gcs-key",
    "dr-bucket",
    "dr-key",
    "dr-standby",
    "dr-standby-volumes",
)


def test_prod_data_holders_protected(prod: PlanResult) -> None:
    unprotected = [n for n in DATA_HOLDERS if not named(prod, n).options.get("protect")]
    assert not unprotected
    # The DR database is the warm standby's StatefulSet (its PVC is kept on delete, its class Retains volumes).
    assert named(prod, "dr-standby").inputs["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"


def test_staging_has_no_protection_and_only_aws(staging: PlanResult) -> None:
    mine = [r for r in staging.resources if r.name.startswith(("backup-", "dr-"))]
    assert mine and not [r.name for r in mine if r.options.get("protect")]
    assert not [r for r in mine if r.type.startswith(("azure-native:", "gcp:"))]
    assert named(staging, "backup-s3-object-lock").inputs["rule"]["defaultRetention"]["mode"] == "GOVERNANCE"
    assert set(staging.outputs["backup"]) == {"aws"} and "dr" not in staging.outputs


def test_outputs_name_every_vault_and_writer(prod: PlanResult) -> None:
    backup = prod.outputs["backup"]
    bucket = backup["aws"]["bucket"]
    assert backup["aws"]["uris"] == dict.fromkeys(PROD_RETENTION, f"s3://{bucket}")
    assert backup["aws"]["writer_role_arn"].startswith("arn:aws:iam::")
    assert backup["azure"]["uris"] == {c: f"azblob://backup-{c}" for c in PROD_RETENTION}
    assert backup["azure"]["writer_client_id"]
    assert backup["gcs"]["uris"] == {c: f"gs://{b}" for c, b in backup["gcs"]["buckets"].items()}
    assert backup["gcs"]["writer_email"].startswith("backup-writer-prod@")


# --- bad input ----------------------------------------------------------------------------------------

BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "lock longer than retention",
        {"backup": {"classes": {"chain": {"retention_days": 30, "lock_days": 90, "schedule": "*/5 * * * *"}}}},
        "backup.classes.chain.lock_days: 90 exceeds retention_days 30",
    ),
    (
        "gcs without project number",
        {"backup": {"gcs": {"project_number": None}}},
        "backup.gcs.project_number: required",
    ),
    (
        "gcs single region",
        {"backup": {"gcs": {"location": "US-CENTRAL1"}}},
        "backup.gcs.location: 'US-CENTRAL1' is not a dual",
    ),
    (
        "custom placement needs a multi-region",
        {"backup": {"gcs": {"location": "NAM4", "data_locations": ["us-east1", "us-west1"]}}},
        "backup.gcs.data_locations: needs location to be a multi-region",
    ),
    (
        "custom placement needs two regions",
        {"backup": {"gcs": {"location": "US", "data_locations": ["us-east1", "us-east1"]}}},
        "backup.gcs.data_locations: both regions are 'us-east1'",
    ),
    ("gcs without gcp provider", {"cloud": {"gcp": {"enabled": False}}}, "backup.gcs.enabled: needs cloud.gcp.enabled"),
    (
        "azure without provider",
        {"cloud": {"azure": {"enabled": False}}},
        "backup.azure.enabled: needs cloud.azure.enabled",
    ),
    (
        "azure locally redundant",
        {"backup": {"azure": {"replication": "Standard_LRS"}}},
        "backup.azure.replication: 'Standard_LRS' is not allowed",
    ),
    (
        "bad writer role arn",
        {"backup": {"aws": {"writer_trusted_role_arns": ["backup-role"]}}},
        "backup.aws.writer_trusted_role_arns",
    ),
    ("unknown lock mode", {"backup": {"lock_mode": "LEGAL"}}, "backup.lock_mode: 'LEGAL' is not allowed"),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_backup_config_names_the_key(case: str, changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values("prod"), changes), "Pulumi.prod.yaml")
    assert any(expected in p for p in caught.value.problems), f"{case}: {caught.value.problems}"
