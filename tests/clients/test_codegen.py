"""The generated models: in sync with the published contract, faithful to it, and refusals that name the spot."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest
from platform_outputs import compat, models
from pydantic import SecretStr, ValidationError

from clients import codegen

REPO = Path(__file__).resolve().parents[2]


def test_checked_in_models_are_generated_from_the_latest_published_contract() -> None:
    schema_path = codegen.latest_schema()
    assert codegen.MODELS_PATH.read_text() == codegen.generate(schema_path), (
        f"run `python -m clients.codegen` and commit {codegen.MODELS_PATH.relative_to(REPO)}"
    )
    schema = json.loads(schema_path.read_text())
    assert codegen.fingerprint(schema) == models.SCHEMA_SHA256
    assert compat.contract_version(schema) == models.CONTRACT_VERSION


def _without_secret_format(node: Any) -> Any:
    """pydantic writes ``SecretStr`` as a password-format string; the contract says string + x-pulumi-secret."""
    if isinstance(node, dict):
        cleaned = {k: _without_secret_format(v) for k, v in node.items()}
        if cleaned.get("x-pulumi-secret") and cleaned.get("format") == "password":
            del cleaned["format"]
        return cleaned
    if isinstance(node, list):
        return [_without_secret_format(v) for v in node]
    return node


def test_the_models_accept_exactly_what_the_contract_describes() -> None:
    published = json.loads(codegen.latest_schema().read_text())
    regenerated = _without_secret_format(models.StackOutputs.model_json_schema())
    assert compat.compare(published, regenerated) == []
    assert compat.compare(regenerated, published) == []


def _load(source: str) -> types.ModuleType:
    module = types.ModuleType("generated_under_test")
    exec(compile(source, "generated_under_test.py", "exec", dont_inherit=True), module.__dict__)
    return module


def _small(properties: dict[str, Any], required: list[str], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "$defs": defs or {},
        "properties": {"contract_version": {"const": "7", "type": "string"}, **properties},
        "required": ["contract_version", *required],
        "title": "Test contract",
        "type": "object",
    }


def test_names_bounds_secrets_and_optionals_are_generated_faithfully() -> None:
    schema = _small(
        {
            "class": {"type": "string"},
            "model_config": {"type": "integer"},
            "token": {"type": "string", "x-pulumi-secret": True},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 9},
            "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
            "nickname": {"type": "string"},
            "limits": {"type": "object", "additionalProperties": {"type": "number"}},
            "anything": {},
        },
        ["class", "model_config", "token", "replicas", "tags"],
    )
    module = _load(codegen.render(schema, "stack-outputs.v7.json"))
    assert module.CONTRACT_VERSION == "7"
    assert module.__version__ == "7.9.0"
    model = module.StackOutputs
    data = {
        "contract_version": "7",
        "class": "a",
        "model_config": 1,
        "token": "t0k3n",
        "replicas": 3.0,
        "tags": ["x"],
        "limits": {"cpu": 1},
    }
    parsed = model.model_validate(data)
    assert parsed.class_ == "a"
    assert parsed.model_config_ == 1
    assert isinstance(parsed.token, SecretStr)
    assert parsed.replicas == 3
    assert parsed.nickname is None
    assert parsed.model_dump(by_alias=True)["class"] == "a"
    for bad in ({"replicas": 10}, {"replicas": 0}, {"tags": ["X"]}, {"token": 5}):
        with pytest.raises(ValidationError):
            model.model_validate({**data, **bad})


def test_models_come_out_after_the_models_they_use() -> None:
    schema = _small(
        {"a": {"$ref": "#/$defs/Alpha"}},
        ["a"],
        defs={
            "Alpha": {"properties": {"z": {"$ref": "#/$defs/Zulu"}}, "required": ["z"], "type": "object"},
            "Zulu": {"properties": {"n": {"type": "integer"}}, "required": ["n"], "type": "object"},
        },
    )
    source = codegen.render(schema, "stack-outputs.v7.json")
    assert source.index("class Zulu(") < source.index("class Alpha(") < source.index("class StackOutputs(")
    parsed = _load(source).StackOutputs.model_validate({"contract_version": "7", "a": {"z": {"n": 1}}})
    assert parsed.a.z.n == 1
    assert "SECTION_MODELS" in source and '"a": Alpha' in source


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            _small({"m": {"type": "object", "patternProperties": {}}}, []),
            "#/properties/m: unsupported keyword 'patternProperties'",
        ),
        (
            _small({"m": {"type": "object", "properties": {"x": {"type": "string"}}}}, []),
            "#/properties/m: an inline object",
        ),
        (
            _small({"m": {"$ref": "#/definitions/Old"}}, []),
            "#/properties/m: $ref '#/definitions/Old' does not name a model",
        ),
        (_small({"m": {"type": "date"}}, []), "#/properties/m/type: unsupported type 'date'"),
        (
            _small(
                {"m": {"$ref": "#/$defs/Node"}},
                [],
                defs={"Node": {"properties": {"n": {"$ref": "#/$defs/Node"}}, "type": "object"}},
            ),
            "#/$defs/Node: recursive models are not supported (Node -> Node)",
        ),
        (
            _small({}, [], defs={"class": {"type": "object", "properties": {}}}),
            "#/$defs/class: not usable as a Python class name",
        ),
        (_small({"m": {"type": "string"}}, ["m", "gone"]), "#/required: names no property: gone"),
        (
            {"properties": {"contract_version": {"type": "string"}}, "required": []},
            "contract_version: must be a required property",
        ),
        (
            _small({}, [], defs={"Bad": {"type": "object", "allOf": []}}),
            "#/$defs/Bad: unsupported keyword(s) on a model: allOf",
        ),
    ],
)
def test_unsupported_constructs_are_refused_naming_the_pointer(schema: dict[str, Any], expected: str) -> None:
    with pytest.raises(codegen.GenerateError) as raised:
        codegen.render(schema, "stack-outputs.v7.json")
    assert expected in str(raised.value)


def test_check_mode_reports_a_stale_module_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema_path = tmp_path / "stack-outputs.v7.json"
    schema_path.write_text(json.dumps(_small({"n": {"type": "integer"}}, ["n"])))
    out = tmp_path / "models.py"
    out.write_text("# stale\n")
    assert codegen.main(["--schema", str(schema_path), "--out", str(out), "--check"]) == 1
    assert out.read_text() == "# stale\n"
    assert "out of date" in capsys.readouterr().err
    assert codegen.main(["--schema", str(schema_path), "--out", str(out)]) == 0
    assert "class StackOutputs(Contract):" in out.read_text()
    assert codegen.main(["--schema", str(schema_path), "--out", str(out), "--check"]) == 0
    schema_path.write_text("{not json")
    assert codegen.main(["--schema", str(schema_path), "--out", str(out)]) == 2
    assert "stack-outputs.v7.json" in capsys.readouterr().err


def test_the_latest_published_version_is_the_highest_number(tmp_path: Path) -> None:
    for name in ("stack-outputs.v2.json", "stack-outputs.v10.json", "stack-outputs.v9.json"):
        (tmp_path / name).write_text("{}")
    assert codegen.latest_schema(tmp_path).name == "stack-outputs.v10.json"
    with pytest.raises(codegen.GenerateError, match=r"no stack-outputs\.vN\.json published"):
        codegen.latest_schema(tmp_path / "empty")


def test_the_package_version_follows_the_contract() -> None:
    pyproject = (REPO / "clients" / "platform_outputs" / "pyproject.toml").read_text()
    assert 'version = { attr = "platform_outputs.models.__version__" }' in pyproject
    major, count, _ = models.__version__.split(".")
    assert major == models.CONTRACT_VERSION
    schema = json.loads(codegen.latest_schema().read_text())
    assert int(count) == sum(len(d.get("properties", {})) for d in [schema, *schema["$defs"].values()])
