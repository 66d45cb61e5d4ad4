"""Each cloud identity a pod uses is federated for the cluster it runs on.

Pods of the plan (Deployments, StatefulSets, Jobs, CronJobs, KEDA ScaledJobs) run as a ServiceAccount
``system:serviceaccount:<namespace>:<name>``; the cluster's token issuer is ``clusterIssuer`` (pack config;
without it, the issuer most of the plan's federations name, and naming two is itself reported). For each
identity:

- **AWS IRSA** (the ServiceAccount's ``eks.amazonaws.com/role-arn``): a Role of the plan that the account
  depends on (narrowed by the ARN's role name when it is known) trusts the cluster's IAM OIDC provider
  (``Federated`` ends with the issuer's host and path) for ``sts:AssumeRoleWithWebIdentity`` with
  ``<issuer>:aud`` = ``sts.amazonaws.com`` and ``<issuer>:sub`` naming exactly this account.
- **Azure workload identity** (``azure.workload.identity/client-id`` annotation or ``AZURE_CLIENT_ID`` env): a
  ``FederatedIdentityCredential`` with this issuer, this subject and audience ``api://AzureADTokenExchange``,
  on the managed identity the pod depends on when the plan says which.
- **GCP Workload Identity Federation** (``GOOGLE_APPLICATION_CREDENTIALS`` pointing into a mounted ConfigMap
  holding an ``external_account`` configuration): the configuration's token file is a projected ServiceAccount
  token whose audience the pool provider allows; the provider (pool and id from the configuration's
  ``audience``) has this ``issuerUri``, maps ``google.subject`` from ``assertion.sub`` and its condition admits
  the subject; an IAM member ``roles/iam.workloadIdentityUser`` binds
  ``principal://.../workloadIdentityPools/<pool>/subject/<subject>`` on the service account it impersonates.
- A GKE annotation (``iam.gke.io/gcp-service-account``) federates nothing outside GKE: reported when the
  cluster issuer is not GKE's.

A plan may deploy to more than one cluster (the DR region's warm standby runs on its own): a pod's cluster is
its Kubernetes provider's ``context``, and ``clusterIssuers`` (context -> issuer) names the issuer of each
cluster other than the default one. Accounts and credential ConfigMaps are looked up in the pod's own cluster,
so two clusters may use the same names.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from ._support import Report, containers, dig, is_kind, is_list, metadata_name, stack_rule

IRSA = "eks.amazonaws.com/role-arn"
AZURE_CLIENT = "azure.workload.identity/client-id"
GKE = "iam.gke.io/gcp-service-account"
AZURE_AUDIENCE = "api://AzureADTokenExchange"
ROLE = "aws:iam/role:Role"
FIC = "azure-native:managedidentity:FederatedIdentityCredential"
AZURE_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
WIF_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
GCP_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
GCP_ACCOUNT = "gcp:serviceaccount/account:Account"
_AUDIENCE = re.compile(
    r"^//iam\.googleapis\.com/projects/(?P<number>[0-9]+)/locations/global/workloadIdentityPools/(?P<pool>[^/]+)"
    r"/providers/(?P<provider>[^/]+)$"
)
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


@dataclass(frozen=True)
class PodUse:
    """One pod template of the plan and the account it runs as."""

    resource: PolicyResource
    namespace: str
    account: str
    template: Mapping[str, Any]
    cluster: str | None = None

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.account}"


def _template(resource: PolicyResource) -> Mapping[str, Any] | None:
    t, props = resource.resource_type, resource.props
    if is_kind(t, "CronJob"):
        return dig(props, "spec", "jobTemplate", "spec", "template")
    if is_kind(t, "Pod"):
        return props
    if is_kind(t, *POD_KINDS):
        return dig(props, "spec", "template")
    if t.startswith("kubernetes:keda.sh/") and t.endswith(":ScaledJob"):
        return dig(props, "spec", "jobTargetRef", "template")
    return None


def _pods(resources: Iterable[PolicyResource]) -> list[PodUse]:
    found = []
    for resource in resources:
        template = _template(resource)
        if not isinstance(template, Mapping):
            continue
        namespace = dig(resource.props, "metadata", "namespace") or "default"
        account = dig(template, "spec", "serviceAccountName") or "default"
        found.append(PodUse(resource, str(namespace), str(account), template, _cluster(resource)))
    return found


def _cluster(resource: PolicyResource) -> str | None:
    """The kubeconfig context of the resource's Kubernetes provider (None: no explicit context)."""
    provider = resource.provider
    if provider is None or not provider.resource_type.startswith("pulumi:providers:kubernetes"):
        return None
    context = provider.props.get("context")
    return context if isinstance(context, str) else None


