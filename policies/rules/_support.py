"""Shared machinery for the rules: metadata, waivers, and small property helpers.

Every rule module defines one policy with :func:`resource_rule` or :func:`stack_rule`. Both wrap the
validation so that a violation against a URN waived in the policy's config (``waivers: [{urn, reason}]``,
reason mandatory) is recorded as a waiver instead of reported. Props arrive engine-shaped (camelCase).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

WAIVERS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "URNs this stack exempts from the rule, each with the reason (reviewed like code).",
    "items": {
        "type": "object",
        "properties": {"urn": {"type": "string", "minLength": 1}, "reason": {"type": "string", "minLength": 10}},
        "required": ["urn", "reason"],
        "additionalProperties": False,
    },
    "default": [],
}

ENVIRONMENT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": ["dev", "staging", "prod"],
    "default": "prod",
    "description": "Environment tier of the stack; prod-only rules apply when 'prod' (the strict default).",
}


@dataclass
class WaiverLog:
    """Waived violations seen in this process (the offline gate prints them)."""

    entries: list[dict[str, str]] = field(default_factory=list)

    def record(self, policy: str, urn: str, message: str, reason: str) -> None:
        self.entries.append({"policy": policy, "urn": urn, "message": message, "reason": reason})
        print(f"waived {policy} for {urn}: {reason}", file=sys.stderr)


WAIVERS = WaiverLog()


def _schema(properties: Mapping[str, Any] | None) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={"waivers": WAIVERS_SCHEMA, **(properties or {})})


def _waiving(name: str, config: Mapping[str, Any], report: ReportViolation, default_urn: str | None) -> Report:
    waived = {w["urn"]: w["reason"] for w in config.get("waivers") or [] if w.get("urn") and w.get("reason")}

    def report_unless_waived(message: str, urn: str | None = None) -> None:
        target = urn or default_urn
        if target is not None and target in waived:
            WAIVERS.record(name, target, message, waived[target])
            return
        report(message, urn)

    return report_unless_waived


class Report(Protocol):
    """What a rule calls to report a violation (the URN defaults to the resource under validation)."""

    def __call__(self, message: str, urn: str | None = None) -> None: ...


ResourceCheck = Callable[[ResourceValidationArgs, Report], None]
StackCheck = Callable[[StackValidationArgs, Report], None]


def _metadata(
    name: str,
    description: str,
    *,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel,
    config: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The policy arguments every rule shares (the waivers property is added to every config schema)."""
    return {
        "name": name,
        "description": description,
        "enforcement_level": enforcement,
        "config_schema": _schema(config),
        "severity": severity,
        "remediation_steps": remediation,
    }


def resource_rule(
    name: str,
    description: str,
    check: ResourceCheck,
    *,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    config: Mapping[str, Any] | None = None,
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        check(args, _waiving(name, args.get_config(), report, args.urn))

    return ResourceValidationPolicy(
        validate=validate,
        **_metadata(
            name,
            description,
            severity=severity,
            remediation=remediation,
            enforcement=enforcement,
            config=config,
        ),
    )


def stack_rule(
    name: str,
    description: str,
    check: StackCheck,
    *,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    config: Mapping[str, Any] | None = None,
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        check(args, _waiving(name, args.get_config(), report, None))

    return StackValidationPolicy(
        validate=validate,
        **_metadata(
            name,
            description,
            severity=severity,
            remediation=remediation,
            enforcement=enforcement,
            config=config,
        ),
    )


# --- property helpers ---------------------------------------------------------------------------


def is_mapping(value: Any) -> bool:
    """dict or the pack's read-only proxy of one (props arrive as Mapping proxies over the protocol)."""
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    """list or the pack's list proxy (a Sequence that is not a string)."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """``value[path[0]][path[1]]...`` or ``default`` when any step is missing."""
    for step in path:
        if (isinstance(step, int) and is_list(value) and -len(value) <= step < len(value)) or (
            isinstance(step, str) and isinstance(value, Mapping) and step in value
        ):
            value = value[step]
        else:
            return default
    return value


def is_kind(resource_type: str, *kinds: str) -> bool:
    """Whether a kubernetes:* type token is one of ``kinds`` (e.g. ``apps/v1:Deployment`` -> Deployment)."""
    return resource_type.startswith("kubernetes:") and resource_type.rsplit(":", 1)[-1] in kinds


POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec inside a workload's props (CronJob nests one level deeper)."""
    if is_kind(resource_type, "CronJob"):
        return dig(props, "spec", "jobTemplate", "spec", "template", "spec")
    if is_kind(resource_type, *POD_TEMPLATE_KINDS):
        return dig(props, "spec", "template", "spec")
    if is_kind(resource_type, "Pod"):
        return dig(props, "spec")
    return None


def containers(spec: Mapping[str, Any] | None, include_init: bool = True) -> Iterable[Mapping[str, Any]]:
    if not spec:
        return []
    found = list(spec.get("containers") or [])
    if include_init:
        found += list(spec.get("initContainers") or [])
    return [c for c in found if isinstance(c, Mapping)]


def depends_on(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """Whether ``resource``'s ``prop`` input comes from ``target`` (engine property dependencies)."""
    return any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, []))


def num(value: Any) -> str:
    """A number as people write it (the engine sends 5 as 5.0)."""
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)


def metadata_name(props: Mapping[str, Any]) -> str | None:
    name = dig(props, "metadata", "name")
    return name if isinstance(name, str) else None
