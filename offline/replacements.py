"""What a provider cannot change in place, and which resources hold data: the tables the plan review reads.

A change to one of these properties makes ``pulumi up`` delete the resource and create a new one (or create
first, then delete). Each entry names where the rule comes from, because a wrong entry either hides a
replacement (the worse error) or cries wolf; a type missing here is diffed as an in-place update, so the
table errs towards listing properties. Sources:

- bridged providers (pulumi-aws, pulumi-gcp, pulumi-cloudflare, pulumi-random) replace on the upstream
  Terraform schema's ``ForceNew`` / ``RequiresReplace`` attributes, quoted per resource as ``tf:<resource>``;
- azure-native replaces when a path parameter of the ARM resource id changes (names, resource group) or the
  location (ARM cannot move most resources), quoted as ``arm``;
- pulumi-kubernetes replaces when ``metadata.name``/``metadata.namespace`` change and where the Kubernetes
  API declares a field immutable (the API server refuses the update), quoted as ``k8s:<kind>``.

Paths are dotted input paths in the engine's camelCase shape (``spec.selector``); a rule covers everything
below its path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReplaceRule:
    """Input paths whose change replaces a resource of one type, and where that rule is documented."""

    paths: tuple[str, ...]
    source: str
    #: Paths under ``paths`` that are updated in place after all (StatefulSet: ``spec.replicas``...).
    except_paths: tuple[str, ...] = ()


_S3_CHILD = ReplaceRule(("bucket", "expectedBucketOwner"), "tf:aws_s3_bucket_* (bucket ForceNew)")

#: Type token -> the rule. Kubernetes types are keyed without their API version (``kubernetes:apps:StatefulSet``).
REPLACE_ON: dict[str, ReplaceRule] = {
    # AWS
    "aws:s3/bucket:Bucket": ReplaceRule(("bucket", "bucketPrefix", "objectLockEnabled"), "tf:aws_s3_bucket"),
    "aws:s3/bucketV2:BucketV2": ReplaceRule(("bucket", "bucketPrefix", "objectLockEnabled"), "tf:aws_s3_bucket"),
    "aws:s3/bucketVersioning:BucketVersioning": _S3_CHILD,
    "aws:s3/bucketPolicy:BucketPolicy": ReplaceRule(("bucket",), "tf:aws_s3_bucket_policy"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ReplaceRule(
        ("bucket",), "tf:aws_s3_bucket_public_access_block"
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ReplaceRule(
        ("bucket",), "tf:aws_s3_bucket_ownership_controls"
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _S3_CHILD,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _S3_CHILD,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _S3_CHILD,
    "aws:s3/bucketLogging:BucketLogging": _S3_CHILD,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": ReplaceRule(
        ("bucket",), "tf:aws_s3_bucket_replication_configuration"
    ),
    "aws:s3/bucketNotification:BucketNotification": ReplaceRule(("bucket",), "tf:aws_s3_bucket_notification"),
    "aws:rds/instance:Instance": ReplaceRule(
        (
            "identifier",
            "identifierPrefix",
            "engine",
            "dbName",
            "kmsKeyId",
            "storageEncrypted",
            "username",
            "availabilityZone",
            "characterSetName",
            "ncharCharacterSetName",
            "timezone",
            "snapshotIdentifier",
            "customIamInstanceProfile",
        ),
        "tf:aws_db_instance",
    ),
    "aws:rds/cluster:Cluster": ReplaceRule(
        (
            "clusterIdentifier",
            "clusterIdentifierPrefix",
            "engine",
            "databaseName",
            "kmsKeyId",
            "storageEncrypted",
            "masterUsername",
            "availabilityZones",
            "snapshotIdentifier",
            "globalClusterIdentifier",
        ),
        "tf:aws_rds_cluster",
    ),
    "aws:kms/key:Key": ReplaceRule(
        ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"), "tf:aws_kms_key"
    ),
    "aws:kms/alias:Alias": ReplaceRule(("name", "namePrefix"), "tf:aws_kms_alias"),
    "aws:iam/role:Role": ReplaceRule(("name", "namePrefix", "path"), "tf:aws_iam_role"),
    "aws:iam/policy:Policy": ReplaceRule(("name", "namePrefix", "path"), "tf:aws_iam_policy"),
    "aws:iam/rolePolicy:RolePolicy": ReplaceRule(("name", "namePrefix", "role"), "tf:aws_iam_role_policy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ReplaceRule(
        ("role", "policyArn"), "tf:aws_iam_role_policy_attachment"
    ),
    "aws:lambda/function:Function": ReplaceRule(("name",), "tf:aws_lambda_function (function_name)"),
    "aws:lambda/permission:Permission": ReplaceRule(
        ("action", "function", "principal", "sourceArn", "sourceAccount", "statementId", "qualifier"),
        "tf:aws_lambda_permission",
    ),
    "aws:sqs/queue:Queue": ReplaceRule(("name", "namePrefix", "fifoQueue"), "tf:aws_sqs_queue"),
    "aws:cloudwatch/logGroup:LogGroup": ReplaceRule(("name", "namePrefix"), "tf:aws_cloudwatch_log_group"),
    "aws:route53/zone:Zone": ReplaceRule(("name", "delegationSetId"), "tf:aws_route53_zone"),
    "aws:route53/record:Record": ReplaceRule(("zoneId", "setIdentifier"), "tf:aws_route53_record"),
    "aws:route53/healthCheck:HealthCheck": ReplaceRule(
        ("type", "referenceName", "requestInterval", "measureLatency"), "tf:aws_route53_health_check"
    ),
    "aws:budgets/budget:Budget": ReplaceRule(("name", "namePrefix", "accountId"), "tf:aws_budgets_budget"),
    # GCP
    "gcp:storage/bucket:Bucket": ReplaceRule(("name", "location", "project"), "tf:google_storage_bucket"),
    "gcp:kms/keyRing:KeyRing": ReplaceRule(("name", "location", "project"), "tf:google_kms_key_ring"),
    "gcp:kms/cryptoKey:CryptoKey": ReplaceRule(
        ("name", "keyRing", "purpose", "importOnly", "skipInitialVersionCreation"), "tf:google_kms_crypto_key"
    ),
    "gcp:serviceaccount/account:Account": ReplaceRule(("accountId", "project"), "tf:google_service_account"),
    "gcp:projects/iAMCustomRole:IAMCustomRole": ReplaceRule(("roleId", "project"), "tf:google_project_iam_custom_role"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ReplaceRule(
        ("bucket", "role", "member", "condition"), "tf:google_storage_bucket_iam_member"
    ),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": ReplaceRule(
        ("cryptoKeyId", "role", "member", "condition"), "tf:google_kms_crypto_key_iam_member"
    ),
    "gcp:serviceaccount/iAMMember:IAMMember": ReplaceRule(
        ("serviceAccountId", "role", "member", "condition"), "tf:google_service_account_iam_member"
    ),
    # Azure (ARM resource id path parameters and location)
    "azure-native:resources:ResourceGroup": ReplaceRule(("resourceGroupName", "location"), "arm"),
    "azure-native:storage:StorageAccount": ReplaceRule(("accountName", "resourceGroupName", "location"), "arm"),
    "azure-native:storage:BlobContainer": ReplaceRule(("accountName", "containerName", "resourceGroupName"), "arm"),
    "azure-native:storage:BlobServiceProperties": ReplaceRule(("accountName", "resourceGroupName"), "arm"),
    "azure-native:storage:ManagementPolicy": ReplaceRule(("accountName", "resourceGroupName"), "arm"),
    "azure-native:storage:BlobContainerImmutabilityPolicy": ReplaceRule(
        ("accountName", "containerName", "resourceGroupName"), "arm"
    ),
    "azure-native:managedidentity:UserAssignedIdentity": ReplaceRule(
        ("resourceName", "resourceGroupName", "location"), "arm"
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": ReplaceRule(
        ("federatedIdentityCredentialResourceName", "resourceName", "resourceGroupName"), "arm"
    ),
    "azure-native:authorization:RoleAssignment": ReplaceRule(
        ("roleAssignmentName", "scope", "principalId", "roleDefinitionId"), "arm (role assignments are immutable)"
    ),
    "azure-native:authorization:RoleDefinition": ReplaceRule(("roleDefinitionId", "scope"), "arm"),
    # Cloudflare
    "cloudflare:index/ruleset:Ruleset": ReplaceRule(("zoneId", "accountId", "kind", "phase"), "tf:cloudflare_ruleset"),
    "cloudflare:index/zoneSetting:ZoneSetting": ReplaceRule(("zoneId", "settingId"), "tf:cloudflare_zone_setting"),
    # random: every argument is ForceNew (a new value is the only way to change one)
    "random:index/randomPassword:RandomPassword": ReplaceRule(("",), "tf:random_password (all arguments ForceNew)"),
    # Kubernetes (immutable fields; the API server rejects an update of them)
    "kubernetes:apps:StatefulSet": ReplaceRule(
        ("spec",),
        "k8s:StatefulSet (only replicas, ordinals, template, updateStrategy, persistentVolumeClaimRetentionPolicy "
        "and minReadySeconds may change)",
        except_paths=(
            "spec.replicas",
            "spec.ordinals",
            "spec.template",
            "spec.updateStrategy",
            "spec.persistentVolumeClaimRetentionPolicy",
            "spec.minReadySeconds",
        ),
    ),
    "kubernetes:apps:Deployment": ReplaceRule(("spec.selector",), "k8s:Deployment (spec.selector immutable)"),
    "kubernetes:apps:DaemonSet": ReplaceRule(("spec.selector",), "k8s:DaemonSet (spec.selector immutable)"),
    "kubernetes:batch:Job": ReplaceRule(
        ("spec.template", "spec.selector", "spec.completionMode"), "k8s:Job (pod template and selector immutable)"
    ),
    "kubernetes:core:Service": ReplaceRule(("spec.clusterIP", "spec.clusterIPs"), "k8s:Service (clusterIP immutable)"),
    "kubernetes:core:PersistentVolumeClaim": ReplaceRule(
        ("spec",),
        "k8s:PersistentVolumeClaim (spec immutable except storage requests)",
        except_paths=("spec.resources.requests.storage", "spec.volumeAttributesClassName"),
    ),
    "kubernetes:core:Secret": ReplaceRule(("type",), "k8s:Secret (type immutable)"),
    "kubernetes:rbac.authorization.k8s.io:RoleBinding": ReplaceRule(("roleRef",), "k8s:RoleBinding (roleRef)"),
    "kubernetes:rbac.authorization.k8s.io:ClusterRoleBinding": ReplaceRule(
        ("roleRef",), "k8s:ClusterRoleBinding (roleRef)"
    ),
    # Explicit providers: every resource they manage moves with them (see PROVIDER_REPLACE_ON).
}

#: Explicit provider inputs whose change replaces the provider and with it every resource it manages
#: (pulumi-aws and pulumi-gcp: a new region/project is a new endpoint; pulumi-kubernetes: another cluster).
PROVIDER_REPLACE_ON: dict[str, ReplaceRule] = {
    "pulumi:providers:aws": ReplaceRule(("region",), "pulumi-aws provider DiffConfig (region)"),
    "pulumi:providers:gcp": ReplaceRule(("project",), "pulumi-gcp provider DiffConfig (project)"),
    "pulumi:providers:kubernetes": ReplaceRule(
        ("context", "cluster", "kubeconfig"), "pulumi-kubernetes provider DiffConfig (cluster identity)"
    ),
    "pulumi:providers:azure-native": ReplaceRule(("subscriptionId",), "azure-native provider (subscription)"),
}

#: Kubernetes: a new name or namespace is a new object (pulumi-kubernetes replaces it).
KUBERNETES_IDENTITY = ReplaceRule(("metadata.name", "metadata.namespace"), "pulumi-kubernetes (object identity)")
#: ConfigMaps and Secrets declared ``immutable: true`` cannot change their data in place.
IMMUTABLE_DATA = ReplaceRule(
    ("data", "binaryData", "stringData", "immutable"), "k8s:ConfigMap/Secret (immutable: true)"
)


def kubernetes_key(type_token: str) -> str | None:
    """``kubernetes:apps/v1:StatefulSet`` -> ``kubernetes:apps:StatefulSet`` (None for other packages)."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes":
        return None
    group = parts[1].rsplit("/", 1)[0] if "/" in parts[1] else parts[1]
    return f"kubernetes:{group}:{parts[2]}"


