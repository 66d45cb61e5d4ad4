"""The pack over the real analyzer gRPC protocol: started the way the engine starts it (a process in the
pack directory that prints its port), then GetAnalyzerInfo, Configure, Analyze and AnalyzeStack with the
plan's resources. Its verdicts must equal the offline gate's."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policies.rules import ALL_POLICIES
from tests.plans import REPO, plan_of
from tests.policies.helpers import mutate, pack_config, records_of, violations

PACK_DIR = REPO / "policies"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    proc = subprocess.Popen(
        [sys.executable, "-u", "__main__.py"], cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.isdigit(), (
            f"the pack printed {first!r} instead of its port; stderr: {proc.stderr.read() if proc.stderr else ''}"
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{first}")
        grpc.channel_ready_future(channel).result(timeout=120)  # a hang bound: the port is already printed
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def _options(record: dict[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    opts = record.get("options") or {}
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(opts.get("protect")),
        parent=record.get("parent") or "",
        ignoreChanges=opts.get("ignoreChanges", []),
    )


def _configure(stub: analyzer_pb2_grpc.AnalyzerStub, config: dict[str, Any]) -> None:
    policy_config = {}
    for policy in ALL_POLICIES:
        props = {
            k: v["default"]
            for k, v in (policy.config_schema.properties if policy.config_schema else {}).items()
            if "default" in v
        }
        props.update(config.get(policy.name, {}))
        level = (
            analyzer_pb2.MANDATORY
            if policy.enforcement_level is None
            else getattr(analyzer_pb2, policy.enforcement_level.value.upper())
        )
        policy_config[policy.name] = analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=_struct(props))
    stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policy_config))


DESCRIPTIONS = {p.name: p.description for p in ALL_POLICIES}


def _message(diagnostic: Any) -> str:
    """The violation message: the pack prefixes it with the policy description and a newline."""
    prefix = DESCRIPTIONS.get(diagnostic.policyName, "") + "\n"
    return diagnostic.message.removeprefix(prefix)


def _verdicts_over_protocol(
    stub: analyzer_pb2_grpc.AnalyzerStub, records: list[dict[str, Any]], outputs: dict[str, Any]
) -> set[tuple[str, str, str]]:
    by_urn = {r["urn"]: r for r in records}
    found: set[tuple[str, str, str]] = set()

    def provider_of(record: dict[str, Any]) -> Any:
        """The resource's provider as the engine sends it (Analyze and AnalyzeStack alike)."""
        provider = by_urn.get(record.get("provider") or "")
        if not provider:
            return None
        return analyzer_pb2.AnalyzerProviderResource(
            type=provider["type"], properties=_struct(provider["inputs"]), urn=provider["urn"], name=provider["name"]
        )

    for record in records:
        if not record.get("custom") or record["type"].startswith("pulumi:"):
            continue
        request = analyzer_pb2.AnalyzeRequest(
            type=record["type"],
            properties=_struct(record["inputs"]),
            urn=record["urn"],
            name=record["name"],
            options=_options(record),
            provider=provider_of(record),
        )
        for d in stub.Analyze(request).diagnostics:
            found.add((d.policyName, d.urn or record["urn"], _message(d)))
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=r["type"],
            properties=_struct(outputs if r["type"] == "pulumi:pulumi:Stack" else r["inputs"]),
            urn=r["urn"],
            name=r["name"],
            options=_options(r),
            provider=provider_of(r),
            parent=r.get("parent") or "",
            dependencies=(r.get("options") or {}).get("dependsOn", []),
            propertyDependencies={
                k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                for k, v in (r.get("propertyDependencies") or {}).items()
            },
        )
        for r in records
    ]
    for d in stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics:
        found.add((d.policyName, d.urn, _message(d)))
    return found


def test_analyzer_info_lists_every_rule(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "platform-guardrails"
    assert {p.name for p in info.policies} == {p.name for p in ALL_POLICIES}
    assert all(p.description for p in info.policies)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_protocol_verdicts_equal_the_offline_gate(analyzer: analyzer_pb2_grpc.AnalyzerStub, stack: str) -> None:
    plan = plan_of(stack)
    records = records_of(plan)
    # One mutation per kind of rule, so there is something to agree on besides silence.
    records, _ = mutate(
        records,
        "apps/v1:Deployment",
        lambda i: i["spec"]["template"]["spec"]["containers"][0].update(image="nginx:latest"),
    )
    records, _ = mutate(records, "core/v1:Service", lambda i: i["spec"].update(type="LoadBalancer"))
    records = [r for r in records if not r["type"].endswith("PodDisruptionBudget")]
    config = pack_config(stack)
    _configure(analyzer, config)
    over_protocol = _verdicts_over_protocol(analyzer, records, json.loads(json.dumps(plan.outputs)))
    offline = {(v.policy, v.urn or "", v.message) for v in violations(records, stack, plan.outputs, config)}
    assert offline, "the mutations produce violations"
    assert over_protocol == offline
