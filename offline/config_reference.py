"""Generate the README's config reference from the pydantic models (``make docs``).

The models' descriptions and defaults are the one source; a test fails when the README drifts.
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

from components.platform.config import StackConfig

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"
POLICY_START, POLICY_END = "<!-- policy-reference:start -->", "<!-- policy-reference:end -->"


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in get_args(annotation))
    if origin in (tuple, list):
        return f"list of {_type_name(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map {_type_name(key)} → {_type_name(value)}"
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


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        description = re.sub(r"\s+", " ", field.description or "").replace("|", "\\|")
        rows.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
        nested = _nested_model(field.annotation)
        if nested:
            rows.extend(_rows(nested[0], f"{path}{nested[1]}."))
    return rows


def render_reference() -> str:
    lines = [
        "Keys live under `platform:` in `Pulumi.<stack>.yaml`. Generated from `components/config.py` and",
        "`components/settings/` by `make docs`; a test keeps it in sync.",
        "",
        "| key | type | default | description |",
        "| --- | --- | --- | --- |",
        *_rows(StackConfig, ""),
    ]
    return "\n".join(lines) + "\n"


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


def _replace_block(text: str, start: str, end: str, body: str) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"error: {README} lacks the {start} / {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"


def main() -> int:
    text = _replace_block(README.read_text(), START, END, render_reference())
    README.write_text(_replace_block(text, POLICY_START, POLICY_END, render_policies()))
    print(f"updated the config and policy references in {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
