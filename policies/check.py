"""Offline policy gate: run the pack's rules over a plan's ``resources.json``.

    python -m policies.check build/prod/resources.json [--stack-config policies/config/prod.json]

``--stack-config`` is the same JSON the engine takes with ``--policy-pack-config`` (per-policy thresholds,
enforcement overrides and waivers). Prints each violation (rule, URN, message, remediation) and the waivers
applied; exits 1 on any mandatory violation, 0 otherwise, 2 on unusable input. The same policy objects run
here and inside the pack, so verdicts match what ``pulumi preview --policy-pack policies`` reports.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.rules import ALL_POLICIES
from policies.rules._support import WAIVERS

Policy = ResourceValidationPolicy | StackValidationPolicy


class GateInputError(Exception):
    """An input file the gate cannot use (named in the message)."""


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    severity: str
    urn: str | None
    message: str
    remediation: str

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def config_schema(policy: Policy) -> dict[str, Any]:
    schema = policy.config_schema
    properties = dict(schema.properties) if schema else {}
    properties["enforcementLevel"] = {"type": "string", "enum": [e.value for e in EnforcementLevel]}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def policy_config(policy: Policy, pack_config: Mapping[str, Any]) -> tuple[dict[str, Any], EnforcementLevel]:
    """Schema defaults overlaid with the pack config for this policy (as the engine does)."""
    defaults = {
        k: v["default"]
        for k, v in (policy.config_schema.properties if policy.config_schema else {}).items()
        if "default" in v
    }
    raw = pack_config.get(policy.name, {})
    if isinstance(raw, str):
        raw = {"enforcementLevel": raw}
    try:
        jsonschema.validate(raw, config_schema(policy))
    except jsonschema.ValidationError as error:
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        raise GateInputError(f"policy config {policy.name}.{where}: {error.message}") from None
    level = EnforcementLevel(
        raw.get("enforcementLevel", (policy.enforcement_level or EnforcementLevel.MANDATORY).value)
    )
    merged = {**defaults, **{k: v for k, v in raw.items() if k != "enforcementLevel"}}
    return merged, level


def _options(record: Mapping[str, Any]) -> PolicyResourceOptions:
    opts = record.get("options") or {}
    return PolicyResourceOptions(
        protect=bool(opts.get("protect", False)),
        ignore_changes=list(opts.get("ignoreChanges", [])),
        delete_before_replace=opts.get("deleteBeforeReplace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(opts.get("additionalSecretOutputs", [])),
        parent=record.get("parent"),
    )


def load_records(path: Path) -> list[dict[str, Any]]:
    try:
        records = json.loads(path.read_text())
    except FileNotFoundError:
        raise GateInputError(f"{path}: not found (run `make plan STACK=<stack>` first)") from None
    except json.JSONDecodeError as error:
        raise GateInputError(f"{path}: not JSON ({error})") from None
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and {"urn", "type", "inputs"} <= set(r) for r in records
    ):
        raise GateInputError(f"{path}: expected a list of resources with urn, type and inputs (plan format)")
    return records


def engine_numbers(value: Any) -> Any:
    """Numbers as the engine delivers them to a pack (protobuf Struct: every number is a float)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Mapping):
        return {k: engine_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_numbers(v) for v in value]
    return value


