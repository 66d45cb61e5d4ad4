"""Run the Pulumi program on Pulumi's own mock engine and record every registration.

What is recorded is what the engine would receive: type token, name, parent and provider URNs, and the
inputs in the engine's shape (camelCase, after stack transforms), with secrets replaced by ``"[secret]"``.
The mock monitor stores stack transforms but does not run them; :class:`RecordingMonitor` runs them the
way the engine does, so tags and labels applied by transform show up in the plan.
"""

from __future__ import annotations

import inspect
import json
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await

from components.platform.config import PROJECT
from offline.mocks import PlatformMocks

SECRET = "[secret]"
UNKNOWN = "[unknown]"


def _redact(value: Any) -> Any:
    """A secret's shape without its content: keys kept (so manifests stay schema-valid), leaves redacted."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _redact(value.get("value"))
        return {str(k): _redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return SECRET


def _sanitize_mapping(value: Mapping[str, Any]) -> Any:
    """A secret's redacted shape, a resource reference's URN, or the mapping with its values sanitized."""
    sig = value.get(rpc._special_sig_key)
    if sig == rpc._special_secret_sig:
        return _redact(value.get("value"))
    if sig == rpc._special_resource_sig:
        return value.get("urn")
    return {str(k): _sanitize(v) for k, v in value.items()}


def _sanitize(value: Any) -> Any:
    """Engine-shaped value → plan JSON: secrets redacted, references as URNs, integral floats as ints."""
    if isinstance(value, Mapping):
        return _sanitize_mapping(value)
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        path = getattr(value, "path", None)
        return {
            "archive" if isinstance(value, pulumi.Archive) else "asset": str(path) if path else type(value).__name__
        }
    return value


def _urn_of_reference(reference: str) -> str | None:
    return reference.rsplit("::", 1)[0] if reference else None


@dataclass
class ResourceRecord:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    options: dict[str, Any]
    unknown_until_apply: list[str]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "inputs": self.inputs,
            "options": self.options,
            "unknownUntilApply": self.unknown_until_apply,
            "propertyDependencies": self.property_dependencies,
        }


class RecordingMonitor(MockMonitor):
    """A mock monitor that records registrations and applies stack transforms like the engine."""

    def __init__(self, mocks: PlatformMocks) -> None:
        super().__init__(mocks)
        self.platform_mocks = mocks
        self.records: list[ResourceRecord] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine builds them: the parent's whole qualified type chain, minus the root Stack.

        (Pulumi's mock keeps only the parent's last type, so its URNs differ from real ones for nested
        components; waivers and StackReference consumers need the real shape.)
        """
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def alias_urns(self, request: Any) -> list[str]:
        """The earlier URNs a resource declares (``aliases``), so a plan shows which identity it keeps.

        Provider SDKs alias their own resources to earlier type tokens (pulumi_kubernetes to older API
        versions, pulumi_aws ``BucketV2`` to ``Bucket``: same parent and name, only the type differs); those
        say nothing about this program and are left out. Aliases of our components' types are kept.
        """
        urns = set(request.aliasURNs)
        for alias in request.aliases:
            if alias.HasField("urn"):
                urns.add(alias.urn)
                continue
            spec = alias.spec
            if not request.type.startswith("platform:") and not (spec.name or spec.parentUrn or spec.noParent):
                continue
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urns.add(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        return sorted(urns)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.type == "pulumi:pulumi:Stack":
            urn = self.make_urn(request.parent, request.type, request.name)
            self.records.append(ResourceRecord(urn, request.type, request.name, False, None, None, {}, {}, []))
            return super().RegisterResource(request)
        from pulumi.runtime.sync_await import _ensure_event_loop

        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        custom = bool(request.custom)
        for transform in self.get_registered_transforms():
            result = transform(
                pulumi.ResourceTransformArgs(custom, request.type, request.name, inputs, pulumi.ResourceOptions())
            )
            if inspect.isawaitable(result):
                result = _sync_await(result)
            if result is not None:
                inputs = dict(result.props)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:providers:aws":
            self.platform_mocks.regions[urn] = str(inputs.get("region", "us-east-1"))
        provider = _urn_of_reference(request.provider)
        options: dict[str, Any] = {}
        if request.protect:
            options["protect"] = True
        if request.retainOnDelete:
            options["retainOnDelete"] = True
        if request.deleteBeforeReplace:
            options["deleteBeforeReplace"] = True
        if request.ignoreChanges:
            options["ignoreChanges"] = sorted(request.ignoreChanges)
        if request.additionalSecretOutputs:
            options["additionalSecretOutputs"] = sorted(request.additionalSecretOutputs)
        aliases = self.alias_urns(request)
        if aliases:
            options["aliases"] = aliases
        explicit = sorted(set(request.dependencies))
        if explicit:
            options["dependsOn"] = explicit
        property_dependencies = {
            key: sorted(set(deps.urns)) for key, deps in sorted(request.propertyDependencies.items()) if list(deps.urns)
        }
        unknown = sorted(property_dependencies)
        self.records.append(
            ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=custom,
                parent=request.parent or None,
                provider=provider,
                inputs=_sanitize(inputs),
                options=options,
                unknown_until_apply=unknown,
                property_dependencies=property_dependencies,
            )
        )
        # What MockMonitor.RegisterResource does, on the already-deserialized (and transformed) inputs:
        # deserializing and re-serializing every registration twice cost ~40 % of the plan's engine time.
        resource_id, state = self.mocks.new_resource(
            MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=custom,
            )
        )
        state_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=state_proto)