def rules_for(type_token: str, inputs: Mapping[str, Any]) -> list[ReplaceRule]:
    """Every replace rule that applies to a resource of ``type_token`` with (base) ``inputs``."""
    if type_token in PROVIDER_REPLACE_ON:
        return [PROVIDER_REPLACE_ON[type_token]]
    key = kubernetes_key(type_token)
    if key is None:
        rule = REPLACE_ON.get(type_token)
        return [rule] if rule else []
    found = [KUBERNETES_IDENTITY]
    if key in REPLACE_ON:
        found.append(REPLACE_ON[key])
    if key in {"kubernetes:core:ConfigMap", "kubernetes:core:Secret"} and inputs.get("immutable") is True:
        found.append(IMMUTABLE_DATA)
    return found


def covers(rule_path: str, changed_path: str) -> bool:
    """Whether ``changed_path`` is ``rule_path`` or below it (``""`` covers every path)."""
    if not rule_path:
        return True
    return changed_path == rule_path or changed_path.startswith((rule_path + ".", rule_path + "["))


def replacing_paths(rule: ReplaceRule, changed: list[str]) -> list[str]:
    """The changed paths a rule says cannot be updated in place."""
    return [
        path
        for path in changed
        if any(covers(p, path) for p in rule.paths) and not any(covers(e, path) for e in rule.except_paths)
    ]


