"""The identity-federation rule passes on both plans (IRSA for the backup jobs and the video worker, Azure
federated credentials and GCP Workload Identity Federation in prod) and fails, naming the URN to fix, when a
trust names another account, audience or cluster, a federation is missing, or a pod carries the GKE annotation
on EKS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, pack_config, records_of, violations

RULE = "wiring-identity-federated"
OTHER_ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/00000000000000000000000000000000"


def _violations(records: list[dict[str, Any]], stack: str = "prod", config: dict[str, Any] | None = None) -> list[Any]:
    return [v for v in violations(records, stack, config=config) if v.policy == RULE]


def _prod() -> list[dict[str, Any]]:
    return records_of(plan_of("prod"))


def _urn(records: list[dict[str, Any]], name: str) -> str:
    return next(r["urn"] for r in records if r["name"] == name)


@pytest.mark.parametrize("stack", STACKS)
def test_both_plans_pass(stack: str) -> None:
    records = records_of(plan_of(stack))
    accounts = [r for r in records if r["type"] == "kubernetes:core/v1:ServiceAccount"]
    assert any("eks.amazonaws.com/role-arn" in (r["inputs"]["metadata"].get("annotations") or {}) for r in accounts)
    assert _violations(records, stack) == []


def test_prod_exercises_every_cloud() -> None:
    records = _prod()
    types = {r["type"] for r in records}
    assert "azure-native:managedidentity:FederatedIdentityCredential" in types
    assert "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider" in types


def _trust(change: Any) -> Any:
    def edit(inputs: dict[str, Any]) -> None:
        policy = json.loads(inputs["assumeRolePolicy"])
        change(policy["Statement"][0]["Condition"]["StringEquals"])
        inputs["assumeRolePolicy"] = json.dumps(policy)

    return edit


def _sub_key(conditions: dict[str, Any], suffix: str) -> str:
    return next(k for k in conditions if k.endswith(suffix))


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update({_sub_key(c, ":sub"): ["system:serviceaccount:platform:someone-else"]}),
        lambda c: c.update({_sub_key(c, ":aud"): "sts.example.com"}),
    ],
    ids=["other-subject", "other-audience"],
)
def test_irsa_trust_for_another_account_or_audience_fails(change: Any) -> None:
    records, urn = mutate(_prod(), "iam/role:Role", _trust(change), "backup-jobs-irsa")
    found = _violations(records)
    assert found and all(v.urn == urn for v in found), found
    assert "does not trust this cluster's OIDC provider" in found[0].message


def test_irsa_trust_on_another_cluster_fails() -> None:
    config = {**pack_config("prod"), RULE: {"clusterIssuer": OTHER_ISSUER}}
    found = _violations(_prod(), config=config)
    names = {v.urn.rsplit("::", 1)[1] for v in found}
    assert {"backup-jobs-irsa", "optimizer-video-worker", "backup-jobs-gcp-provider"} <= names, names


def test_azure_credential_with_another_issuer_fails_on_the_pods() -> None:
    def other(inputs: dict[str, Any]) -> None:
        inputs["issuer"] = OTHER_ISSUER

    records, _ = mutate(_prod(), "FederatedIdentityCredential", other, "backup-jobs-federated-backup-jobs")
    found = _violations(records)
    cronjobs = {r["urn"] for r in records if r["type"].endswith("CronJob") and r["name"].startswith("backup-jobs-")}
    assert found and {v.urn for v in found} <= cronjobs, found
    assert all("no FederatedIdentityCredential" in v.message for v in found)


def test_gcp_provider_with_another_issuer_or_mapping_fails() -> None:
    def other(inputs: dict[str, Any]) -> None:
        inputs["oidc"]["issuerUri"] = OTHER_ISSUER
        inputs["attributeMapping"] = {"google.subject": "assertion.aud"}

    records, urn = mutate(_prod(), "WorkloadIdentityPoolProvider", other)
    found = _violations(records)
    assert found and {v.urn for v in found} == {urn}, found
    assert "is not the cluster's issuer" in found[0].message and "assertion.sub" in found[0].message


def test_gcp_token_audience_not_allowed_fails() -> None:
    def other(inputs: dict[str, Any]) -> None:
        inputs["oidc"]["allowedAudiences"] = ["https://example.com/other"]

    records, urn = mutate(_prod(), "WorkloadIdentityPoolProvider", other)
    found = _violations(records)
    assert found and {v.urn for v in found} == {urn} and "is not in allowedAudiences" in found[0].message, found


def test_missing_gcp_binding_fails_on_the_credential_configuration() -> None:
    records = [r for r in _prod() if r["name"] != "backup-jobs-workload-identity-backup-jobs"]
    found = _violations(records)
    configmap = _urn(records, "backup-jobs-gcp-credentials")
    assert found and {v.urn for v in found} == {configmap}, found
    assert "no roles/iam.workloadIdentityUser binding" in found[0].message


def test_gke_annotation_on_eks_fails() -> None:
    def gke(inputs: dict[str, Any]) -> None:
        inputs["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] = "writer@example.iam.gserviceaccount.com"

    records, urn = mutate(_prod(), "core/v1:ServiceAccount", gke, "backup-jobs-sa-backup-jobs")
    found = _violations(records)
    assert found and {v.urn for v in found} == {urn} and "GKE Workload Identity annotation" in found[0].message


def test_two_clusters_without_config_fail() -> None:
    def other(inputs: dict[str, Any]) -> None:
        policy = json.loads(inputs["assumeRolePolicy"])
        statement = policy["Statement"][0]
        old = statement["Principal"]["Federated"].split(":oidc-provider/", 1)[1]
        new = OTHER_ISSUER.removeprefix("https://")
        statement["Principal"]["Federated"] = statement["Principal"]["Federated"].replace(old, new)
        statement["Condition"]["StringEquals"] = {
            k.replace(old, new): v for k, v in statement["Condition"]["StringEquals"].items()
        }
        inputs["assumeRolePolicy"] = json.dumps(policy)

    records, _ = mutate(_prod(), "iam/role:Role", other, "optimizer-video-worker")
    config = pack_config("prod")
    config[RULE] = {"clusterIssuers": config[RULE]["clusterIssuers"]}  # the DR cluster's stays named
    found = _violations(records, config=config)
    role = _urn(records, "optimizer-video-worker")
    assert any("different cluster issuers" in v.message for v in found), found
    assert {v.urn for v in found if "different" not in v.message} == {role}, found


def test_the_dr_standby_is_federated_for_its_own_cluster() -> None:
    """The warm standby runs in the DR cluster as backup-wal-archiver, the same namespace and name as the
    primary's archiver: it passes on its own cluster's issuer (clusterIssuers), not on the primary's."""
    records = _prod()
    standby = _urn(records, "dr-standby")
    assert (
        next(r for r in records if r["urn"] == standby)["inputs"]["spec"]["template"]["spec"]["serviceAccountName"]
        == "backup-wal-archiver"
    )
    config = pack_config("prod")
    config[RULE] = {"clusterIssuer": config[RULE]["clusterIssuer"]}  # the DR cluster's issuer not named
    found = _violations(records, config=config)
    assert any("dr-standby-gcp-provider" in v.urn and "not the cluster's issuer" in v.message for v in found), found


@pytest.mark.parametrize(
    ("name", "type_suffix", "edit", "expected"),
    [
        (
            "dr-standby-federated",
            "managedidentity:FederatedIdentityCredential",
            lambda i: i.update(issuer="https://oidc.eks.us-east-1.amazonaws.com/id/9F8E7D6C5B4A39281706F5E4D3C2B1A0"),
            "dr-standby",
        ),
        (
            "dr-standby-gcp-provider",
            "WorkloadIdentityPoolProvider",
            lambda i: i.update(attributeCondition="assertion.sub in ['system:serviceaccount:platform:other']"),
            "dr-standby-gcp-provider",
        ),
    ],
)
def test_a_dr_standby_federation_for_the_wrong_cluster_or_subject_fails(
    name: str, type_suffix: str, edit: Any, expected: str
) -> None:
    records, _ = mutate(_prod(), type_suffix, edit, name)
    found = _violations(records)
    assert [v.urn.rsplit("::", 1)[-1] for v in found] == [expected], found
