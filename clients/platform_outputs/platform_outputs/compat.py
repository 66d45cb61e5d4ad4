"""Compare two versions of the outputs contract (JSON Schemas) and name every change a consumer would feel.

Within one major version the only change allowed is adding an optional field (or section). Everything else
breaks somebody, because stacks and consumers upgrade at different times:

- a field removed, renamed or retyped (including a changed enum, bound, or nullability) breaks consumers of
  the previous version reading new outputs;
- a field made required (or added as required) breaks consumers of the new version reading the outputs of a
  stack not yet updated; a required field made optional breaks consumers that rely on it being there;
- a field that becomes secret (or stops being one) changes what every consumer's Output is.

Documentation (titles, descriptions, defaults, examples) and model names are not part of the comparison, and
neither is ``additionalProperties: false`` on a model: readers ignore fields they do not know, which is what
makes adding an optional field safe. This module uses the standard library only and knows nothing of how a
schema was produced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET_MARKER = "x-pulumi-secret"
VERSION_FIELD = "contract_version"
_PUBLISHED = re.compile(r"^stack-outputs\.v(\d+)\.json$")
# Keywords that document a value without constraining it.
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "readOnly", "writeOnly", "deprecated"}
    | {"$id", "$schema", "$defs", "definitions"}
)
_STRUCTURE = frozenset(
    {"$ref", "anyOf", "oneOf", "allOf", "type", "enum", "const", "properties", "required"}
    | {"additionalProperties", "items"}
)


@dataclass(frozen=True)
class Change:
    """One difference between two contract versions, at a field path (``*`` = any map key, ``[]`` = items)."""

    path: str
    kind: str
    detail: str
    breaking: bool

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def contract_version(schema: Mapping[str, Any]) -> str | None:
    """The major version a contract declares (the ``const`` of its ``contract_version`` property)."""
    prop = (schema.get("properties") or {}).get(VERSION_FIELD) or {}
    value = prop.get("const")
    if value is None and isinstance(prop.get("enum"), list) and len(prop["enum"]) == 1:
        value = prop["enum"][0]
    return value if isinstance(value, str) else None


def published_versions(directory: Path) -> dict[int, Path]:
    """Major version -> file, for every ``stack-outputs.vN.json`` in ``directory``."""
    return {int(m.group(1)): p for p in directory.glob("stack-outputs.v*.json") if (m := _PUBLISHED.match(p.name))}


class _Schema:
    """One contract document: resolves ``$ref`` and reduces nodes to what a validator checks."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def deref(self, node: Any) -> dict[str, Any]:
        """The node with its ``$ref`` (and single-element ``allOf``) replaced by the target's keywords."""
        if node is True or node is None:
            return {}
        if not isinstance(node, Mapping):
            raise ValueError(f"not a schema: {node!r}")
        result = dict(node)
        for _ in range(64):
            if "$ref" in result:
                target = self.lookup(str(result.pop("$ref")))
                result = {**target, **result}
            elif isinstance(result.get("allOf"), list) and len(result["allOf"]) == 1:
                (only,) = result.pop("allOf")
                result = {**self.deref(only), **result}
            else:
                return result
        raise ValueError("$ref chain too long")

    def lookup(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are compared, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or key not in node:
                raise ValueError(f"$ref {ref!r} points nowhere")
            node = node[key]
        return dict(node)

    def alternatives(self, node: Any) -> tuple[list[dict[str, Any]], bool]:
        """The non-null alternatives a node admits, and whether it admits null."""
        node = self.deref(node)
        for combinator in ("anyOf", "oneOf"):
            if combinator in node:
                rest = {k: v for k, v in node.items() if k != combinator}
                found: list[dict[str, Any]] = []
                nullable = False
                for option in node[combinator]:
                    alts, null = self.alternatives({**rest, **self.deref(option)} if rest else option)
                    found += alts
                    nullable = nullable or null
                return found, nullable
        kind = node.get("type")
        if isinstance(kind, list):
            alts = [{**node, "type": k} for k in kind if k != "null"]
            return alts, "null" in kind
        if kind == "null" or ("const" in node and node["const"] is None):
            return [], True
        if "enum" in node and None in node["enum"]:
            values = [v for v in node["enum"] if v is not None]
            return ([{**node, "enum": values}] if values else []), True
        return [node], False

    def kind(self, node: Mapping[str, Any]) -> str:
        if "const" in node or "enum" in node:
            return "enum"
        kind = node.get("type")
        if kind == "object" or "properties" in node:
            return "model" if "properties" in node else "map"
        if kind == "array" or "items" in node:
            return "array"
        return str(kind) if kind else "any"

    def values(self, node: Mapping[str, Any]) -> list[Any]:
        return [node["const"]] if "const" in node else list(node["enum"])

    def describe(self, node: Any, depth: int = 0) -> str:
        """A short human name of a node's type."""
        alts, nullable = self.alternatives(node)
        names = [self._describe_one(a, depth) for a in alts] or ["null"]
        if nullable and alts:
            names.append("null")
        return " | ".join(names)

    def _describe_one(self, node: Mapping[str, Any], depth: int) -> str:
        kind = self.kind(node)
        if kind == "enum":
            return "one of " + ", ".join(json.dumps(v) for v in self.values(node))
        if kind == "model":
            return f"object {node.get('title') or ''}".strip()
        if depth > 2:
            return kind
        if kind == "map":
            return f"map of {self.describe(node.get('additionalProperties', True), depth + 1)}"
        if kind == "array":
            return f"array of {self.describe(node.get('items', True), depth + 1)}"
        return kind

    def shape(self, node: Any, depth: int = 0) -> Any:
        """The validating content of a node as plain data (documentation dropped), for equality tests."""
        alts, nullable = self.alternatives(node)
        forms = sorted((self._shape_one(a, depth) for a in alts), key=lambda s: json.dumps(s, sort_keys=True))
        return {"nullable": nullable, "of": forms}

    def _shape_one(self, node: Mapping[str, Any], depth: int) -> Any:
        if depth > 12:
            return {"kind": self.kind(node)}
        out: dict[str, Any] = {"kind": self.kind(node)}
        if out["kind"] == "enum":
            out["values"] = sorted(json.dumps(v, sort_keys=True) for v in self.values(node))
        elif out["kind"] == "model":
            required = set(node.get("required") or [])
            out["properties"] = {
                name: {
                    "required": name in required,
                    "secret": bool(prop.get(SECRET_MARKER)) if isinstance(prop, Mapping) else False,
                    "shape": self.shape(prop, depth + 1),
                }
                for name, prop in sorted((node.get("properties") or {}).items())
            }
        elif out["kind"] == "map":
            out["values"] = self.shape(node.get("additionalProperties", True), depth + 1)
        elif out["kind"] == "array":
            out["items"] = self.shape(node.get("items", True), depth + 1)
        out["constraints"] = constraints(node)
        return out


def constraints(node: Mapping[str, Any]) -> dict[str, Any]:
    """Validating keywords other than the structure this module walks (bounds, patterns, formats...)."""
    return {
        k: v
        for k, v in sorted(node.items())
        if k not in _ANNOTATIONS and k not in _STRUCTURE and not k.startswith("x-")  # the secret marker: per field
    }


def _join(path: str, part: str) -> str:
    if part == "[]":
        return f"{path}[]"
    return f"{path}.{part}" if path else part


class _Comparison:
    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old, self.new = _Schema(old), _Schema(new)
        self.changes: list[Change] = []
        self._active: set[tuple[str, str, str]] = set()

    def add(self, path: str, kind: str, detail: str, breaking: bool = True) -> None:
        self.changes.append(Change(path or "(root)", kind, detail, breaking))

    def node(self, old: Any, new: Any, path: str) -> None:
        key = (path.rsplit(".", maxsplit=1)[-1], json.dumps(old, sort_keys=True), json.dumps(new, sort_keys=True))
        if key in self._active:  # a recursive model: already being compared further up this path
            return
        self._active.add(key)
        try:
            self._node(old, new, path)
        finally:
            self._active.discard(key)

    def _node(self, old: Any, new: Any, path: str) -> None:
        old_alts, old_null = self.old.alternatives(old)
        new_alts, new_null = self.new.alternatives(new)
        if old_null != new_null:
            detail = "became nullable (may now be null)" if new_null else "no longer nullable"
            self.add(path, "retyped", f"{detail}: {self.old.describe(old)} -> {self.new.describe(new)}")
        if len(old_alts) == 1 and len(new_alts) == 1:
            self.single(old_alts[0], new_alts[0], path)
            return
        old_shapes = sorted(json.dumps(self.old._shape_one(a, 0), sort_keys=True) for a in old_alts)
        new_shapes = sorted(json.dumps(self.new._shape_one(a, 0), sort_keys=True) for a in new_alts)
        if old_shapes != new_shapes:
            self.add(path, "retyped", f"retyped: {self.old.describe(old)} -> {self.new.describe(new)}")

    def single(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        old_kind, new_kind = self.old.kind(old), self.new.kind(new)
        if old_kind != new_kind:
            self.add(path, "retyped", f"retyped: {self.old.describe(old)} -> {self.new.describe(new)}")
            return
        if old_kind == "enum":
            before, after = self.old.values(old), self.new.values(new)
            if sorted(map(json.dumps, before)) != sorted(map(json.dumps, after)):
                kind = "version" if path == VERSION_FIELD else "retyped"
                gained = [json.dumps(v) for v in after if v not in before]
                lost = [json.dumps(v) for v in before if v not in after]
                parts = [f"gained {', '.join(gained)}" if gained else "", f"lost {', '.join(lost)}" if lost else ""]
                self.add(path, kind, "allowed values changed: " + "; ".join(p for p in parts if p))
        before_c, after_c = constraints(old), constraints(new)
        for key in sorted(before_c.keys() | after_c.keys()):
            if before_c.get(key) != after_c.get(key):
                self.add(path, "retyped", f"constraint {key}: {before_c.get(key)!r} -> {after_c.get(key)!r}")
        if old_kind == "model":
            self.model(old, new, path)
        elif old_kind == "map":
            self.node(old.get("additionalProperties", True), new.get("additionalProperties", True), _join(path, "*"))
        elif old_kind == "array":
            self.node(old.get("items", True), new.get("items", True), _join(path, "[]"))

    def model(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        old_props: Mapping[str, Any] = old.get("properties") or {}
        new_props: Mapping[str, Any] = new.get("properties") or {}
        old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
        added = [n for n in sorted(new_props) if n not in old_props]
        for name in sorted(old_props):
            where = _join(path, name)
            if name not in new_props:
                shape = self.old.shape(old_props[name])
                alike = [n for n in added if self.new.shape(new_props[n]) == shape]
                hint = f" (renamed to {' or '.join(alike)}?)" if alike else ""
                self.add(where, "removed", f"removed{hint}; a reader of the previous version still expects it")
                continue
            if name in old_req and name not in new_req:
                self.add(where, "became-optional", "became optional; readers of the previous version rely on it")
            elif name not in old_req and name in new_req:
                self.add(where, "became-required", "became required; outputs of stacks not yet updated lack it")
            old_secret, new_secret = _secret(old_props[name]), _secret(new_props[name])
            if old_secret != new_secret:
                detail = "now marked secret" if new_secret else "no longer marked secret"
                self.add(where, "secret", f"{detail}; every consumer's Output of it changes")
            self.node(old_props[name], new_props[name], where)
        for name in added:
            where = _join(path, name)
            if name in new_req:
                self.add(where, "added-required", "added as required; give it a default to add it as optional")
            else:
                self.add(where, "added", f"added (optional): {self.new.describe(new_props[name])}", breaking=False)


def _secret(node: Any) -> bool:
    return isinstance(node, Mapping) and bool(node.get(SECRET_MARKER))


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from contract ``old`` to ``new``, sorted by path."""
    comparison = _Comparison(old, new)
    comparison.node(old, new, "")
    return sorted(comparison.changes, key=lambda c: (c.path, c.kind))


def breaking(changes: Iterable[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]


def gate(published: Mapping[str, Any], current: Mapping[str, Any], *, published_name: str) -> list[str]:
    """Why ``current`` may not replace the last published contract (empty: it may).

    Same major version: only non-breaking changes. A different major version must be published as its own
    ``stack-outputs.v<N>.json`` first (and then ``current`` is compared with that file).
    """
    before, after = contract_version(published), contract_version(current)
    if after is None:
        return [f"the current contract declares no {VERSION_FIELD} const"]
    if before is None:
        return [f"{published_name} declares no {VERSION_FIELD} const"]
    if after != before:
        return [
            f"{VERSION_FIELD} is {after!r} but the last published contract is v{before} ({published_name}): "
            f"publish stack-outputs.v{after}.json (`make schema`) and commit it"
        ]
    problems = breaking(compare(published, current))
    if not problems:
        return []
    next_version = int(before) + 1 if before.isdigit() else f"{before}+1"
    return [
        f"{len(problems)} breaking change(s) to contract v{before} ({published_name}) without a new major version:",
        *(f"  {change}" for change in problems),
        f"keep each old field beside its replacement, or publish stack-outputs.v{next_version}.json: bump "
        f"{VERSION_FIELD} to {str(next_version)!r} and run `make schema`",
    ]