def build_resources(records: Sequence[Mapping[str, Any]], stack_outputs: Mapping[str, Any]) -> list[PolicyResource]:
    """PolicyResources as AnalyzeStack would pass them; the Stack resource carries the stack outputs."""
    by_urn: dict[str, PolicyResource] = {}
    for record in records:
        props = engine_numbers(dict(record.get("inputs") or {}))
        if record["type"] == "pulumi:pulumi:Stack":
            props = engine_numbers(dict(stack_outputs))
        by_urn[record["urn"]] = PolicyResource(
            resource_type=record["type"],
            props=props,
            urn=record["urn"],
            name=record.get("name", ""),
            opts=_options(record),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
    for record in records:
        resource = by_urn[record["urn"]]
        resource.parent = by_urn.get(record.get("parent") or "")
        provider = by_urn.get(record.get("provider") or "")
        if provider is not None:
            resource.provider = PolicyProviderResource(
                provider.resource_type, provider.props, provider.urn, provider.name
            )
        deps = (record.get("options") or {}).get("dependsOn", [])
        resource.dependencies = [by_urn[u] for u in deps if u in by_urn]
        resource.property_dependencies = {
            prop: [by_urn[u] for u in urns if u in by_urn]
            for prop, urns in (record.get("propertyDependencies") or {}).items()
        }
    return list(by_urn.values())


def evaluate(
    resources: Sequence[PolicyResource],
    pack_config: Mapping[str, Any],
    policies: Sequence[Policy] = ALL_POLICIES,
) -> list[Violation]:
    violations: list[Violation] = []
    for policy in policies:
        config, level = policy_config(policy, pack_config)
        if level == EnforcementLevel.DISABLED:
            continue
        severity = policy.severity.value if policy.severity else "medium"

        def report(
            message: str,
            urn: str | None = None,
            *,
            _p: Policy = policy,
            _l: EnforcementLevel = level,
            _s: str = severity,
            _default: str | None = None,
        ) -> None:
            violations.append(Violation(_p.name, _l.value, _s, urn or _default, message, _p.remediation_steps or ""))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                if r.resource_type.startswith("pulumi:") or r.resource_type.count(":") < 2 or _is_component(r):
                    continue
                args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, r.provider, config)
                policy.validate(args, lambda m, u=None, _r=r: report(m, u or _r.urn))
        else:
            policy.validate(StackValidationArgs(list(resources), config), report)
    return violations


def unused_waivers(pack_config: Mapping[str, Any]) -> list[dict[str, str]]:
    """Configured waivers that matched no violation in this run: stale exemptions to delete."""
    used = {(w["policy"], w["urn"]) for w in WAIVERS.entries}
    return [
        {"policy": name, "urn": w.get("urn", ""), "reason": w.get("reason", "")}
        for name, config in pack_config.items()
        if isinstance(config, dict)
        for w in config.get("waivers") or []
        if (name, w.get("urn")) not in used
    ]


def _is_component(resource: PolicyResource) -> bool:
    return resource.resource_type.startswith("platform:")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policies.check", description="Run the policy pack over a plan.")
    parser.add_argument("resources", type=Path, help="build/<stack>/resources.json from `make plan`")
    parser.add_argument("--stack-config", type=Path, help="policy pack config JSON (as --policy-pack-config)")
    parser.add_argument("--outputs", type=Path, help="stack outputs (default: outputs.json next to resources.json)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        records = load_records(args.resources)
        pack_config: dict[str, Any] = {}
        if args.stack_config:
            try:
                pack_config = json.loads(args.stack_config.read_text())
            except (FileNotFoundError, json.JSONDecodeError) as error:
                raise GateInputError(f"{args.stack_config}: {error}") from None
            unknown = sorted(set(pack_config) - {p.name for p in ALL_POLICIES} - {"all"})
            if unknown:
                raise GateInputError(f"{args.stack_config}: unknown policies {unknown}")
        outputs_path = args.outputs or args.resources.with_name("outputs.json")
        outputs = json.loads(outputs_path.read_text()).get("outputs", {}) if outputs_path.exists() else {}
        WAIVERS.entries.clear()
        violations = evaluate(build_resources(records, outputs), pack_config)
    except GateInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    mandatory = [v for v in violations if v.enforcement == EnforcementLevel.MANDATORY.value]
    stale = unused_waivers(pack_config)
    if args.json:
        print(
            json.dumps(
                {
                    "violations": [v.to_json() for v in violations],
                    "waivers": WAIVERS.entries,
                    "unusedWaivers": stale,
                    "mandatory": len(mandatory),
                },
                indent=2,
            )
        )
    else:
        for v in violations:
            print(
                f"[{v.enforcement}/{v.severity}] {v.policy}: {v.urn or '(stack)'}\n    {v.message}\n    fix: {v.remediation}"
            )
        for w in WAIVERS.entries:
            print(f"[waived] {w['policy']}: {w['urn']}\n    {w['message']}\n    reason: {w['reason']}")
        for w in stale:
            print(f"[unused waiver] {w['policy']}: {w['urn']} matched no violation; delete it from the config")
        print(
            f"{len(records)} resources, {len(ALL_POLICIES)} policies: {len(mandatory)} mandatory violations, "
            f"{len(violations) - len(mandatory)} advisory, {len(WAIVERS.entries)} waived"
        )
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
