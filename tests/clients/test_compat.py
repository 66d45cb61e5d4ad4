"""The contract comparison on mutated schemas: every breaking change is named, additions pass."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from platform_outputs import compat

Schema = dict[str, Any]


def contract(version: str = "1") -> Schema:
    """A contract shaped the way pydantic writes ours: models under $defs, nullable optional sections."""
    return {
        "$defs": {
            "RedisOutputs": {
                "additionalProperties": False,
                "properties": {
                    "endpoint": {"description": "Service DNS name.", "title": "Endpoint", "type": "string"},
                    "port": {"title": "Port", "type": "integer"},
                    "mode": {"enum": ["cluster", "sentinel"], "type": "string"},
                    "master_set": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "node_endpoints": {"items": {"type": "string"}, "type": "array"},
                    "password": {"type": "string", "x-pulumi-secret": True},
                },
                "required": ["endpoint", "port", "mode", "master_set", "node_endpoints", "password"],
                "title": "RedisOutputs",
                "type": "object",
            },
            "ServiceOutputs": {
                "additionalProperties": False,
                "properties": {"dns": {"type": "string"}, "port": {"type": "integer", "minimum": 1}},
                "required": ["dns", "port"],
                "title": "ServiceOutputs",
                "type": "object",
            },
        },
        "$id": f"stack-outputs.v{version}.json",
        "additionalProperties": False,
        "properties": {
            "contract_version": {"const": version, "type": "string"},
            "namespace": {"type": "string"},
            "services": {"additionalProperties": {"$ref": "#/$defs/ServiceOutputs"}, "type": "object"},
            "redis": {"anyOf": [{"$ref": "#/$defs/RedisOutputs"}, {"type": "null"}], "default": None},
        },
        "required": ["contract_version", "namespace", "services"],
        "title": f"Platform stack outputs, contract v{version}",
        "type": "object",
    }


def redis(schema: Schema) -> Schema:
    return schema["$defs"]["RedisOutputs"]


def mutated(change: Callable[[Schema], None]) -> Schema:
    schema = contract()
    change(schema)
    return schema


def only_breaking(old: Schema, new: Schema) -> list[str]:
    return [str(c) for c in compat.breaking(compat.compare(old, new))]


def test_identical_contracts_have_no_changes() -> None:
    assert compat.compare(contract(), contract()) == []


def test_documentation_model_names_and_key_order_do_not_count() -> None:
    def document(schema: Schema) -> None:
        redis(schema)["properties"]["endpoint"]["description"] = "Reworded."
        redis(schema)["title"] = "CacheOutputs"
        schema["$defs"]["CacheOutputs"] = schema["$defs"].pop("RedisOutputs")
        schema["properties"]["redis"]["anyOf"][0]["$ref"] = "#/$defs/CacheOutputs"
        schema["properties"]["namespace"]["examples"] = ["platform"]
        schema["$defs"]["CacheOutputs"]["additionalProperties"] = True

    assert compat.compare(contract(), mutated(document)) == []
    reordered = json.loads(json.dumps(contract(), sort_keys=True))
    assert compat.compare(contract(), reordered) == []


def test_adding_an_optional_field_or_section_passes_and_is_listed() -> None:
    def add(schema: Schema) -> None:
        redis(schema)["properties"]["tls_port"] = {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
        schema["properties"]["database"] = {"anyOf": [{"type": "object"}, {"type": "null"}], "default": None}

    changes = compat.compare(contract(), mutated(add))
    assert [(c.path, c.kind, c.breaking) for c in changes] == [
        ("database", "added", False),
        ("redis.tls_port", "added", False),
    ]
    assert compat.gate(contract(), mutated(add), published_name="v1") == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: redis(s)["properties"].pop("endpoint"), "redis.endpoint: removed"),
        (lambda s: s["properties"].pop("namespace"), "namespace: removed"),
        (lambda s: redis(s)["properties"]["port"].update(type="string"), "redis.port: retyped: integer -> string"),
        (
            lambda s: redis(s)["properties"]["mode"]["enum"].append("standalone"),
            'redis.mode: allowed values changed: gained "standalone"',
        ),
        (
            lambda s: redis(s)["properties"]["mode"]["enum"].remove("sentinel"),
            'redis.mode: allowed values changed: lost "sentinel"',
        ),
        (
            lambda s: redis(s)["properties"].update(port={"anyOf": [{"type": "integer"}, {"type": "null"}]}),
            "redis.port: became nullable",
        ),
        (
            lambda s: redis(s)["properties"].update(master_set={"type": "string"}),
            "redis.master_set: no longer nullable",
        ),
        (
            lambda s: redis(s)["properties"]["node_endpoints"].update(items={"type": "integer"}),
            "redis.node_endpoints[]: retyped: string -> integer",
        ),
        (
            lambda s: s["$defs"]["ServiceOutputs"]["properties"]["dns"].update(type="integer"),
            "services.*.dns: retyped: string -> integer",
        ),
        (
            lambda s: s["$defs"]["ServiceOutputs"]["properties"]["port"].update(minimum=1024),
            "services.*.port: constraint minimum: 1 -> 1024",
        ),
        (
            lambda s: s["properties"]["services"].update(type="array", items={"type": "string"}),
            "services: retyped: map of object ServiceOutputs -> array of string",
        ),
        (lambda s: s["required"].append("redis"), "redis: became required"),
        (lambda s: redis(s)["required"].remove("port"), "redis.port: became optional"),
        (
            lambda s: redis(s)["properties"]["password"].pop("x-pulumi-secret"),
            "redis.password: no longer marked secret",
        ),
        (
            lambda s: redis(s)["properties"]["endpoint"].update({"x-pulumi-secret": True}),
            "redis.endpoint: now marked secret",
        ),
        (
            lambda s: (redis(s)["properties"].update(tls={"type": "boolean"}), redis(s)["required"].append("tls")),
            "redis.tls: added as required",
        ),
    ],
)
def test_each_breaking_change_is_named(change: Callable[[Schema], Any], expected: str) -> None:
    broken = only_breaking(contract(), mutated(change))
    assert len(broken) == 1, broken
    assert broken[0].startswith(expected), broken


def test_a_rename_is_a_removal_with_a_hint_and_a_required_addition() -> None:
    def rename(schema: Schema) -> None:
        props = redis(schema)["properties"]
        props["host"] = props.pop("endpoint")
        redis(schema)["required"] = ["host" if r == "endpoint" else r for r in redis(schema)["required"]]

    broken = only_breaking(contract(), mutated(rename))
    assert broken == [
        "redis.endpoint: removed (renamed to host?); a reader of the previous version still expects it",
        "redis.host: added as required; give it a default to add it as optional",
    ]


def test_retyping_a_whole_section_is_named_at_the_section() -> None:
    def retype(schema: Schema) -> None:
        schema["properties"]["redis"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}

    assert only_breaking(contract(), mutated(retype)) == ["redis: retyped: object RedisOutputs -> string"]


def test_recursive_models_terminate() -> None:
    def recurse(schema: Schema) -> None:
        schema["$defs"]["Node"] = {
            "properties": {"child": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}},
            "required": ["child"],
            "type": "object",
        }
        schema["properties"]["tree"] = {"$ref": "#/$defs/Node"}
        schema["required"].append("tree")

    assert compat.compare(mutated(recurse), mutated(recurse)) == []


def test_the_gate_fails_naming_the_field_and_the_way_out() -> None:
    new = mutated(lambda s: redis(s)["properties"].pop("port"))
    problems = compat.gate(contract(), new, published_name="schema/stack-outputs.v1.json")
    assert (
        problems[0] == "1 breaking change(s) to contract v1 (schema/stack-outputs.v1.json) without a new major version:"
    )
    assert problems[1].startswith("  redis.port: removed")
    assert "publish stack-outputs.v2.json: bump contract_version to '2'" in problems[-1]


def test_a_bumped_version_must_be_published_first() -> None:
    problems = compat.gate(contract("1"), contract("2"), published_name="schema/stack-outputs.v1.json")
    assert problems == [
        "contract_version is '2' but the last published contract is v1 (schema/stack-outputs.v1.json): "
        "publish stack-outputs.v2.json (`make schema`) and commit it"
    ]
    assert compat.gate(contract("2"), contract("2"), published_name="v2") == []


def test_the_version_const_is_read_and_compared() -> None:
    assert compat.contract_version(contract("3")) == "3"
    assert compat.contract_version({"properties": {}}) is None
    changes = compat.compare(contract("1"), contract("2"))
    assert [(c.path, c.kind) for c in changes] == [("contract_version", "version")]


def test_published_versions_are_found_by_file_name(tmp_path: Path) -> None:
    for name in ("stack-outputs.v1.json", "stack-outputs.v2.json", "stack-outputs.v10.json", "notes.json"):
        (tmp_path / name).write_text("{}")
    assert sorted(compat.published_versions(tmp_path)) == [1, 2, 10]


def test_references_outside_the_document_are_refused() -> None:
    schema = contract()
    schema["properties"]["namespace"] = {"$ref": "https://example.com/other.json"}
    with pytest.raises(ValueError, match="only local references"):
        compat.compare(contract(), schema)


def test_the_comparison_does_not_mutate_its_inputs() -> None:
    old, new = contract(), mutated(lambda s: redis(s)["properties"].pop("port"))
    before = copy.deepcopy((old, new))
    compat.compare(old, new)
    assert (old, new) == before
