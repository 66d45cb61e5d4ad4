"""Property-level differences between two values of a plan (resource inputs), by dotted path.

Mappings are compared key by key and lists index by index (a Kubernetes container list or a rule list keeps
its order, so an index is what a reviewer reads). Strings that hold JSON documents (IAM and bucket policies,
provider default tags) are compared inside, so a one-statement change does not show as a whole new document.
Secrets arrive already redacted by the engine (``[secret]``) and are never shown otherwise: a path whose old
or new value is secret reports ``[secret]`` on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from offline.engine import SECRET

#: Marks a path step that descends into a JSON document held in a string.
JSON_STEP = "(json)"


@dataclass(frozen=True)
class PropertyChange:
    """One changed leaf (or a whole added/removed subtree) at ``path``."""

    path: str
    kind: str  # "add" | "delete" | "update"
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind}
        if self.kind != "add":
            out["old"] = self.old
        if self.kind != "delete":
            out["new"] = self.new
        return out


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _json_document(value: Any) -> Any:
    """The parsed document when ``value`` is a string holding a JSON object or array, else None."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value == SECRET


def _diff_mappings(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[PropertyChange]:
    changes: list[PropertyChange] = []
    for key in list(old) + [k for k in new if k not in old]:
        sub = join(path, str(key))
        if key not in new:
            changes.append(PropertyChange(sub, "delete", old=old[key]))
        elif key not in old:
            changes.append(PropertyChange(sub, "add", new=new[key]))
        else:
            changes += diff_values(old[key], new[key], sub)
    return changes


def _diff_lists(old: list[Any], new: list[Any], path: str) -> list[PropertyChange]:
    changes: list[PropertyChange] = []
    for index in range(max(len(old), len(new))):
        sub = join(path, index)
        if index >= len(new):
            changes.append(PropertyChange(sub, "delete", old=old[index]))
        elif index >= len(old):
            changes.append(PropertyChange(sub, "add", new=new[index]))
        else:
            changes += diff_values(old[index], new[index], sub)
    return changes


def diff_values(old: Any, new: Any, path: str = "") -> list[PropertyChange]:
    """Every difference between ``old`` and ``new`` below ``path`` (empty when equal)."""
    if old == new:
        return []
    if _is_secret(old) or _is_secret(new):
        return [PropertyChange(path, "update", SECRET, SECRET)]
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return _diff_mappings(old, new, path)
    if isinstance(old, list) and isinstance(new, list):
        return _diff_lists(old, new, path)
    old_doc, new_doc = _json_document(old), _json_document(new)
    if old_doc is not None and new_doc is not None:
        return diff_values(old_doc, new_doc, path + JSON_STEP)
    return [PropertyChange(path, "update", old, new)]


def input_path(path: str) -> str:
    """The input property a change path belongs to for the replace tables (the part before any JSON step)."""
    return path.split(JSON_STEP, 1)[0]


def short(value: Any, limit: int = 80) -> str:
    """A one-line rendering of a value for text output (JSON, cut at ``limit`` characters)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_pair(old: Any, new: Any, limit: int = 40) -> tuple[str, str]:
    """Two values cut to ``limit`` characters each, long strings around where they first differ."""
    if not (isinstance(old, str) and isinstance(new, str)) or max(len(old), len(new)) + 2 <= limit:
        return short(old, limit), short(new, limit)
    common = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    start = max(0, common - limit // 3)

    def window(text: str) -> str:
        cut = text[start : start + limit - 2]
        return ("…" if start else "") + cut + ("…" if start + limit - 2 < len(text) else "")

    return window(old), window(new)