@dataclass
class PlanResult:
    stack: str
    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    secret_outputs: list[str] = field(default_factory=list)


def _config_strings(values: Mapping[str, Any]) -> dict[str, str]:
    """Stack values as the engine hands them to a program: JSON for structures, text for scalars."""
    strings: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = json.dumps(value)
        strings[f"{PROJECT}:{key}"] = text
    return strings


def _resolve(value: Any, path: str, secrets: list[str]) -> Any:
    if isinstance(value, pulumi.Output):
        output: pulumi.Output[Any] = value
        if _sync_await(output.is_secret()):
            secrets.append(path)
            return SECRET
        if not _sync_await(output.is_known()):
            return UNKNOWN
        return _resolve(_sync_await(output.future()), path, secrets)
    if isinstance(value, Mapping):
        return {str(k): _resolve(v, f"{path}.{k}" if path else str(k), secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_resolve(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return _sanitize(value)


def run_program(stack: str, values: Mapping[str, Any], program: Path) -> PlanResult:
    """Run ``program`` for ``stack`` with config ``values`` (keys without namespace) on the mock engine."""
    from pulumi.runtime.settings import ROOT, SETTINGS
    from pulumi.runtime.stack import run_pulumi_func

    ROOT.set(None)  # a fresh Stack per run, so several plans can run in one process (tests)
    pulumi.runtime.set_all_config(_config_strings(values), [])
    mocks = PlatformMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    # A run awaits every Output task the runtime has seen in this process: an apply that an earlier program
    # (another stack, a consumer example) let fail would fail this plan too.
    settings: Any = SETTINGS  # contextproperty attributes the SDK's annotations do not show
    with settings.lock:
        settings.outputs.clear()
    program_dir = str(program.parent.resolve())
    added = program_dir not in sys.path
    if added:
        sys.path.insert(0, program_dir)
    try:

        def run() -> None:
            runpy.run_path(str(program), run_name="__main__")

        _sync_await(run_pulumi_func(run))
    finally:
        if added:
            sys.path.remove(program_dir)
    root = pulumi.runtime.get_root_resource()
    exported: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
    secrets: list[str] = []
    outputs = {key: _resolve(value, key, secrets) for key, value in exported.items()}
    return PlanResult(stack=stack, resources=monitor.records, outputs=outputs, secret_outputs=sorted(secrets))
