"""BackupJobs on the mock engine: CronJobs per class from config, safety fields, secrets by reference,
identities on the service accounts, the restore test's scratch target, and every command line parsed by
the backup function's real argparse parser."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.backup_jobs.manifests import (
    AZURE_ANNOTATION,
    GCP_CREDENTIALS_CONFIGMAP,
    GCP_CREDENTIALS_FILE,
    GCP_CREDENTIALS_KEY,
    GKE_ANNOTATION,
    IRSA_ANNOTATION,
    WAL_CONFIGMAP,
    JobsContext,
    Vaults,
    backup_argv,
)
from components.platform.config import ConfigError, parse_config
from functions.backup.cli import build_parser
from offline.engine import PlanResult
from tests.plans import (
    STACKS,
    deep_merge,
    manifests,
    manifests_of_kind,
    named,
    of_type,
    plan_of,
    plan_with,
    stack_values,
)

CLASSES = ("db", "chain", "state")


def backup_cronjobs(plan: PlanResult) -> dict[str, dict[str, Any]]:
    return {
        m["metadata"]["name"]: m
        for m in manifests_of_kind(plan, "CronJob")
        if m["metadata"]["name"].startswith("backup-")
    }


def pod_spec(cronjob: dict[str, Any]) -> dict[str, Any]:
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def container(cronjob: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod_spec(cronjob)["containers"]
    return only


def env_of(cronjob: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(cronjob)["env"]}


def outputs(plan: PlanResult) -> dict[str, Any]:
    return plan.outputs


@pytest.mark.parametrize("stack", STACKS)
def test_every_class_has_a_cronjob_on_its_configured_schedule(stack: str) -> None:
    config = parse_config(stack_values(stack))
    jobs = backup_cronjobs(plan_of(stack))
    assert jobs, f"the {stack} plan declares no backup CronJobs"
    for data_class in CLASSES:
        assert jobs[f"backup-{data_class}"]["spec"]["schedule"] == config.backup.classes[data_class].schedule  # type: ignore[index]
        assert jobs[f"backup-restore-test-{data_class}"]["spec"]["schedule"] == config.backup.restore_test_schedule
        assert f"backup-verify-{data_class}" in jobs and f"backup-prune-{data_class}" in jobs


def test_schedule_changes_follow_config() -> None:
    plan = plan_with("staging", {"backup": {"classes": {"chain": {"schedule": "*/7 * * * *"}}}})
    assert backup_cronjobs(plan)["backup-chain"]["spec"]["schedule"] == "*/7 * * * *"


@pytest.mark.parametrize("stack", STACKS)
def test_cronjobs_are_safe(stack: str) -> None:
    jobs = backup_cronjobs(plan_of(stack))
    assert len(jobs) >= 12
    for name, job in jobs.items():
        spec = job["spec"]
        assert spec["concurrencyPolicy"] == "Forbid", name
        assert spec["startingDeadlineSeconds"] > 0, name
        assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0, name
        assert 1 <= spec["successfulJobsHistoryLimit"] <= 10 and 1 <= spec["failedJobsHistoryLimit"] <= 10, name
        assert spec["timeZone"], name
        pod = pod_spec(job)
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0, name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["serviceAccountName"] == "backup-jobs", name
        assert pod["restartPolicy"] == "Never", name
        c = container(job)
        ctx = c["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False, name
        assert ctx["capabilities"]["drop"] == ["ALL"] and ctx["runAsNonRoot"] is True, name
        assert set(c["resources"]) == {"requests", "limits"}, name
        assert {"cpu", "memory"} <= set(c["resources"]["limits"]), name
        for volume in pod["volumes"]:
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["readOnly"] is True, name


@pytest.mark.parametrize("stack", STACKS)
def test_manifests_validate_against_kubernetes_1_30_strict(stack: str) -> None:
    plan = plan_of(stack)
    mine = [m for m in manifests(plan) if m["metadata"]["name"].startswith("backup-")]
    assert {m["kind"] for m in mine} >= {"CronJob", "ServiceAccount"}
    for manifest in mine:
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)


def test_database_pod_patch_is_a_valid_pod_template() -> None:
    """The patch for the database's StatefulSet, applied to a minimal one, still validates strictly."""
    assert_patch_is_a_valid_pod_template(plan_of("staging"))


def assert_patch_is_a_valid_pod_template(plan: PlanResult) -> None:
    (configmap,) = [m for m in manifests_of_kind(plan, "ConfigMap") if m["metadata"]["name"] == WAL_CONFIGMAP]
    patch = yaml.safe_load(configmap["data"]["database-pod-patch.yaml"])
    template = patch["spec"]["template"]
    container_patch = template["spec"]["containers"][0]
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "postgres", "namespace": "platform"},
        "spec": {
            "serviceName": "postgres",
            "selector": {"matchLabels": {"app": "postgres"}},
            "template": {
                "metadata": {"labels": {"app": "postgres", **template.get("metadata", {}).get("labels", {})}},
                "spec": {
                    "serviceAccountName": template["spec"]["serviceAccountName"],
                    "containers": [{"image": "postgres:15.8", **container_patch}],
                    "volumes": template["spec"]["volumes"],
                },
            },
        },
    }
    kubernetes_validate.validate(statefulset, "1.30.0", strict=True)


