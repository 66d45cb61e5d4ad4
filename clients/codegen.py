"""Generate the consumer package's pydantic models from the published outputs contract.

``python -m clients.codegen`` reads the highest ``schema/stack-outputs.vN.json`` and writes
``clients/platform_outputs/platform_outputs/models.py``; ``--check`` exits 1 when that file is out of date.
It reads the published JSON Schema only, never the platform's own models: what a consumer gets is exactly
what the platform promised, and the package builds without the rest of this repository.

The generator understands the part of JSON Schema that pydantic emits for the contract (``$defs`` models,
``$ref``, ``anyOf``/``oneOf``, ``enum``/``const``, arrays, string-keyed maps, numeric/string/array bounds,
``x-pulumi-secret``) and stops with the JSON pointer of anything else, so a new construct is a visible
decision, never a silently wrong model. An optional property without a ``default`` is generated as
``T | None = None`` (pydantic always writes a default for optional fields, so this does not occur today).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import keyword
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

REPO = Path(__file__).resolve().parent.parent
SCHEMA_DIR = REPO / "schema"
MODELS_PATH = REPO / "clients" / "platform_outputs" / "platform_outputs" / "models.py"
ROOT_CLASS = "StackOutputs"
SECRET_MARKER = "x-pulumi-secret"
_SCHEMA_NAME = re.compile(r"^stack-outputs\.v(\d+)\.json$")

# Keywords that carry no constraint on the value: documentation, defaults, editor hints.
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "format", "readOnly", "writeOnly", "deprecated"}
)
_STRUCTURE = frozenset(
    {"type", "$ref", "anyOf", "oneOf", "enum", "const", "items", "additionalProperties", "properties", "required"}
)
# JSON Schema bound -> pydantic Field argument.
_BOUNDS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "multipleOf": "multiple_of",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minItems": "min_length",
    "maxItems": "max_length",
}
_ROOT_KEYS = frozenset({"$schema", "$id", "$defs", "title", "description", "type", "properties", "required"}) | {
    "additionalProperties"
}
_SCALARS = {"string": "str", "integer": "Integer", "number": "float", "boolean": "bool", "null": "None"}
# Names the generated module itself binds; a model called like one of these would shadow it.
_RESERVED = frozenset(
    {"Annotated", "Any", "Contract", "Field", "Integer", "Literal", "SecretStr", "CONTRACT_VERSION", "SCHEMA_ID"}
    | {"SCHEMA_SHA256", "SECTION_MODELS", ROOT_CLASS}
)
_MODEL_ATTRIBUTES = frozenset(dir(BaseModel))


class GenerateError(ValueError):
    """The schema uses something the generator does not turn into a model; names the JSON pointer."""


def latest_schema(directory: Path = SCHEMA_DIR) -> Path:
    """The published contract with the highest major version (``stack-outputs.vN.json``)."""
    found = {int(m.group(1)): p for p in directory.glob("stack-outputs.v*.json") if (m := _SCHEMA_NAME.match(p.name))}
    if not found:
        raise GenerateError(f"{directory}: no stack-outputs.vN.json published")
    return found[max(found)]


def fingerprint(schema: Mapping[str, Any]) -> str:
    """sha256 of the schema's canonical JSON (key order and whitespace do not count)."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _literal(value: Any) -> str:
    """A JSON value as Python source."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(str(k))}: {_literal(v)}" for k, v in value.items()) + "}"
    raise GenerateError(f"cannot write {value!r} as Python")


def _docstring(text: str) -> str:
    body = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body += " "
    return f'"""{body}"""'


def _identifier(name: str) -> str:
    """A Python attribute name for a property (the generated field gets an alias when they differ)."""
    ident = re.sub(r"\W", "_", name)
    if not ident or ident[0].isdigit():
        ident = f"field_{ident}"
    ident = ident.lstrip("_") or "field"
    if keyword.iskeyword(ident) or ident in _MODEL_ATTRIBUTES or ident.startswith("model_"):
        ident += "_"
    return ident


@dataclass
class _Module:
    schema: Mapping[str, Any]
    defs: Mapping[str, Any]
    imports_typing: set[str] = field(default_factory=set)
    imports_pydantic: set[str] = field(default_factory=lambda: {"Field"})
    uses: dict[str, set[str]] = field(default_factory=dict)  # class -> classes it references

    def ref_name(self, ref: str, pointer: str) -> str:
        prefix = "#/$defs/"
        if not ref.startswith(prefix) or ref[len(prefix) :] not in self.defs:
            raise GenerateError(f"{pointer}: $ref {ref!r} does not name a model under #/$defs")
        return ref[len(prefix) :]

    def check_keys(self, node: Mapping[str, Any], pointer: str) -> None:
        for key in node:
            if key in _ANNOTATIONS or key in _STRUCTURE or key in _BOUNDS or key.startswith("x-"):
                continue
            allowed = sorted(_STRUCTURE | _BOUNDS.keys())
            raise GenerateError(f"{pointer}: unsupported keyword {key!r} (the generator handles {', '.join(allowed)})")
        if isinstance(node.get("additionalProperties"), dict) and "properties" in node:
            raise GenerateError(f"{pointer}: an object with both properties and a map of extra values is not supported")

    def type_of(self, node: Any, pointer: str, owner: str, secret: bool) -> str:
        """The Python type expression of a schema node."""
        if node is True or node == {}:
            self.imports_typing.add("Any")
            return "Any"
        if not isinstance(node, Mapping):
            raise GenerateError(f"{pointer}: expected a schema object, got {node!r}")
        self.check_keys(node, pointer)
        base = self._base_type(node, pointer, owner, secret)
        bounds = {_BOUNDS[k]: node[k] for k in _BOUNDS if k in node}
        if not bounds:
            return base
        self.imports_typing.add("Annotated")
        args = ", ".join(f"{name}={_literal(value)}" for name, value in bounds.items())
        return f"Annotated[{base}, Field({args})]"

    def _base_type(self, node: Mapping[str, Any], pointer: str, owner: str, secret: bool) -> str:
        if "$ref" in node:
            name = self.ref_name(node["$ref"], pointer)
            self.uses.setdefault(owner, set()).add(name)
            return name
        for combinator in ("anyOf", "oneOf"):
            if combinator in node:
                return self._union(node[combinator], f"{pointer}/{combinator}", owner, secret)
        if "const" in node or "enum" in node:
            return self._literal_type(node, pointer)
        kind = node.get("type")
        if isinstance(kind, list):
            return " | ".join(self._base_type({**node, "type": k}, pointer, owner, secret) for k in kind)
        if kind in ("array", "object"):
            return self._container(node, pointer, owner, secret)
        return self._scalar(kind, pointer, secret)

    def _union(self, options: Any, pointer: str, owner: str, secret: bool) -> str:
        if not isinstance(options, list) or not options:
            raise GenerateError(f"{pointer}: expected a non-empty list")
        types = [self.type_of(option, f"{pointer}/{i}", owner, secret) for i, option in enumerate(options)]
        unique = list(dict.fromkeys(t for t in types if t != "None"))
        return " | ".join(unique + (["None"] if "None" in types else []))

    def _literal_type(self, node: Mapping[str, Any], pointer: str) -> str:
        values = [node["const"]] if "const" in node else node["enum"]
        if not isinstance(values, list) or not values:
            raise GenerateError(f"{pointer}/enum: expected a non-empty list")
        if any(isinstance(v, dict | list) for v in values):
            raise GenerateError(f"{pointer}/enum: only scalar values can be a Literal")
        self.imports_typing.add("Literal")
        return f"Literal[{', '.join(_literal(v) for v in values)}]"

    def _container(self, node: Mapping[str, Any], pointer: str, owner: str, secret: bool) -> str:
        if node["type"] == "array":
            return f"list[{self.type_of(node.get('items', {}), f'{pointer}/items', owner, secret)}]"
        if "properties" in node:
            raise GenerateError(f"{pointer}: an inline object with properties; declare it as a model under $defs")
        values = node.get("additionalProperties", True)
        if values is False:
            raise GenerateError(f"{pointer}: an object that admits no keys at all")
        return f"dict[str, {self.type_of(values, f'{pointer}/additionalProperties', owner, secret)}]"

    def _scalar(self, kind: Any, pointer: str, secret: bool) -> str:
        if kind is None:
            self.imports_typing.add("Any")
            return "Any"
        if kind not in _SCALARS:
            raise GenerateError(f"{pointer}/type: unsupported type {kind!r}")
        if kind == "string" and secret:
            self.imports_pydantic.add("SecretStr")
            return "SecretStr"
        return _SCALARS[kind]

    def model_source(self, name: str, node: Mapping[str, Any], pointer: str) -> str:
        """One ``class Name(Contract)`` with a field per property."""
        unknown = set(node) - (_ANNOTATIONS | {"type", "properties", "required", "additionalProperties"})
        if pointer == "#":
            unknown -= _ROOT_KEYS
        if unknown:
            raise GenerateError(f"{pointer}: unsupported keyword(s) on a model: {', '.join(sorted(unknown))}")
        if node.get("type", "object") != "object":
            raise GenerateError(f"{pointer}: a model must be an object, got type {node.get('type')!r}")
        properties = node.get("properties") or {}
        required = list(node.get("required") or [])
        missing = [r for r in required if r not in properties]
        if missing:
            raise GenerateError(f"{pointer}/required: names no property: {', '.join(missing)}")
        ordered = required + [p for p in properties if p not in required]
        doc = node.get("description") or f"The ``{node.get('title') or name}`` part of the outputs contract."
        lines = [f"class {name}(Contract):", f"    {_docstring(doc)}", ""]
        used: set[str] = set()
        for prop in ordered:
            ident, line = self._field_source(name, prop, properties[prop], f"{pointer}/properties/{prop}", required)
            if ident in used:
                raise GenerateError(f"{pointer}/properties/{prop}: its Python name {ident!r} collides with another")
            used.add(ident)
            lines.append(line)
        if not ordered:
            lines.append("    pass")
        return "\n".join(lines)

    def _field_source(self, owner: str, prop: str, node: Any, pointer: str, required: list[str]) -> tuple[str, str]:
        """The Python name of one property and its ``name: Type = Field(...)`` line."""
        if not isinstance(node, Mapping):
            raise GenerateError(f"{pointer}: expected a schema object")
        secret = bool(node.get(SECRET_MARKER))
        annotation = self.type_of(node, pointer, owner, secret)
        ident = _identifier(prop)
        args: list[str] = []
        if prop not in required:
            args.append(f"default={_literal(node['default'])}" if "default" in node else "default=None")
            if "default" not in node and not annotation.endswith("None"):
                annotation += " | None"
        if ident != prop:
            args.append(f"alias={_literal(prop)}")
        if node.get("description"):
            args.append(f"description={_literal(node['description'])}")
        if secret:
            args.append(f"json_schema_extra={{{_literal(SECRET_MARKER)}: True}}")
        return ident, f"    {ident}: {annotation} = Field({', '.join(args)})"


def _ordered_models(module: _Module, sources: Mapping[str, str]) -> list[str]:
    """Models in dependency order (a model after every model it names), alphabetical otherwise."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = " -> ".join((*trail, name))
            raise GenerateError(f"#/$defs/{name}: recursive models are not supported ({cycle})")
        visiting.add(name)
        for dep in sorted(module.uses.get(name, ())):
            visit(dep, (*trail, name))
        visiting.discard(name)
        done.append(name)

    for name in sorted(sources):
        visit(name, ())
    return done