def _env(template: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(e.get("name")): e.get("value")
        for c in containers(dig(template, "spec"))
        for e in c.get("env") or []
        if isinstance(e, Mapping)
    }


def _of_type(resources: Iterable[PolicyResource], token: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == token]


def _depends(resource: PolicyResource, token: str) -> list[PolicyResource]:
    seen: dict[str, PolicyResource] = {}
    for deps in resource.property_dependencies.values():
        seen.update({d.urn: d for d in deps if d.resource_type == token})
    return list(seen.values())


def _host_path(issuer: str) -> str:
    return issuer.removeprefix("https://").rstrip("/")


class _Checker:
    def __init__(
        self,
        resources: list[PolicyResource],
        issuer: str | None,
        report: Report,
        cluster_issuers: Mapping[str, str] | None = None,
    ) -> None:
        self.resources = resources
        self.default_issuer = issuer
        self.issuer = issuer
        self.cluster_issuers = dict(cluster_issuers or {})
        self.report = report
        self.accounts = {
            (_cluster(r), str(dig(r.props, "metadata", "namespace") or "default"), metadata_name(r.props)): r
            for r in resources
            if is_kind(r.resource_type, "ServiceAccount")
        }
        self.issuers_seen: dict[str, str] = {}
        self.cluster: str | None = None

    def for_pod(self, pod: PodUse) -> None:
        """Check the next pod against its own cluster's issuer."""
        self.cluster = pod.cluster
        self.issuer = self.cluster_issuers.get(pod.cluster or "", self.default_issuer)

    def _issuer_ok(self, issuer: str, urn: str) -> bool:
        """The federation names the cluster's issuer (without config: the one most federations name)."""
        if _host_path(issuer) not in {_host_path(i) for i in self.cluster_issuers.values()}:
            self.issuers_seen.setdefault(_host_path(issuer), urn)
        return self.issuer is not None and _host_path(issuer) == _host_path(self.issuer)

    # --- AWS -------------------------------------------------------------------------------------

    def irsa(self, pod: PodUse, account: PolicyResource, arn: Any) -> None:
        roles = _depends(account, ROLE)
        if isinstance(arn, str) and "/" in arn:
            role_name = arn.rsplit("/", 1)[1]
            named = [r for r in roles if r.props.get("name") == role_name or role_name.startswith(f"{r.name}-")]
            roles = named or roles
        if not roles:
            self.report(f"{pod.subject} uses IRSA role {arn!r}, which no Role of this plan is", account.urn)
            return
        if not any(self._trusts(role, pod.subject, account.urn) for role in roles):
            names = ", ".join(r.name for r in roles)
            self.report(
                f"{pod.subject} uses IRSA, but role {names} does not trust this cluster's OIDC provider for "
                "exactly this account (sts:AssumeRoleWithWebIdentity, :aud sts.amazonaws.com, :sub the account)",
                roles[0].urn,
            )

    def _trusts(self, role: PolicyResource, subject: str, urn: str) -> bool:
        document = role.props.get("assumeRolePolicy")
        try:
            policy = json.loads(document) if isinstance(document, str) else document
        except json.JSONDecodeError:
            return False
        statements = dig(policy, "Statement", default=[])
        for statement in statements if is_list(statements) else [statements]:
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            federated = dig(statement, "Principal", "Federated")
            if statement.get("Action") != "sts:AssumeRoleWithWebIdentity" or not isinstance(federated, str):
                continue
            provider = federated.split(":oidc-provider/", 1)[-1]
            equals = dig(statement, "Condition", "StringEquals", default={})
            subjects = equals.get(f"{provider}:sub") if isinstance(equals, Mapping) else None
            subjects = (
                list(subjects) if isinstance(subjects, Sequence) and not isinstance(subjects, str) else [subjects]
            )
            audience = equals.get(f"{provider}:aud") if isinstance(equals, Mapping) else None
            if subject in subjects and audience == "sts.amazonaws.com" and self._issuer_ok(provider, urn):
                return True
        return False

    # --- Azure -----------------------------------------------------------------------------------

    def azure(self, pod: PodUse) -> None:
        identities = {i.urn for i in _depends(pod.resource, AZURE_IDENTITY)}
        account = self.accounts.get((pod.cluster, pod.namespace, pod.account))
        identities |= {i.urn for i in _depends(account, AZURE_IDENTITY)} if account is not None else set()
        for credential in _of_type(self.resources, FIC):
            props = credential.props
            on = {d.urn for d in credential.property_dependencies.get("resourceName", [])}
            if (
                props.get("subject") == pod.subject
                and AZURE_AUDIENCE in (props.get("audiences") or [])
                and isinstance(props.get("issuer"), str)
                and self._issuer_ok(props["issuer"], credential.urn)
                and (not identities or not on or identities & on)
            ):
                return
        self.report(
            f"{pod.subject} uses an Azure workload identity, but no FederatedIdentityCredential of that identity "
            f"trusts this cluster's issuer for this subject (audience {AZURE_AUDIENCE})",
            pod.resource.urn,
        )

    # --- GCP -------------------------------------------------------------------------------------

    def gcp(self, pod: PodUse, path: str) -> None:
        config = self._credential_configuration(pod, path)
        if config is None:
            self.report(
                f"{pod.subject}: GOOGLE_APPLICATION_CREDENTIALS {path!r} is no external_account configuration "
                "mounted from a ConfigMap of this plan",
                pod.resource.urn,
            )
            return
        configmap, document = config
        match = _AUDIENCE.match(str(document.get("audience") or ""))
        if match is None:
            self.report(f"{pod.subject}: credential configuration audience is no pool provider", configmap.urn)
            return
        token_audience = self._token_audience(pod, str(dig(document, "credential_source", "file") or ""))
        provider = self._provider(match["pool"], match["provider"])
        if provider is None:
            self.report(
                f"{pod.subject}: no WorkloadIdentityPoolProvider {match['pool']}/{match['provider']} in the plan",
                configmap.urn,
            )
            return
        problems = self._provider_problems(provider, pod.subject, token_audience)
        if problems:
            self.report(f"{pod.subject}: pool provider {' ; '.join(problems)}", provider.urn)
        principal = (
            f"principal://iam.googleapis.com/projects/{match['number']}/locations/global/workloadIdentityPools/"
            f"{match['pool']}/subject/{pod.subject}"
        )
        impersonated = {a.urn for a in _depends(configmap, GCP_ACCOUNT)}
        bound = [
            m
            for m in _of_type(self.resources, GCP_MEMBER)
            if m.props.get("role") == "roles/iam.workloadIdentityUser"
            and m.props.get("member") == principal
            and (not impersonated or impersonated & {a.urn for a in _depends(m, GCP_ACCOUNT)})
        ]
        if not bound:
            self.report(
                f"{pod.subject}: no roles/iam.workloadIdentityUser binding for {principal} on the service account "
                "its credential configuration impersonates",
                configmap.urn,
            )

    def _credential_configuration(self, pod: PodUse, path: str) -> tuple[PolicyResource, Mapping[str, Any]] | None:
        spec = dig(pod.template, "spec") or {}
        volumes = {v.get("name"): v for v in spec.get("volumes") or [] if isinstance(v, Mapping)}
        for container in containers(spec):
            for mount in container.get("volumeMounts") or []:
                prefix = str(mount.get("mountPath", "")).rstrip("/") + "/"
                if not path.startswith(prefix):
                    continue
                name = dig(volumes.get(mount.get("name")) or {}, "configMap", "name")
                key = path[len(prefix) :]
                for configmap in self.resources:
                    if (
                        is_kind(configmap.resource_type, "ConfigMap")
                        and _cluster(configmap) == pod.cluster
                        and metadata_name(configmap.props) == name
                        and dig(configmap.props, "metadata", "namespace", default="default") == pod.namespace
                    ):
                        text = dig(configmap.props, "data", key)
                        try:
                            document = json.loads(text) if isinstance(text, str) else None
                        except json.JSONDecodeError:
                            document = None
                        if isinstance(document, Mapping) and document.get("type") == "external_account":
                            return configmap, document
        return None

    @staticmethod
    def _token_audience(pod: PodUse, token_file: str) -> str | None:
        """The audience of the projected token mounted where the configuration reads it."""
        spec = dig(pod.template, "spec") or {}
        volumes = {v.get("name"): v for v in spec.get("volumes") or [] if isinstance(v, Mapping)}
        for container in containers(spec):
            for mount in container.get("volumeMounts") or []:
                prefix = str(mount.get("mountPath", "")).rstrip("/") + "/"
                if not token_file.startswith(prefix):
                    continue
                for source in dig(volumes.get(mount.get("name")) or {}, "projected", "sources", default=[]) or []:
                    token = source.get("serviceAccountToken") if isinstance(source, Mapping) else None
                    if isinstance(token, Mapping) and token.get("path") == token_file[len(prefix) :]:
                        return token.get("audience")
        return None

    def _provider(self, pool: str, provider_id: str) -> PolicyResource | None:
        return next(
            (
                p
                for p in _of_type(self.resources, WIF_PROVIDER)
                if p.props.get("workloadIdentityPoolId") == pool
                and p.props.get("workloadIdentityPoolProviderId") == provider_id
            ),
            None,
        )

    def _provider_problems(self, provider: PolicyResource, subject: str, token_audience: str | None) -> list[str]:
        props = provider.props
        problems = []
        issuer = dig(props, "oidc", "issuerUri")
        if not isinstance(issuer, str) or not self._issuer_ok(issuer, provider.urn):
            problems.append(f"issuerUri {issuer!r} is not the cluster's issuer")
        if dig(props, "attributeMapping", "google.subject") != "assertion.sub":
            problems.append("does not map google.subject from assertion.sub")
        condition = props.get("attributeCondition")
        if isinstance(condition, str) and f"'{subject}'" not in condition and f'"{subject}"' not in condition:
            problems.append(f"attributeCondition does not admit {subject}")
        allowed = dig(props, "oidc", "allowedAudiences") or []
        if token_audience is None:
            problems.append("the pod mounts no projected ServiceAccount token where the configuration reads it")
        elif allowed and token_audience not in allowed:
            problems.append(f"token audience {token_audience!r} is not in allowedAudiences")
        return problems