@pytest.mark.parametrize("stack", STACKS)
def test_no_plaintext_database_url_anywhere_in_the_plan(stack: str) -> None:
    plan = plan_of(stack)
    rendered = json.dumps([r.to_json() for r in plan.resources]) + json.dumps(plan.outputs)
    rendered += yaml.safe_dump_all(manifests(plan))
    assert "postgresql://" not in rendered
    config = parse_config(stack_values(stack))
    jobs = backup_cronjobs(plan)
    for name in ("backup-db",):
        ref = env_of(jobs[name])["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": config.backup.database_url_secret, "key": "url"}
        args = container(jobs[name])["args"]
        assert args[args.index("--source") + 1] == "$(DATABASE_URL)"
    for job in jobs.values():  # key material: a KMS key id or a mounted Secret, never a value
        for env in container(job)["env"]:
            assert "value" in env or "secretKeyRef" in env["valueFrom"]
            assert not env["name"].endswith(("PASSWORD", "KEY", "CONNECTION_STRING"))


@pytest.mark.parametrize("stack", STACKS)
def test_restore_test_targets_the_scratch_server_never_the_source(stack: str) -> None:
    config = parse_config(stack_values(stack))
    assert config.backup_jobs is not None
    job = backup_cronjobs(plan_of(stack))["backup-restore-test-db"]
    env = env_of(job)
    assert "DATABASE_URL" not in env
    scratch = env["SCRATCH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert scratch["name"] == config.backup_jobs.scratch_database_url_secret.name != config.backup.database_url_secret
    args = build_parser().parse_args(container(job)["args"])
    assert args.command == "test-restore" and args.to == "$(SCRATCH_DATABASE_URL)"
    assert args.kind == "dump"  # never the nightly pg_basebackup, which would skip the scratch server


@pytest.mark.parametrize("stack", STACKS)
def test_restore_tests_pick_the_backup_kind_of_their_class(stack: str) -> None:
    parser = build_parser()
    jobs = backup_cronjobs(plan_of(stack))
    assert jobs, f"the {stack} plan declares no backup CronJobs"
    for data_class, kind in (("db", "dump"), ("chain", "dir"), ("state", "dir")):
        ns = parser.parse_args(container(jobs[f"backup-restore-test-{data_class}"])["args"])
        assert (ns.command, ns.backup_class, ns.kind) == ("test-restore", data_class, kind)
        assert (ns.to is None) == (data_class != "db")


@pytest.mark.parametrize("stack", STACKS)
def test_service_accounts_carry_the_writer_identities(stack: str) -> None:
    plan = plan_of(stack)
    out = outputs(plan)
    accounts = {m["metadata"]["name"]: m for m in manifests_of_kind(plan, "ServiceAccount")}
    jobs_sa = accounts["backup-jobs"]
    assert jobs_sa["automountServiceAccountToken"] is False
    annotations = jobs_sa["metadata"]["annotations"]
    assert annotations[IRSA_ANNOTATION] == out["backup_jobs"]["irsa_role_arn"]
    assert annotations[IRSA_ANNOTATION].startswith("arn:aws:iam::")
    backup = out["backup"]
    if "azure" in backup:
        assert annotations[AZURE_ANNOTATION] == backup["azure"]["writer_client_id"]
        for job in backup_cronjobs(plan).values():
            assert job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"]
    else:
        assert AZURE_ANNOTATION not in annotations
    # EKS: GCS through Workload Identity Federation (credential file), never the inert GKE annotation.
    assert GKE_ANNOTATION not in annotations
    assert sorted(out["backup_jobs"]["service_accounts"]) == sorted(
        n for n in accounts if n.startswith("backup-") and n in out["backup_jobs"]["service_accounts"]
    )


def _token_files(pod: dict[str, Any], c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Path -> serviceAccountToken projection of every projected token the container mounts (one per cloud
    that federates: Azure's and, with GCS through Workload Identity Federation, Google's)."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    found: dict[str, dict[str, Any]] = {}
    for mount in c["volumeMounts"]:
        for source in volumes[mount["name"]].get("projected", {}).get("sources", []):
            if "serviceAccountToken" in source:
                assert mount["readOnly"] is True
                token = source["serviceAccountToken"]
                found[f"{mount['mountPath']}/{token['path']}"] = token
    return found


def test_azure_workload_identity_is_explicit_in_every_prod_pod() -> None:
    """EKS has no Azure webhook: client id, tenant, token file and the projected token come from the manifest."""
    plan = plan_of("prod")
    config = parse_config(stack_values("prod"))
    assert config.backup_jobs is not None
    azure = outputs(plan)["backup"]["azure"]
    jobs = backup_cronjobs(plan)
    # four jobs per class plus the nightly pg_basebackup of the self-managed database (archive_command)
    assert len(jobs) == 4 * len(CLASSES) + 1 and "backup-db-base" in jobs
    for name, job in jobs.items():
        env = {k: e["value"] for k, e in env_of(job).items() if "value" in e}
        assert env["AZURE_CLIENT_ID"] == azure["writer_client_id"], name
        assert env["AZURE_TENANT_ID"] == config.backup_jobs.identity.azure_tenant_id, name
        assert env["AZURE_STORAGE_ACCOUNT_URL"].startswith("https://"), name
        tokens = _token_files(pod_spec(job), container(job))
        assert env["AZURE_FEDERATED_TOKEN_FILE"] in tokens, name
        token = tokens[env["AZURE_FEDERATED_TOKEN_FILE"]]
        assert token["audience"] == "api://AzureADTokenExchange", name
        # the one other token is Google's (GCS through Workload Identity Federation), never a second Azure one
        others = [t["audience"] for p, t in tokens.items() if p != env["AZURE_FEDERATED_TOKEN_FILE"]]
        assert len(others) == 1 and "api://AzureADTokenExchange" not in others, name
        assert 600 <= token["expirationSeconds"] <= 86_400, name
        assert pod_spec(job)["automountServiceAccountToken"] is False, name  # still no API token
    # the audience the pods present is the one the federated credentials accept, for the pods' own account
    for credential in of_type(plan, "azure-native:managedidentity:FederatedIdentityCredential"):
        assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    (sa,) = [m for m in manifests_of_kind(plan, "ServiceAccount") if m["metadata"]["name"] == "backup-jobs"]
    tenant = config.backup_jobs.identity.azure_tenant_id
    assert sa["metadata"]["annotations"]["azure.workload.identity/tenant-id"] == tenant


def test_no_azure_identity_without_the_azure_vault() -> None:
    jobs = backup_cronjobs(plan_of("staging"))
    assert jobs, "the staging plan declares no backup CronJobs"
    for name, job in jobs.items():
        assert not [e for e in env_of(job) if e.startswith("AZURE_")], name
        assert not [v for v in pod_spec(job)["volumes"] if "projected" in v], name


AZURE_STAGING = {
    "cloud": {"azure": {"enabled": True, "location": "eastus2"}},
    "backup": {"azure": {"enabled": True}},
    "backup_jobs": {"identity": {"azure_tenant_id": "11111111-2222-4333-8444-555555555555"}},
    "budgets": {"split": {"aws": 200, "azure": 50}},
}


def test_wal_archiver_patch_carries_the_azure_workload_identity() -> None:
    """archive_command talks to Azure from the PostgreSQL container: same env and projected token there."""
    plan = plan_with("staging", AZURE_STAGING)
    (configmap,) = [m for m in manifests_of_kind(plan, "ConfigMap") if m["metadata"]["name"] == WAL_CONFIGMAP]
    patch = yaml.safe_load(configmap["data"]["database-pod-patch.yaml"])["spec"]["template"]
    postgres = patch["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in postgres["env"]}
    assert env["AZURE_TENANT_ID"] == "11111111-2222-4333-8444-555555555555"
    assert env["AZURE_CLIENT_ID"] == outputs(plan)["backup"]["azure"]["writer_client_id"]
    tokens = _token_files(patch["spec"], postgres)
    assert env["AZURE_FEDERATED_TOKEN_FILE"] in tokens
    assert tokens[env["AZURE_FEDERATED_TOKEN_FILE"]]["audience"] == "api://AzureADTokenExchange"
    assert patch["spec"]["serviceAccountName"] == "backup-wal-archiver"
    federated = of_type(plan, "azure-native:managedidentity:FederatedIdentityCredential")
    assert "system:serviceaccount:platform:backup-wal-archiver" in [f.inputs["subject"] for f in federated]
    for job in backup_cronjobs(plan).values():
        kubernetes_validate.validate(job, "1.30.0", strict=True)
    assert_patch_is_a_valid_pod_template(plan)


@pytest.mark.parametrize("stack", STACKS)
def test_identity_trust_is_limited_to_the_job_service_accounts(stack: str) -> None:
    plan = plan_of(stack)
    sas = outputs(plan)["backup_jobs"]["service_accounts"]
    subjects = sorted(f"system:serviceaccount:platform:{sa}" for sa in sas)
    role = named(plan, "backup-jobs-irsa")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    assert sorted(next(v for k, v in conditions.items() if k.endswith(":sub"))) == subjects
    assert next(v for k, v in conditions.items() if k.endswith(":aud")) == "sts.amazonaws.com"
    # The S3 vault's writer policy reaches the role only through BackupStorage's grant_write.
    grant = named(plan, "backup-s3-grant-backup-jobs")
    assert grant.inputs["role"] == outputs(plan)["backup_jobs"]["irsa_role_arn"].rsplit("/", 1)[1]
    assert ":policy/backup-s3-writer-policy" in grant.inputs["policyArn"]
    # The backup jobs' own (the DR standby federates the archiver's account again for its cluster's issuer).
    ours = "$platform:backup_jobs:BackupJobs$"
    federated = [f for f in of_type(plan, "azure-native:managedidentity:FederatedIdentityCredential") if ours in f.urn]
    bindings = [b for b in of_type(plan, "gcp:serviceaccount/iAMMember:IAMMember") if ours in b.urn]
    if "azure" in outputs(plan)["backup"]:
        assert sorted(f.inputs["subject"] for f in federated) == subjects
    if "gcs" in outputs(plan)["backup"]:
        members = sorted(b.inputs["member"] for b in bindings if b.inputs["role"] == "roles/iam.workloadIdentityUser")
        pool = (
            "principal://iam.googleapis.com/projects/271828182845/locations/global/workloadIdentityPools/platform-k8s"
        )
        assert members == sorted(f"{pool}/subject/{subject}" for subject in subjects)


@pytest.mark.parametrize("stack", STACKS)
def test_no_in_cluster_rbac_for_the_backup_accounts(stack: str) -> None:
    plan = plan_of(stack)
    accounts = [m["metadata"]["name"] for m in manifests_of_kind(plan, "ServiceAccount")]
    assert any(a.startswith("backup-") for a in accounts), f"the {stack} plan declares no backup service accounts"
    # a stack may legitimately declare no RBAC at all, so collect offenders and assert outside the loop
    bound = [
        m["metadata"]["name"]
        for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
        for m in manifests_of_kind(plan, kind)
        if any(str(s.get("name")).startswith("backup-") for s in m.get("subjects", []))
    ]
    assert bound == [], bound


def test_wrap_key_use_is_bound_to_the_encryption_context() -> None:
    plan = plan_of("prod")
    policy = json.loads(named(plan, "backup-jobs-wrap-use").inputs["policy"])
    wrap = next(s for s in policy["Statement"] if s["Sid"] == "WrapBackupDataKeys")
    assert sorted(wrap["Action"]) == ["kms:Decrypt", "kms:Encrypt"]
    assert wrap["Resource"] == outputs(plan)["backup_jobs"]["wrap_key_arn"]
    assert wrap["Condition"]["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"] == ["backup_id", "class"]
    assert named(plan, "backup-jobs-wrap").inputs["enableKeyRotation"] is True


# --- data keys wrapped for every cloud ------------------------------------------------------------

AZURE_KEY = "https://backupwrap-prod.vault.azure.net/keys/backup-wrap"
AZURE_VAULT = (
    "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-keys/providers/Microsoft.KeyVault/"
    "vaults/backupwrap-prod"
)
GCP_KEY = "projects/example-dr/locations/nam4/keyRings/backup/cryptoKeys/wrap"
KEYED_COMMANDS = ("backup", "incremental", "verify", "test-restore")


def _key_flags(plan: PlanResult) -> dict[str, Any]:
    """Per CronJob, the key options the real CLI parser reads from its args (prune takes no key)."""
    parser = build_parser()
    flags = {}
    for name, job in backup_cronjobs(plan).items():
        ns = parser.parse_args(container(job)["args"])
        if ns.command in KEYED_COMMANDS:
            flags[name] = (ns.kms_key_id, ns.azure_key_id, ns.gcp_kms_key, ns.key_file)
    return flags


def test_prod_wraps_every_data_key_for_aws_and_a_created_cloud_kms_key() -> None:
    plan = plan_of("prod")
    crypto = next(r for r in of_type(plan, "gcp:kms/cryptoKey:CryptoKey") if r.name == "backup-jobs-wrap-gcp")
    ring = next(r for r in of_type(plan, "gcp:kms/keyRing:KeyRing") if r.name == "backup-jobs-wrap-gcp")
    assert crypto.options.get("protect") is True and ring.options.get("protect") is True
    assert crypto.inputs["rotationPeriod"] == "7776000s" and crypto.inputs["purpose"] == "ENCRYPT_DECRYPT"
    assert ring.inputs["location"] == "nam4"
    grant = named(plan, "backup-jobs-wrap-gcp-use").inputs
    key_id = grant["cryptoKeyId"]
    assert key_id.startswith(crypto.inputs["keyRing"] + "/cryptoKeys/backup-jobs-wrap-gcp-")
    assert grant == {
        "cryptoKeyId": key_id,
        "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "member": "serviceAccount:" + outputs(plan)["backup"]["gcs"]["writer_email"],
    }
    flags = _key_flags(plan)
    # backup, verify, restore test per class, and the db base backup (prod archives WAL itself: archive_command)
    assert len(flags) == 3 * 3 + 1 and "backup-db-base" in flags
    for name, (kms, azure, gcp, key_file) in flags.items():
        assert (kms, azure, gcp, key_file) == (outputs(plan)["backup_jobs"]["wrap_key_arn"], None, key_id, None), name
    assert not of_type(plan, "azure-native:keyvault:Vault")  # no Key Vault is created: azure_key_id names one


def test_existing_cloud_keys_are_passed_and_granted_to_the_writer_identities_only() -> None:
    plan = plan_with(
        "prod",
        {
            "backup_jobs": {
                "key": {"azure_key_id": AZURE_KEY, "azure_key_vault_id": AZURE_VAULT, "gcp_kms_key": GCP_KEY}
            }
        },
    )
    assert not [r for r in of_type(plan, "gcp:kms/cryptoKey:CryptoKey") if r.name == "backup-jobs-wrap-gcp"]
    assert named(plan, "backup-jobs-wrap-gcp-use").inputs["cryptoKeyId"] == GCP_KEY
    writer = named(plan, "backup-azure-grant-writer").inputs["principalId"]
    assert named(plan, "backup-jobs-wrap-azure-use").inputs == {
        "principalId": writer,
        "principalType": "ServicePrincipal",
        "roleDefinitionId": "/subscriptions/11111111-2222-4333-8444-555555555555/providers/"
        "Microsoft.Authorization/roleDefinitions/12338af0-0e69-4776-bea7-57ae8d297424",
        "scope": AZURE_VAULT + "/keys/backup-wrap",
    }
    wrap_key_arn = outputs(plan)["backup_jobs"]["wrap_key_arn"]
    for name, flags in _key_flags(plan).items():
        assert flags == (wrap_key_arn, AZURE_KEY, GCP_KEY, None), name
    # The function accepts what the jobs pass (the same validation a job run does, before any network call).
    from functions.backup.keys import wrapper_from_options

    ring = wrapper_from_options(kms_key_id=wrap_key_arn, azure_key_id=AZURE_KEY, gcp_kms_key=GCP_KEY)
    assert [k.split(":", 1)[0] for k in ring.key_ids] == ["aws-kms", "azure-keyvault", "gcp-kms"]


def test_wal_archive_command_carries_every_key() -> None:
    plan = plan_with("prod", {"backup_jobs": {"wal_archive": {"mode": "archive_command"}}})
    configmap = named(plan, "backup-jobs-wal-archive").inputs  # the primary's (the DR standby has its own)
    line = next(x for x in configmap["data"]["backup-archive.conf"].splitlines() if x.startswith("archive_command"))
    words = shlex.split(line.split("=", 1)[1].strip().strip("'").replace("''", "'"))
    ns = build_parser().parse_args(words[3:])
    assert ns.command == "wal-push" and ns.kms_key_id == outputs(plan)["backup_jobs"]["wrap_key_arn"]
    assert ns.gcp_kms_key == named(plan, "backup-jobs-wrap-gcp-use").inputs["cryptoKeyId"] and ns.azure_key_id is None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (
            {"azure_key_id": "https://kv.example.com/keys/k", "azure_key_vault_id": AZURE_VAULT},
            "not a Key Vault key URL",
        ),
        ({"azure_key_id": AZURE_KEY}, "backup_jobs.key.azure_key_vault_id: required with azure_key_id"),
        ({"azure_key_id": AZURE_KEY, "azure_key_vault_id": "/subscriptions/x/vaults/v"}, "not a Key Vault resource id"),
        (
            {"azure_key_id": AZURE_KEY, "azure_key_vault_id": AZURE_VAULT.replace("backupwrap-prod", "other-vault")},
            "names vault 'other-vault', azure_key_id is in vault 'backupwrap-prod'",
        ),
        ({"azure_key_vault_id": AZURE_VAULT}, "azure_key_vault_id: only with azure_key_id"),
        ({"gcp_kms_key": "projects/p/keyRings/r/cryptoKeys/k"}, "backup_jobs.key.gcp_kms_key: 'projects/p/keyRings"),
    ],
)
def test_bad_cloud_keys_are_config_errors(key: dict[str, str], problem: str) -> None:
    _one(_problems("prod", {"backup_jobs": {"key": key}}), problem)


def test_cloud_keys_need_the_vault_whose_identity_uses_them() -> None:
    problems = _problems(
        "staging",
        {
            "backup_jobs": {
                "key": {"azure_key_id": AZURE_KEY, "azure_key_vault_id": AZURE_VAULT, "gcp_kms_key": GCP_KEY}
            }
        },
    )
    _one(problems, "backup_jobs.key.azure_key_id: needs backup.azure.enabled")
    _one(problems, "backup_jobs.key.gcp_kms_key: needs backup.gcs.enabled")


# --- command lines through the real CLI parser ---------------------------------------------------


def _vault_count(plan: PlanResult) -> int:
    return len(outputs(plan)["backup"])


def _assert_drill_args(plan: PlanResult, stack: str) -> None:
    """The drill takes no --class: it restores the db class from every db vault into the scratch server."""
    config = parse_config(stack_values(stack))
    assert config.backup_jobs is not None
    jobs = backup_cronjobs(plan)
    c = container(jobs["backup-drill"])
    assert c["command"] == ["python", "-m", "functions.backup"]
    assert "--class" not in c["args"]
    parser = build_parser()
    ns = parser.parse_args(c["args"])
    assert ns.command == "drill"
    assert ns.to == "$(SCRATCH_DATABASE_URL)"
    assert ns.pitr_age_seconds == config.backup_jobs.drill.pitr_age_seconds
    assert ns.work_dir in {m["mountPath"] for m in c["volumeMounts"]}
    assert ns.target == parser.parse_args(container(jobs["backup-db"])["args"]).target  # the db vaults
    assert ns.kms_key_id == outputs(plan)["backup_jobs"]["wrap_key_arn"]
    assert ns.pushgateway and ns.pushgateway.startswith("http")


@pytest.mark.parametrize("stack", STACKS)
def test_every_command_line_parses_with_the_backup_cli(stack: str) -> None:
    plan = plan_of(stack)
    parser = build_parser()
    config = parse_config(stack_values(stack))
    assert config.backup_jobs is not None
    assert ("backup-drill" in backup_cronjobs(plan)) is config.backup_jobs.drill.enabled
    expected_command = {
        "backup-db": "backup",
        "backup-db-base": "backup",
        "backup-chain": "incremental",
        "backup-state": "backup",
    }
    for name, job in backup_cronjobs(plan).items():
        if name == "backup-drill":
            _assert_drill_args(plan, stack)
            continue
        c = container(job)
        assert c["command"] == ["python", "-m", "functions.backup"], name
        ns = parser.parse_args(c["args"])
        data_class = name.rsplit("-", 1)[1] if name != "backup-db-base" else "db"
        if name in expected_command:
            assert ns.command == expected_command[name], name
            assert ns.pushgateway and ns.pushgateway.startswith("http"), name
        else:
            assert ns.command == name.split("-")[1].replace("restore", "test-restore"), name
        chosen = ns.backup_class if not isinstance(ns.backup_class, list) else ns.backup_class[0]
        assert chosen == data_class, name
        assert len(ns.target) == _vault_count(plan), name
        if ns.command not in ("prune", "list"):
            assert ns.kms_key_id == outputs(plan)["backup_jobs"]["wrap_key_arn"], name
    parsed = {name: parser.parse_args(container(job)["args"]) for name, job in backup_cronjobs(plan).items()}
    assert parsed["backup-db"].pg_kind == "dump" and parsed["backup-db"].source == "$(DATABASE_URL)"
    assert parsed["backup-chain"].source_dir == "/data"
    assert parsed["backup-prune-db"].apply is False


def test_archive_command_parses_and_ships_wal_within_the_rpo() -> None:
    plan = plan_of("staging")
    config = parse_config(stack_values("staging"))
    (configmap,) = [m for m in manifests_of_kind(plan, "ConfigMap") if m["metadata"]["name"] == WAL_CONFIGMAP]
    conf = configmap["data"]["backup-archive.conf"]
    settings = dict(line.split(" = ", 1) for line in conf.splitlines() if " = " in line and not line.startswith("#"))
    assert settings["archive_mode"] == "on"
    timeout = int(settings["archive_timeout"].removesuffix("s"))
    assert timeout == config.backup.wal_archive_timeout_seconds <= config.dr.rpo_target_seconds
    command = settings["archive_command"]
    assert command.startswith("'") and command.endswith("'")
    words = shlex.split(command[1:-1].replace("''", "'"))
    assert words[:3] == ["/opt/backup/bin/python", "-m", "functions.backup"]
    ns = build_parser().parse_args(words[3:])
    assert ns.command == "wal-push" and ns.path == "%p"
    db_job = container(backup_cronjobs(plan)["backup-db"])
    db_targets = build_parser().parse_args(db_job["args"]).target
    assert ns.target == db_targets  # WAL goes where the base backups go (PITR needs both)
    base = build_parser().parse_args(container(backup_cronjobs(plan)["backup-db-base"])["args"])
    assert base.pg_kind == "base"


def _archive_configs(plan: PlanResult) -> list[str]:
    """Names of the ConfigMaps that carry a PostgreSQL archive_command (the GCP credential file is not one)."""
    return [
        m["metadata"]["name"]
        for m in manifests_of_kind(plan, "ConfigMap")
        if any(
            line.lstrip().startswith("archive_command")
            for value in m.get("data", {}).values()
            for line in str(value).splitlines()
        )
    ]


def test_rds_stack_has_no_archive_config_and_no_base_backup() -> None:
    # prod runs its own PostgreSQL (archive_command); the RDS variant opts out of archiving in the database.
    archiving = plan_of("prod")
    # The primary's, and the DR standby's in its own cluster (it archives once promoted).
    assert _archive_configs(archiving) == [WAL_CONFIGMAP, WAL_CONFIGMAP]
    assert "backup-db-base" in backup_cronjobs(archiving)
    keep_rds = {"kind": "rds_replica", "primary_endpoint": None, "standby_endpoint": None}  # nothing to replay
    plan = plan_with(
        "prod",
        {
            "backup_jobs": {"wal_archive": {"mode": "rds"}},
            "database": {"allow_no_wal_archive": True},
            "dr": {"database": keep_rds},
        },
    )
    assert not [m for m in manifests_of_kind(plan, "ConfigMap") if m["metadata"]["name"] == WAL_CONFIGMAP]
    assert _archive_configs(plan) == []
    # GCS access is still federated: its credential ConfigMap stays, and it is no archive config
    configmaps = {m["metadata"]["name"] for m in manifests_of_kind(plan, "ConfigMap")}
    assert GCP_CREDENTIALS_CONFIGMAP in configmaps
    jobs = backup_cronjobs(plan)
    assert jobs and "backup-db" in jobs and "backup-db-base" not in jobs
    assert outputs(plan)["backup_jobs"]["service_accounts"] == ["backup-jobs"]
    assert outputs(plan)["backup_jobs"]["wal_archive_configmap"] is None


def _locks(stack: str, changes: dict[str, Any] | None = None) -> dict[str, tuple[int, str] | None]:
    """Job name -> (--lock-days, --lock-mode) of each backup/incremental run (None: the bucket default lock)."""
    plan = plan_with(stack, changes) if changes else plan_of(stack)
    parser = build_parser()
    locks: dict[str, tuple[int, str] | None] = {}
    for name, job in backup_cronjobs(plan).items():
        args = container(job)["args"]
        ns = parser.parse_args(args)
        if ns.command in ("backup", "incremental"):
            locks[name] = (ns.lock_days, ns.lock_mode) if "--lock-days" in args else None
            assert ("--lock-mode" in args) == ("--lock-days" in args), name
    return locks


def test_compliance_locks_per_class_in_prod() -> None:
    # prod: db 30, chain 90, state 7 = the bucket default lock (the shortest class lock); the base backup is db
    assert _locks("prod") == {
        "backup-db": (30, "COMPLIANCE"),
        "backup-db-base": (30, "COMPLIANCE"),
        "backup-chain": (90, "COMPLIANCE"),
        "backup-state": None,
    }


def test_governance_locks_per_class_in_staging() -> None:
    # staging: db 7, chain 14, state 3 = the bucket default; the wal base backup is a db backup too
    assert _locks("staging") == {
        "backup-db": (7, "GOVERNANCE"),
        "backup-db-base": (7, "GOVERNANCE"),
        "backup-chain": (14, "GOVERNANCE"),
        "backup-state": None,
    }


def test_lock_mode_follows_backup_lock_mode() -> None:
    locks = _locks("staging", {"backup": {"lock_mode": "COMPLIANCE"}})
    assert locks["backup-chain"] == (14, "COMPLIANCE") and locks["backup-state"] is None


def test_no_per_object_lock_without_an_s3_vault() -> None:
    """Azure immutability and GCS retention are the vaults' own policies; the CLI only locks S3 objects."""
    config = parse_config(stack_values("prod"))
    assert config.backup_jobs is not None
    targets = {c: ["azblob://backup-" + c, "gs://backup-" + c] for c in CLASSES}
    for has_s3 in (False, True):
        ctx = JobsContext(
            settings=config.backup_jobs,
            backup=config.backup,
            namespace="platform",
            vaults=Vaults(targets=targets, kms_key_id="arn:aws:kms:us-east-1:123456789012:key/k", has_s3=has_s3),
        )
        args = [str(a) for a in backup_argv(ctx, "chain")]
        assert ("--lock-days" in args) is ("--lock-mode" in args) is has_s3
        if has_s3:
            ns = build_parser().parse_args(args)
            assert (ns.lock_days, ns.lock_mode) == (90, "COMPLIANCE")


def test_key_file_secret_variant_mounts_the_key_and_names_no_kms() -> None:
    plan = plan_with(
        "staging",
        {"backup_jobs": {"key": {"key_file_secret": "backup-key"}, "prune_apply": True}},
    )
    jobs = backup_cronjobs(plan)
    parser = build_parser()
    for name, job in jobs.items():
        c = container(job)
        ns = parser.parse_args(c["args"])
        if ns.command != "prune":
            assert ns.key_file == "/var/run/secrets/backup-key/key" and ns.kms_key_id is None, name
            assert {"name": "backup-key", "mountPath": "/var/run/secrets/backup-key", "readOnly": True} in c[
                "volumeMounts"
            ]
        else:
            assert ns.apply is True
    volumes = pod_spec(jobs["backup-db"])["volumes"]
    assert {
        "name": "backup-key",
        "secret": {"secretName": "backup-key", "items": [{"key": "key", "path": "key"}], "defaultMode": 0o400},
    } in volumes
    assert outputs(plan)["backup_jobs"]["wrap_key_arn"] is None
    assert not [r for r in of_type(plan, "aws:iam/rolePolicy:RolePolicy") if r.name.startswith("backup-jobs")]


def test_backup_jobs_section_is_optional() -> None:
    # without backup_jobs no WAL is archived, so the database must opt out of archiving explicitly
    _one(_problems("staging", {"backup_jobs": None}), "database.allow_no_wal_archive")
    plan = plan_with("staging", {"backup_jobs": None, "database": {"allow_no_wal_archive": True}})
    assert not backup_cronjobs(plan)
    assert "backup_jobs" not in outputs(plan)


# --- bad input ---------------------------------------------------------------------------------------


def _problems(stack: str, changes: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values(stack), changes))
    return caught.value.problems


