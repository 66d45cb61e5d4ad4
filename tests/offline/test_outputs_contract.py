"""The stack-outputs contract: the checked-in schema is generated from the models, and both stacks'
outputs validate against it, with every secret output redacted and marked."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from offline.engine import SECRET
from offline.schema import SCHEMA_PATH, render
from tests.plans import STACKS, plan_of


def test_schema_file_is_in_sync_with_the_models() -> None:
    assert SCHEMA_PATH.read_text() == render(), "run `make schema` and commit schema/stack-outputs.v1.json"


def _secret_paths(schema: dict[str, Any]) -> set[str]:
    """Property names the schema marks as secret (anywhere in the document)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and prop.get("x-pulumi-secret"):
                    found.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_validate_against_the_schema(stack: str) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    outputs = plan_of(stack).outputs
    jsonschema.validate(outputs, schema)


@pytest.mark.parametrize("stack", STACKS)
def test_secret_outputs_are_redacted_and_marked(stack: str) -> None:
    plan = plan_of(stack)
    marked = _secret_paths(json.loads(SCHEMA_PATH.read_text()))
    for path in plan.secret_outputs:
        leaf = path.rsplit(".", 1)[-1]
        assert leaf in marked, f"output {path} is secret but the schema does not mark it"
    assert SECRET not in json.dumps(
        {k: v for k, v in plan.outputs.items() if k not in {p.split(".")[0] for p in plan.secret_outputs}}
    )


def test_schema_rejects_unknown_sections() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    outputs = dict(plan_of("staging").outputs)
    outputs["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(outputs, schema)