def _named_issuers(resources: Iterable[PolicyResource]) -> Counter[str]:
    """Issuers the plan's federations name (IRSA providers, Azure credentials, GCP pool providers)."""
    found: Counter[str] = Counter()
    for resource in resources:
        props = resource.props
        if resource.resource_type == ROLE and isinstance(props.get("assumeRolePolicy"), str):
            found.update(re.findall(r":oidc-provider/([A-Za-z0-9./_-]+)", props["assumeRolePolicy"]))
        elif resource.resource_type == FIC and isinstance(props.get("issuer"), str):
            found[_host_path(props["issuer"])] += 1
        elif resource.resource_type == WIF_PROVIDER and isinstance(dig(props, "oidc", "issuerUri"), str):
            found[_host_path(dig(props, "oidc", "issuerUri"))] += 1
    return found


def check(args: StackValidationArgs, report: Report) -> None:
    config = args.get_config()
    issuer = config.get("clusterIssuer")
    resources = list(args.resources)
    configured = isinstance(issuer, str)
    if not isinstance(issuer, str):  # without config: the cluster is the issuer most federations name
        named = _named_issuers(resources).most_common(1)
        issuer = f"https://{named[0][0]}" if named else None
    others = config.get("clusterIssuers")
    checker = _Checker(resources, issuer, report, others if isinstance(others, Mapping) else None)
    for pod in _pods(resources):
        checker.for_pod(pod)
        gke = isinstance(checker.issuer, str) and "container.googleapis.com" in checker.issuer
        account = checker.accounts.get((pod.cluster, pod.namespace, pod.account))
        annotations = dig(account.props, "metadata", "annotations", default={}) if account is not None else {}
        annotations = annotations if isinstance(annotations, Mapping) else {}
        env = _env(pod.template)
        if account is not None and IRSA in annotations:
            checker.irsa(pod, account, annotations[IRSA])
        if AZURE_CLIENT in annotations or "AZURE_CLIENT_ID" in env:
            checker.azure(pod)
        if isinstance(env.get("GOOGLE_APPLICATION_CREDENTIALS"), str):
            checker.gcp(pod, env["GOOGLE_APPLICATION_CREDENTIALS"])
        if account is not None and GKE in annotations and not gke:
            report(
                f"{pod.subject} carries the GKE Workload Identity annotation, which federates nothing on a cluster "
                "that is not GKE (use Workload Identity Federation)",
                account.urn,
            )
    if not configured and len(checker.issuers_seen) > 1:
        report(
            f"federations name {len(checker.issuers_seen)} different cluster issuers "
            f"({', '.join(sorted(checker.issuers_seen))}); the pods run on one cluster",
            next(iter(checker.issuers_seen.values())),
        )


POLICY = stack_rule(
    "wiring-identity-federated",
    "Every cloud identity a pod uses (IRSA, Azure workload identity, GCP Workload Identity Federation) is "
    "federated for the cluster the pod runs on and for exactly its ServiceAccount.",
    check,
    severity=Severity.HIGH,
    remediation="Trust the cluster's OIDC issuer for the pod's ServiceAccount: the IRSA role's trust policy, the "
    "Azure identity's federated credential, the GCP pool provider and its workloadIdentityUser binding "
    "(backup_jobs.identity, optimizer.video.aws_oidc_provider_arn).",
    config={
        "clusterIssuer": {
            "type": "string",
            "pattern": "^https://",
            "description": "Service-account token issuer of the cluster the stack's pods run on (EKS: "
            "`aws eks describe-cluster --query cluster.identity.oidc.issuer`).",
        },
        "clusterIssuers": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": "^https://"},
            "description": "Issuers of further clusters the plan deploys to, by the Kubernetes provider's context "
            "(e.g. the DR region's cluster of the warm standby); pods of other providers use clusterIssuer.",
        },
    },
)
