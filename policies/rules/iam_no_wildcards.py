"""IAM grants name their actions and resources: no ``*`` or ``service:*`` action and no ``*`` resource in an
Allow statement of an AWS policy, no ``*`` in an Azure role definition, no wildcard GCP permission. Deny
statements may use wildcards (they only take away). Actions that AWS does not scope to resources can be
listed in ``allowedUnscopedActions``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, is_list, is_mapping, resource_rule

AWS_POLICY_PROPS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": None,  # resource policies: checked for principals elsewhere
}


def _as_list(value: Any) -> list[Any]:
    return value if is_list(value) else [value]


def wildcard_problems(document: Any, allowed_unscoped: Iterable[str]) -> list[str]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return ["policy document is not JSON"]
    allowed = set(allowed_unscoped)
    problems = []
    for i, statement in enumerate(_as_list(document.get("Statement", [])) if is_mapping(document) else []):
        if not is_mapping(statement) or statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid", f"#{i}")
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"statement {sid}: Allow with NotAction/NotResource grants everything else")
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        wild_actions = [a for a in actions if a == "*" or a.endswith(":*")]
        if wild_actions:
            problems.append(f"statement {sid}: wildcard actions {wild_actions}")
        resources = [str(r) for r in _as_list(statement.get("Resource", []))]
        if "*" in resources and not set(actions) <= allowed:
            problems.append(f"statement {sid}: Resource '*' for {sorted(set(actions) - allowed)}")
    return problems


def check(args: ResourceValidationArgs, report: Report) -> None:
    allowed = args.get_config().get("allowedUnscopedActions") or []
    prop = AWS_POLICY_PROPS.get(args.resource_type)
    if prop:
        for problem in wildcard_problems(args.props.get(prop), allowed):
            report(problem)
    if args.resource_type == "azure-native:authorization:RoleDefinition":
        for permission in args.props.get("permissions") or []:
            for key in ("actions", "dataActions"):
                wild = [a for a in permission.get(key) or [] if a == "*" or a.endswith("/*")]
                if wild:
                    report(f"role definition {key} include wildcards {wild}")
    if args.resource_type == "gcp:projects/iAMCustomRole:IAMCustomRole":
        wild = [p for p in args.props.get("permissions") or [] if "*" in p]
        if wild:
            report(f"custom role permissions include wildcards {wild}")


POLICY = resource_rule(
    "iam-no-wildcards",
    "IAM policies and custom roles grant named actions on named resources (no '*').",
    check,
    severity=Severity.HIGH,
    remediation="List the exact actions and resource ARNs the principal needs; keep wildcards to Deny statements.",
    config={
        "allowedUnscopedActions": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["cloudwatch:PutMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "description": "Actions AWS does not scope to resources, allowed with Resource '*'.",
        }
    },
)
