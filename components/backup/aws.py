"""The S3 backup vault: one object-locked, KMS-encrypted, versioned bucket with a prefix per data class.

Why one bucket: S3 object lock works per object, so one bucket can hold classes with different locks. The
bucket-wide default lock is the *shortest* class lock (it can never outlive any prefix's lifecycle expiry);
longer class locks are set per object by the writer at upload, and the writer policy caps how far (the
condition key ``s3:object-lock-remaining-retention-days``), so a compromised writer cannot make objects
undeletable for years either. Server access logs go to a separate bucket (SSE-S3: S3 log delivery cannot
write to an SSE-KMS bucket).

The policy documents are built by pure functions so tests can read them as the engine would receive them.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.backup.config import BackupSettings
from components.lib.aws_s3 import (
    DefaultRetention,
    PrivateBucketSpec,
    ResourceNames,
    declare_private_bucket,
    deny_insecure_transport,
)

WAL_PREFIX = "wal"
"""The backup CLI archives WAL segments under ``wal/``; they follow the ``db`` class (PITR needs both)."""

WRITER_DENIED_ACTIONS = (
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersionTagging",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectLegalHold",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketAcl",
    "s3:PutObjectAcl",
    "s3:DeleteBucket",
)
"""Explicitly denied to every principal granted write, whatever else its other policies allow."""


class S3VaultArgs(BaseModel):
    """Inputs of :class:`S3Vault`."""

    model_config = ConfigDict(frozen=True)

    backup: BackupSettings = Field(description="Validated backup settings (classes, lock mode, AWS vault).")
    region: str = Field(description="Primary AWS region (KMS ViaService condition).")
    protect: bool = Field(default=False, description="Protect the bucket and its key from deletion (prod).")


def class_prefixes(backup: BackupSettings) -> dict[str, str]:
    """Key prefix -> data class whose retention governs it (``wal/`` belongs to ``db``)."""
    prefixes = {name: name for name in backup.classes}
    prefixes[WAL_PREFIX] = "db"
    return prefixes


def lifecycle_rules(backup: BackupSettings) -> list[dict[str, Any]]:
    """Lifecycle rules (SDK dict form) per prefix plus delete-marker and multipart cleanup."""
    rules: list[dict[str, Any]] = []
    for prefix, data_class in class_prefixes(backup).items():
        settings = backup.classes[data_class]  # type: ignore[index]
        rules.append(
            {
                "id": f"{prefix}-retention",
                "status": "Enabled",
                "filter": {"prefix": f"{prefix}/"},
                "expiration": {"days": settings.expiry_days},
                "noncurrent_version_expiration": {"noncurrent_days": settings.noncurrent_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 2},
            }
        )
    rules.append(
        {
            "id": "expired-delete-markers",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": {"expired_object_delete_marker": True},
        }
    )
    return rules


def access_log_lifecycle_rules(retention_days: int) -> list[Any]:
    """The access-log bucket keeps logs ``retention_days`` days."""
    import pulumi_aws as aws

    return [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-access-logs",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=retention_days),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=2
            ),
        )
    ]


def vault_bucket_spec(backup: BackupSettings, key_arn: pulumi.Output[str]) -> PrivateBucketSpec:
    """The vault bucket: object lock (default = shortest class lock), SSE-KMS with ``key_arn``, class lifecycle.

    The DR replica is the same bucket in another region with its own key, so it uses this spec too.
    """
    return PrivateBucketSpec(
        kms_key_arn=key_arn,
        policy=lambda arn: pulumi.Output.all(arn, key_arn).apply(lambda a: _json(vault_bucket_policy(a[0], a[1]))),
        force_destroy=backup.aws.force_destroy,
        object_lock=True,
        default_retention=(
            DefaultRetention(mode=backup.lock_mode, days=backup.default_lock_days)
            if backup.default_lock_days > 0
            else None
        ),
        lifecycle_rules=lifecycle_rules(backup),
        names=ResourceNames(bucket="bucket"),
    )


def vault_bucket_policy(bucket_arn: str, key_arn: str) -> dict[str, Any]:
    """TLS only; no upload may choose a weaker or foreign encryption than the bucket's KMS key."""
    objects = f"{bucket_arn}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            deny_insecure_transport("s3", [bucket_arn, objects]),
            {
                "Sid": "DenyOldTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, objects],
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
            },
            {
                # Uploads that name an encryption must name SSE-KMS; absent header = the bucket default (KMS).
                "Sid": "DenyNonKmsEncryption",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "Null": {"s3:x-amz-server-side-encryption": "false"},
                    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                },
            },
            {
                "Sid": "DenyForeignKmsKey",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                    "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn},
                },
            },
            {
                "Sid": "DenyCustomerProvidedKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
            },
        ],
    }