def _one(problems: list[str], *needles: str) -> str:
    hits = [p for p in problems if all(n in p for n in needles)]
    assert hits, f"no problem mentions {needles}: {problems}"
    return hits[0]


def test_archive_timeout_beyond_the_rpo_is_refused() -> None:
    problems = _problems("staging", {"backup": {"wal_archive_timeout_seconds": 120}})
    line = _one(problems, "backup_jobs.wal_archive.mode", "backup.wal_archive_timeout_seconds 120", "60")
    assert line.startswith("backup_jobs.wal_archive.mode:")


def test_scheduled_dumps_alone_cannot_meet_the_rpo() -> None:
    problems = _problems("staging", {"backup_jobs": {"wal_archive": {"mode": "off"}}})
    _one(problems, "backup_jobs.wal_archive.mode", "backup.classes.db.schedule", "21600 s", "dr.rpo_target_seconds 60")
    # every minute is the one cron schedule that meets a 60 s RPO
    parse_config(
        deep_merge(
            stack_values("staging"),
            {
                "backup_jobs": {"wal_archive": {"mode": "off"}},
                "backup": {"classes": {"db": {"schedule": "* * * * *"}}},
                "database": {"allow_no_wal_archive": True},  # no WAL archiving is an explicit opt-out
            },
        )
    )