def _count_properties(schema: Mapping[str, Any]) -> int:
    models = [schema, *(schema.get("$defs") or {}).values()]
    return sum(len(m.get("properties") or {}) for m in models if isinstance(m, Mapping))


def render(schema: Mapping[str, Any], source_name: str) -> str:
    """The models module for ``schema`` (before formatting)."""
    if not isinstance(schema, Mapping):
        raise GenerateError("#: the contract must be a JSON object")
    defs = schema.get("$defs") or {}
    if not isinstance(defs, Mapping):
        raise GenerateError("#/$defs: expected an object")
    for name in defs:
        if not name.isidentifier() or keyword.iskeyword(name) or name in _RESERVED:
            raise GenerateError(f"#/$defs/{name}: not usable as a Python class name")
    root_props = schema.get("properties") or {}
    version_node = root_props.get("contract_version") or {}
    version = version_node.get("const")
    if not isinstance(version, str) or "contract_version" not in (schema.get("required") or []):
        raise GenerateError("#/properties/contract_version: must be a required property with a string const")
    if not version.isdigit():
        raise GenerateError(f"#/properties/contract_version/const: expected a major version number, got {version!r}")

    module = _Module(schema=schema, defs=defs)
    sources = {name: module.model_source(name, node, f"#/$defs/{name}") for name, node in defs.items()}
    root_source = module.model_source(ROOT_CLASS, schema, "#")
    sections: dict[str, str] = {}
    for prop, node in root_props.items():
        options = [o for o in node.get("anyOf", [node]) if o.get("type") != "null"]
        if len(options) == 1 and "$ref" in options[0]:
            sections[prop] = module.ref_name(options[0]["$ref"], f"#/properties/{prop}")
    typing_names = sorted(module.imports_typing)
    pydantic_names = sorted(module.imports_pydantic)
    title = schema.get("title") or f"contract v{version}"
    header = [
        f'"""{title}: typed models for the teams that read the platform\'s stack outputs.',
        "",
        f"GENERATED by ``python -m clients.codegen`` from ``schema/{source_name}``; do not edit. The models are",
        "strict (mistyped values are errors) and ignore fields they do not know (a newer minor version).",
        '"""',
        "",
    ]
    if typing_names:
        header.append(f"from typing import {', '.join(typing_names)}")
        header.append("")
    header.append(f"from pydantic import {', '.join(pydantic_names)}")
    header.append("")
    header.append("from platform_outputs._base import Contract, Integer")
    constants = [
        f"CONTRACT_VERSION = {_literal(version)}",
        '"""Major version of the contract these models were generated from."""',
        f"SCHEMA_ID = {_literal(schema.get('$id') or source_name)}",
        f"SCHEMA_SHA256 = {_literal(fingerprint(schema))}",
        '"""Fingerprint of the published schema (canonical JSON) the models were generated from."""',
        f"__version__ = {_literal(f'{version}.{_count_properties(schema)}.0')}",
        '"""Package version: the contract\'s major version, then its property count (grows with each optional',
        'field a minor version adds; a major version starts again)."""',
    ]
    order = _ordered_models(module, sources)
    body = [sources[name] for name in order]
    exported = ["CONTRACT_VERSION", "SCHEMA_ID", "SCHEMA_SHA256", "SECTION_MODELS", ROOT_CLASS, *order]
    constants.append("__all__ = [" + ", ".join(_literal(n) for n in sorted(exported)) + "]")
    section_lines = ["SECTION_MODELS: dict[str, type[Contract]] = {"]
    section_lines += [f"    {_literal(prop)}: {model}," for prop, model in sorted(sections.items())]
    section_lines += ["}", '"""Top-level output name -> the model of its value, for outputs that hold one model."""']
    parts = ["\n".join(header), "\n".join(constants), *body, root_source, "\n".join(section_lines)]
    return "\n\n\n".join(parts) + "\n"