def log_bucket_policy(log_bucket_arn: str, source_bucket_arn: str, account_id: str | None) -> dict[str, Any]:
    """S3 log delivery may write logs of the vault only; TLS only for everyone else."""
    condition: dict[str, Any] = {"ArnLike": {"aws:SourceArn": source_bucket_arn}}
    if account_id:
        condition["StringEquals"] = {"aws:SourceAccount": account_id}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_bucket_arn}/*",
                "Condition": condition,
            },
            deny_insecure_transport("s3", [log_bucket_arn, f"{log_bucket_arn}/*"]),
        ],
    }


def writer_policy(bucket_arn: str, key_arn: str, backup: BackupSettings, region: str) -> dict[str, Any]:
    """Least privilege for backup jobs: put/read objects, set a lock no longer than its class's, never delete.

    Putting an object with a retain-until date needs ``s3:PutObjectRetention``; the condition keys cap the
    mode to the configured one and the remaining days to the class lock, per prefix.
    """
    objects = f"{bucket_arn}/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "InspectVault",
            "Effect": "Allow",
            "Action": [
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetBucketVersioning",
                "s3:GetBucketObjectLockConfiguration",
                "s3:ListBucketMultipartUploads",
            ],
            "Resource": bucket_arn,
        },
        {
            "Sid": "PutAndReadObjects",
            "Effect": "Allow",
            "Action": [
                "s3:PutObject",
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetObjectRetention",
                "s3:GetObjectLegalHold",
                "s3:ListMultipartUploadParts",
                "s3:AbortMultipartUpload",
            ],
            "Resource": objects,
        },
    ]
    statements += writer_lock_statements(bucket_arn, backup)
    statements += [
        {
            "Sid": "UseVaultKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
        {
            "Sid": "NeverDeleteOrReconfigure",
            "Effect": "Deny",
            "Action": list(WRITER_DENIED_ACTIONS),
            "Resource": [bucket_arn, objects],
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def writer_lock_statements(bucket_arn: str, backup: BackupSettings) -> list[dict[str, Any]]:
    """Per prefix with a class lock: the writer may set that lock mode for at most the class's days."""
    statements: list[dict[str, Any]] = []
    for prefix, data_class in class_prefixes(backup).items():
        lock_days = backup.classes[data_class].lock_days  # type: ignore[index]
        if lock_days == 0:
            continue
        statements.append(
            {
                "Sid": f"LockAtMostClassDays{prefix.capitalize()}",
                "Effect": "Allow",
                "Action": "s3:PutObjectRetention",
                "Resource": f"{bucket_arn}/{prefix}/*",
                "Condition": {
                    "StringEquals": {"s3:object-lock-mode": backup.lock_mode},
                    "NumericLessThanEquals": {"s3:object-lock-remaining-retention-days": str(lock_days)},
                },
            }
        )
    return statements


def writer_trust_policy(services: tuple[str, ...], role_arns: tuple[str, ...]) -> dict[str, Any]:
    """Who may assume the writer role: the configured AWS services and roles, nobody else."""
    principal: dict[str, Any] = {}
    if services:
        principal["Service"] = list(services)
    if role_arns:
        principal["AWS"] = list(role_arns)
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=False)


class S3Vault(pulumi.ComponentResource):
    """The AWS copy of the backups (the source of cross-region replication)."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    writer_role_arn: pulumi.Output[str]
    writer_policy_arn: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: S3VaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:backup_storage_aws:S3Vault", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self._data = pulumi.ResourceOptions(parent=self, protect=args.protect)

        self._key(name, args.backup)
        self._vault_bucket(name, args.backup)
        self._access_logs(name, args.backup)
        self._writer(name, args)

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.kms_key_arn = self.key.arn
        self.writer_role_arn = self.writer_role.arn
        self.writer_policy_arn = self.writer_policy.arn
        self.log_bucket_name = self.log_bucket.bucket
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "kms_key_arn": self.kms_key_arn,
                "writer_role_arn": self.writer_role_arn,
                "log_bucket_name": self.log_bucket_name,
            }
        )

    def _key(self, name: str, backup: BackupSettings) -> None:
        """The vault's customer-managed key: writers may use it only through S3 (the writer policy's ViaService)."""
        import pulumi_aws as aws

        self.key = aws.kms.Key(
            f"{name}-key",
            description="Backup vault SSE-KMS key (AES-256-GCM, yearly automatic rotation)",
            enable_key_rotation=True,
            deletion_window_in_days=backup.aws.kms_deletion_window_days,
            opts=self._data,
        )
        aws.kms.Alias(
            f"{name}-key-alias", name_prefix="alias/backup-vault-", target_key_id=self.key.key_id, opts=self._child
        )

    def _vault_bucket(self, name: str, backup: BackupSettings) -> None:
        """The object-locked bucket itself; versioning is exposed because DR replication must wait for it."""
        self.vault_bucket = declare_private_bucket(
            name, vault_bucket_spec(backup, self.key.arn), data_opts=self._data, child_opts=self._child
        )
        self.bucket = self.vault_bucket.bucket
        self.public_access_block = self.vault_bucket.public_access_block
        self.versioning = self.vault_bucket.require_versioning()

    def _access_logs(self, name: str, backup: BackupSettings) -> None:
        """Server access logs in a separate SSE-S3 bucket (log delivery cannot write SSE-KMS), only the vault's."""
        import pulumi_aws as aws

        vault = backup.aws
        vault_arn = self.bucket.arn
        self.access_logs = declare_private_bucket(
            f"{name}-logs",
            PrivateBucketSpec(
                kms_key_arn=None,  # SSE-S3: S3 log delivery cannot write to an SSE-KMS bucket
                policy=lambda arn: pulumi.Output.all(arn, vault_arn).apply(
                    lambda a: _json(log_bucket_policy(a[0], a[1], None))
                ),
                force_destroy=vault.force_destroy,
                versioning=False,
                lifecycle_rules=access_log_lifecycle_rules(vault.access_log_retention_days),
            ),
            data_opts=self._data,
            child_opts=self._child,
        )
        self.log_bucket = self.access_logs.bucket
        aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=self.bucket.id,
            target_bucket=self.log_bucket.id,
            target_prefix="vault/",
            target_object_key_format=aws.s3.BucketLoggingTargetObjectKeyFormatArgs(
                partitioned_prefix=aws.s3.BucketLoggingTargetObjectKeyFormatPartitionedPrefixArgs(
                    partition_date_source="EventTime"
                )
            ),
            opts=self._child,
        )

    def _writer(self, name: str, args: S3VaultArgs) -> None:
        """Least-privilege writer: a managed policy (others get it through ``grant_write``) and a role."""
        import pulumi_aws as aws

        backup = args.backup
        vault = backup.aws
        self.writer_policy = aws.iam.Policy(
            f"{name}-writer-policy",
            description="Backup writer: put/read backups, bounded object locks, no delete or reconfiguration",
            policy=pulumi.Output.all(self.bucket.arn, self.key.arn).apply(
                lambda a: _json(writer_policy(a[0], a[1], backup, args.region))
            ),
            opts=self._child,
        )
        self.writer_role = aws.iam.Role(
            f"{name}-writer",
            description="Assumed by the backup jobs to write the vault",
            assume_role_policy=_json(
                writer_trust_policy(vault.writer_trusted_services, vault.writer_trusted_role_arns)
            ),
            max_session_duration=3600,
            opts=self._child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-writer-attachment",
            role=self.writer_role.name,
            policy_arn=self.writer_policy.arn,
            opts=self._child,
        )

    def grant_write(self, grantee: str, role_name: pulumi.Input[str]) -> pulumi.Resource:
        """Give another IAM role (e.g. an EKS IRSA role) the writer policy; ``grantee`` names the attachment."""
        import pulumi_aws as aws

        return aws.iam.RolePolicyAttachment(
            f"{self._name}-grant-{grantee}",
            role=role_name,
            policy_arn=self.writer_policy.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