# ---------------------------------------------------------------------------------------------------------------
# Data-holding resources: removing or replacing one loses data (or the key to it), so the review blocks it.

#: Type token (Kubernetes without version) -> what is lost when it goes.
DATA_HOLDING: dict[str, str] = {
    "aws:s3/bucket:Bucket": "S3 bucket (objects)",
    "aws:s3/bucketV2:BucketV2": "S3 bucket (objects)",
    "aws:rds/instance:Instance": "RDS instance (database)",
    "aws:rds/cluster:Cluster": "RDS/Aurora cluster (database)",
    "aws:rds/globalCluster:GlobalCluster": "Aurora global cluster (database)",
    "aws:dynamodb/table:Table": "DynamoDB table (items)",
    "aws:efs/fileSystem:FileSystem": "EFS file system (files)",
    "aws:ebs/volume:Volume": "EBS volume (block data)",
    "aws:elasticache/replicationGroup:ReplicationGroup": "ElastiCache replication group (cached data)",
    "aws:kms/key:Key": "KMS key (everything encrypted with it becomes unreadable)",
    "aws:secretsmanager/secret:Secret": "Secrets Manager secret (stored credentials)",
    "aws:ssm/parameter:Parameter": "SSM parameter (stored value)",
    "gcp:storage/bucket:Bucket": "Cloud Storage bucket (objects)",
    "gcp:sql/databaseInstance:DatabaseInstance": "Cloud SQL instance (database)",
    "gcp:kms/cryptoKey:CryptoKey": "Cloud KMS key (everything encrypted with it becomes unreadable)",
    "gcp:kms/keyRing:KeyRing": "Cloud KMS key ring (its keys; a key ring can never be deleted or renamed)",
    "azure-native:storage:StorageAccount": "Azure storage account (blobs, files, tables, queues)",
    "azure-native:storage:BlobContainer": "Azure blob container (blobs)",
    "azure-native:keyvault:Vault": "Azure Key Vault (keys and secrets)",
    "azure-native:keyvault:Key": "Azure Key Vault key (everything encrypted with it)",
    "kubernetes:core:PersistentVolumeClaim": "PersistentVolumeClaim (volume data)",
    "kubernetes:core:PersistentVolume": "PersistentVolume (volume data)",
    "random:index/randomPassword:RandomPassword": "generated password (a new one locks out every client)",
}

_RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def _statefulset_with_volumes(record: Mapping[str, Any], _types: Mapping[str, str]) -> str | None:
    spec = (record.get("inputs") or {}).get("spec") or {}
    if spec.get("volumeClaimTemplates"):
        return "StatefulSet with volumeClaimTemplates (its PVCs and their data)"
    return None


def _secret_with_generated_password(record: Mapping[str, Any], types: Mapping[str, str]) -> str | None:
    for urns in (record.get("propertyDependencies") or {}).values():
        if any(types.get(urn) == _RANDOM_PASSWORD for urn in urns):
            return "Secret holding a generated password"
    return None


#: Kubernetes types whose data depends on their inputs: (record, urn -> type of the same plan) -> reason.
_DATA_PREDICATES: dict[str, Callable[[Mapping[str, Any], Mapping[str, str]], str | None]] = {
    "kubernetes:apps:StatefulSet": _statefulset_with_volumes,
    "kubernetes:core:Secret": _secret_with_generated_password,
}


def data_holding(record: Mapping[str, Any], types: Mapping[str, str]) -> str | None:
    """Why a plan record holds data (None when it does not); ``types`` maps URNs of its plan to types."""
    type_token = str(record.get("type", ""))
    key = kubernetes_key(type_token) or type_token
    if key in DATA_HOLDING:
        return DATA_HOLDING[key]
    predicate = _DATA_PREDICATES.get(key)
    return predicate(record, types) if predicate else None
