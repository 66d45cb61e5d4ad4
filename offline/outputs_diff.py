"""Stack outputs that change between two plans, and the outputs-contract version bump the change needs.

Other teams read the outputs through the published contract (``schema/stack-outputs.v<N>.json``), so a
reviewer needs to know not only *that* an output changed but what that means for them:

- a value that changes (a new port, a service added to a map) needs no contract change (``none``);
- a field the head adds is an optional addition (``minor``: ``make schema`` adds it to the same major
  version), unless the contract declares it required (``major``);
- a field removed, or a value whose JSON type changes (string -> object), or an output that becomes or stops
  being secret, breaks consumers (``major``: a new ``CONTRACT_VERSION``, a ``v<N+1>`` schema file and a new
  ``contract_version`` value).

Whether a mapping's keys are contract fields (a model: ``redis.port``) or data (a map: ``services.backend``)
comes from the contract's JSON Schema; without one, every key is taken for a field (the cautious reading).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_CLIENT = str(ROOT / "clients" / "platform_outputs")
if _CLIENT not in sys.path:  # the contract's reader lives in the consumer package (stdlib only)
    sys.path.append(_CLIENT)

from platform_outputs.compat import VERSION_FIELD, _Schema  # noqa: E402

BUMPS = ("none", "minor", "major")


@dataclass(frozen=True)
class OutputChange:
    """One output path that differs, what happened to it, and the bump it needs."""

    path: str
    kind: str  # "field added" | "field removed" | "retyped" | "value" | "entry added" | "entry removed" | "secret"
    bump: str
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "bump": self.bump, "old": self.old, "new": self.new}


@dataclass
class OutputsDiff:
    changes: list[OutputChange] = field(default_factory=list)
    base_version: str | None = None
    head_version: str | None = None

    @property
    def bump(self) -> str:
        """The largest bump any change needs."""
        return max((c.bump for c in self.changes), key=BUMPS.index, default="none")

    def advice(self) -> str:
        """What the change asks of the contract, in one sentence."""
        bump = self.bump
        if bump == "none":
            return "no contract change needed" if self.changes else "no output changes"
        if bump == "minor":
            return f"minor: optional fields added; `make schema` adds them to contract v{self.head_version}"
        declared = _as_int(self.head_version) > _as_int(self.base_version)
        if declared:
            return f"major: breaking, declared (contract_version {self.base_version} -> {self.head_version})"
        next_version = _as_int(self.base_version) + 1
        return (
            f"major: breaking for consumers of v{self.base_version}; needs contract v{next_version} "
            f"(CONTRACT_VERSION and contract_version {next_version!r}, `make schema` writes stack-outputs.v{next_version}.json)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "bump": self.bump,
            "advice": self.advice(),
            "base_contract_version": self.base_version,
            "head_contract_version": self.head_version,
            "changes": [c.to_json() for c in self.changes],
        }


def _as_int(version: str | None) -> int:
    try:
        return int(version or 0)
    except ValueError:
        return 0


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "null"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Walker:
    def __init__(self, schema: Mapping[str, Any] | None) -> None:
        self.schema = _Schema(schema) if schema else None
        self.changes: list[OutputChange] = []

    def object_node(self, node: Any) -> dict[str, Any] | None:
        """The object alternative of a schema node (model or map), None without a schema."""
        if self.schema is None or node is None:
            return None
        alternatives, _ = self.schema.alternatives(node)
        for alt in alternatives:
            if self.schema.kind(alt) in {"model", "map"}:
                return alt
        return None

    def walk(self, old: Any, new: Any, node: Any, path: str) -> None:
        if old == new:
            return
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            self.mapping(old, new, self.object_node(node), path)
            return
        old_type, new_type = _json_type(old), _json_type(new)
        if "null" not in (old_type, new_type) and old_type != new_type:
            self.changes.append(OutputChange(path, "retyped", "major", old, new))
        else:
            self.changes.append(OutputChange(path, "value", "none", old, new))

    def mapping(self, old: Mapping[str, Any], new: Mapping[str, Any], node: dict[str, Any] | None, path: str) -> None:
        is_map = node is not None and self.schema is not None and self.schema.kind(node) == "map"
        properties: Mapping[str, Any] = (node or {}).get("properties") or {}
        required = set((node or {}).get("required") or [])
        for key in list(old) + [k for k in new if k not in old]:
            sub = _join(path, str(key))
            child = (node or {}).get("additionalProperties") if is_map else properties.get(key)
            if key not in new:
                kind, bump = ("entry removed", "none") if is_map else ("field removed", "major")
                self.changes.append(OutputChange(sub, kind, bump, old=old[key]))
            elif key not in old:
                if is_map:
                    self.changes.append(OutputChange(sub, "entry added", "none", new=new[key]))
                else:
                    bump = "major" if key in required else "minor"
                    self.changes.append(OutputChange(sub, "field added", bump, new=new[key]))
            else:
                self.walk(old[key], new[key], child, sub)


def diff_outputs(
    base: Mapping[str, Any], head: Mapping[str, Any], schema: Mapping[str, Any] | None = None
) -> OutputsDiff:
    """Compare two ``outputs.json`` documents (``{"outputs": ..., "secretOutputs": [...]}``)."""
    old, new = base.get("outputs") or {}, head.get("outputs") or {}
    walker = _Walker(schema)
    walker.walk(old, new, schema, "")
    old_secret, new_secret = set(base.get("secretOutputs") or []), set(head.get("secretOutputs") or [])
    for path in sorted(old_secret ^ new_secret):
        if not (_has_path(old, path) and _has_path(new, path)):
            continue  # added or removed outright: reported above
        became = "became secret" if path in new_secret else "no longer secret"
        walker.changes.append(OutputChange(path, "secret", "major", old=became))
    return OutputsDiff(
        changes=walker.changes,
        base_version=_version(old),
        head_version=_version(new),
    )


def _has_path(outputs: Mapping[str, Any], dotted: str) -> bool:
    node: Any = outputs
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _version(outputs: Mapping[str, Any]) -> str | None:
    value = outputs.get(VERSION_FIELD)
    return str(value) if value is not None else None


def contract_schema(head_outputs: Mapping[str, Any], schema_dir: Path = ROOT / "schema") -> dict[str, Any] | None:
    """The published contract the head's outputs declare (``contract_version``), if this tree has it."""
    version = _version(head_outputs.get("outputs") or {})
    path = schema_dir / f"stack-outputs.v{version}.json"
    if version is None or not path.is_file():
        return None
    return json.loads(path.read_text())
