"""Generate the reference tables from the code (``make docs``): each package page's config keys, resources and
outputs (:mod:`offline.package_docs`), and the README's policy table.

The models' descriptions and defaults are the one source; a test fails when a page drifts.
"""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

README = Path(__file__).resolve().parent.parent / "README.md"
POLICY_START, POLICY_END = "<!-- policy-reference:start -->", "<!-- policy-reference:end -->"


def _generic_name(origin: Any, args: tuple[Any, ...]) -> str | None:
    """The name of a parameterised type (Annotated, Literal, unions, lists, maps), or None."""
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map {_type_name(args[0])} → {_type_name(args[1])}"
    return None


def _type_name(annotation: Any) -> str:
    generic = _generic_name(get_origin(annotation), get_args(annotation))
    if generic is not None:
        return generic
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return annotation.__name__ if not issubclass(annotation, BaseModel) else "object"
    return str(annotation)


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except ValueError:
            return "see below"  # a default that needs settings from the stack file
    else:
        return "**required**"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
        return f"{len(value)} entries"
    if isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel):
        return "see below"
    text = json.dumps(value if not isinstance(value, tuple) else list(value), default=str)
    return f"`{text}`" if len(text) < 60 else f"`{text[:57]}…`"


def _nested_model(annotation: Any) -> tuple[type[BaseModel], str] | None:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _nested_model(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if origin in (tuple, list):
        inner = _nested_model(get_args(annotation)[0])
        return (inner[0], "[]" + inner[1]) if inner else None
    if origin is dict:
        inner = _nested_model(get_args(annotation)[1])
        return (inner[0], ".<key>" + inner[1]) if inner else None
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            inner = _nested_model(arg)
            if inner:
                return inner
    return None


def rows(model: type[BaseModel], prefix: str, only: tuple[str, ...] | None = None) -> list[str]:
    """Markdown table rows for ``model``'s fields (``only`` those, when given), nested models flattened."""
    found = []
    for name, field in model.model_fields.items():
        if only is not None and name not in only:
            continue
        path = f"{prefix}{name}"
        description = re.sub(r"\s+", " ", field.description or "").replace("|", "\\|")
        found.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
        nested = _nested_model(field.annotation)
        if nested:
            found.extend(rows(nested[0], f"{path}{nested[1]}."))
    return found


def render_policies() -> str:
    """The policy pack's rules: name, kind, enforcement, severity, what it checks."""
    from policies.rules import ALL_POLICIES

    lines = ["| rule | kind | enforcement | severity | checks |", "| --- | --- | --- | --- | --- |"]
    for policy in ALL_POLICIES:
        kind = "stack" if type(policy).__name__ == "StackValidationPolicy" else "resource"
        level = policy.enforcement_level.value if policy.enforcement_level else "mandatory"
        severity = policy.severity.value if policy.severity else "-"
        lines.append(f"| `{policy.name}` | {kind} | {level} | {severity} | {policy.description} |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, start: str, end: str, body: str, where: Path = README) -> str:
    """``text`` with the part between the ``start`` and ``end`` markers replaced by ``body``."""
    if start not in text or end not in text:
        raise SystemExit(f"error: {where} lacks the {start} / {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"


def main() -> int:
    from offline.package_docs import write_pages

    README.write_text(replace_block(README.read_text(), POLICY_START, POLICY_END, render_policies()))
    print(f"updated the policy reference in {README}")
    for page in write_pages():
        print(f"updated {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