def _format(source: str) -> str:
    """The source as the repository's linter and formatter leave it (so ``make lint`` agrees)."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    stdin = ["--stdin-filename", str(MODELS_PATH), "-"]
    for command in (["check", "--fix-only", "--exit-zero", "--quiet", *stdin], ["format", *stdin]):
        try:
            done = subprocess.run([ruff, *command], input=source, capture_output=True, text=True, check=False, cwd=REPO)
        except FileNotFoundError as exc:
            raise GenerateError(f"ruff is needed to format the generated module ({exc})") from exc
        if done.returncode != 0:
            raise GenerateError(f"ruff {command[0]} failed on the generated module: {done.stderr.strip()}")
        source = done.stdout
    return source


def generate(schema_path: Path) -> str:
    """The formatted models module for the contract in ``schema_path``."""
    try:
        schema = json.loads(schema_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GenerateError(f"{schema_path}: {exc}") from exc
    return _format(render(schema, schema_path.name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.codegen", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--schema", type=Path, help="contract to read (default: the highest schema/stack-outputs.vN.json)"
    )
    parser.add_argument("--out", type=Path, default=MODELS_PATH, help=f"module to write (default: {MODELS_PATH})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when --out is out of date")
    args = parser.parse_args(argv)
    try:
        schema_path = args.schema or latest_schema()
        source = generate(schema_path)
    except GenerateError as exc:
        print(f"codegen: {exc}", file=sys.stderr)
        return 2
    current = args.out.read_text() if args.out.exists() else None
    if args.check:
        if current != source:
            print(f"{args.out} is out of date with {schema_path}: run `python -m clients.codegen`", file=sys.stderr)
            return 1
        print(f"{args.out} matches {schema_path}")
        return 0
    if current != source:
        args.out.write_text(source)
        print(f"wrote {args.out} from {schema_path}")
    else:
        print(f"{args.out} already matches {schema_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