def test_rds_mode_needs_the_dr_replica() -> None:
    _one(
        _problems("staging", {"backup_jobs": {"wal_archive": {"mode": "rds"}}}),
        "backup_jobs.wal_archive.mode",
        "dr.enabled",
    )


def test_unknown_class_is_named() -> None:
    line = _one(_problems("prod", {"backup_jobs": {"classes": {"blocks": {}}}}), "backup_jobs.classes.blocks")
    assert "db, chain, state" in line


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"backup": {"database_url_secret": ""}}, "backup.database_url_secret: required"),
        (
            {"backup_jobs": {"scratch_database_url_secret": {"name": ""}}},
            "backup_jobs.scratch_database_url_secret.name",
        ),
        ({"backup_jobs": {"scratch_database_url_secret": {"name": "backup-source-db"}}}, "never the source"),
        ({"backup_jobs": {"key": {"key_file_secret": "Not_A_Name"}}}, "backup_jobs.key.key_file_secret"),
        ({"backup_jobs": {"identity": {"aws_oidc_provider_arn": None}}}, "backup_jobs.identity.aws_oidc_provider_arn"),
        ({"backup_jobs": {"classes": {"chain": {"source": None}}}}, "backup_jobs.classes.chain.source: required"),
        ({"backup_jobs": {"image": "ghcr.io/example/backup:latest"}}, "backup_jobs.image"),
        ({"backup_jobs": {"pushgateway_url": "pushgateway:9091"}}, "backup_jobs.pushgateway_url"),
    ],
)
def test_missing_or_bad_names_are_config_errors(changes: dict[str, Any], key: str) -> None:
    _one(_problems("staging", changes), key)


def test_azure_vault_needs_the_tenant_of_its_writer_identity() -> None:
    line = _one(_problems("prod", {"backup_jobs": {"identity": {"azure_tenant_id": None}}}), "azure_tenant_id")
    assert line.startswith("backup_jobs.identity.azure_tenant_id: required when backup.azure.enabled")
    _one(_problems("prod", {"backup_jobs": {"identity": {"azure_tenant_id": "contoso"}}}), "identity.azure_tenant_id")


def test_azure_vault_needs_an_issuer_for_the_federated_credential() -> None:
    changes = {"backup_jobs": {"identity": {"aws_oidc_provider_arn": None}}, "backup": {"aws": {"enabled": False}}}
    problems = _problems("prod", changes)
    _one(problems, "backup_jobs.identity.oidc_issuer_url")


ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/9F8E7D6C5B4A39281706F5E4D3C2B1A0"


def test_prod_gcp_access_is_workload_identity_federation_from_the_eks_issuer() -> None:
    plan = plan_of("prod")
    provider = named(plan, "backup-jobs-gcp-provider").inputs
    assert provider["oidc"]["issuerUri"] == ISSUER
    assert provider["attributeMapping"] == {"google.subject": "assertion.sub"}
    assert provider["workloadIdentityPoolId"] == named(plan, "backup-jobs-gcp-pool").inputs["workloadIdentityPoolId"]
    audience = provider["oidc"]["allowedAudiences"][0]
    assert audience == (
        "https://iam.googleapis.com/projects/271828182845/locations/global/workloadIdentityPools/platform-k8s"
        "/providers/cluster-oidc"
    )
    configmap = named(plan, "backup-jobs-gcp-credentials").inputs  # the primary cluster's
    assert configmap["metadata"]["name"] == GCP_CREDENTIALS_CONFIGMAP
    config = json.loads(configmap["data"][GCP_CREDENTIALS_KEY])
    assert config["type"] == "external_account" and "https:" + config["audience"] == audience
    assert config["subject_token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    assert config["token_url"] == "https://sts.googleapis.com/v1/token"
    writer = outputs(plan)["backup"]["gcs"]["writer_email"]
    assert config["service_account_impersonation_url"].endswith(f"/serviceAccounts/{writer}:generateAccessToken")
    jobs = backup_cronjobs(plan)
    assert jobs, "the prod plan declares backup CronJobs"
    for job in jobs.values():
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["GOOGLE_APPLICATION_CREDENTIALS"] == GCP_CREDENTIALS_FILE
        volumes = {v["name"]: v for v in pod["volumes"]}
        token = volumes["gcp-identity-token"]["projected"]["sources"][0]["serviceAccountToken"]
        assert token["audience"] == audience
        assert volumes["gcp-credentials"]["configMap"]["name"] == GCP_CREDENTIALS_CONFIGMAP
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert config["credential_source"]["file"] == f"{mounts['gcp-identity-token']}/{token['path']}"
        assert GCP_CREDENTIALS_FILE.startswith(mounts["gcp-credentials"] + "/")


def test_google_auth_reads_the_credential_configuration(tmp_path: Path) -> None:
    """The file the pods get is one google-auth turns into federated credentials that read the projected token
    (the STS exchange itself needs Google: not here)."""
    import google.auth
    from google.auth import identity_pool

    plan = plan_of("prod")
    configmap = named(plan, "backup-jobs-gcp-credentials").inputs  # the primary cluster's
    assert configmap["metadata"]["name"] == GCP_CREDENTIALS_CONFIGMAP
    config = json.loads(configmap["data"][GCP_CREDENTIALS_KEY])
    token = tmp_path / "token"
    token.write_text("header.payload.signature")
    config["credential_source"]["file"] = str(token)  # the pod's path, moved under tmp_path
    path = tmp_path / GCP_CREDENTIALS_KEY
    path.write_text(json.dumps(config))
    credentials, _ = google.auth.load_credentials_from_file(str(path))
    assert isinstance(credentials, identity_pool.Credentials)
    assert credentials.service_account_email == outputs(plan)["backup"]["gcs"]["writer_email"]
    assert credentials.retrieve_subject_token(None) == "header.payload.signature"


def test_gcs_without_an_issuer_names_the_missing_key() -> None:
    values = stack_values("prod")
    identity = {k: v for k, v in values["backup_jobs"]["identity"].items() if k != "aws_oidc_provider_arn"}
    values["backup_jobs"] = {**values["backup_jobs"], "identity": identity}
    values["backup"] = {**values["backup"], "aws": {**values["backup"]["aws"], "enabled": False}}
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    assert any(
        p.startswith("backup_jobs.identity.oidc_issuer_url: required when backup.gcs.enabled")
        for p in caught.value.problems
    ), caught.value.problems


def test_a_gke_pool_outside_gke_is_refused() -> None:
    values = deep_merge(stack_values("prod"), {"backup_jobs": {"identity": {"gcp_workload_pool": "p.svc.id.goog"}}})
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    assert any(p.startswith("backup_jobs.identity.gcp_workload_pool: only with") for p in caught.value.problems)


def test_gke_mode_keeps_the_metadata_server_path() -> None:
    plan = plan_with("prod", {"backup_jobs": {"identity": {"gcp_federation": "gke"}}})
    assert not of_type(plan, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool")
    members = {b.inputs["member"] for b in of_type(plan, "gcp:serviceaccount/iAMMember:IAMMember")}
    assert "serviceAccount:example-platform-prod.svc.id.goog[platform/backup-jobs]" in members
