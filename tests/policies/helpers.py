"""Helpers for policy tests: run the rules over real plans (and mutated copies of them)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline.engine import PlanResult
from policies.check import Violation, build_resources, evaluate
from tests.plans import REPO

CONFIG_DIR = REPO / "policies" / "config"


def pack_config(stack: str) -> dict[str, Any]:
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


def records_of(plan: PlanResult) -> list[dict[str, Any]]:
    return [r.to_json() for r in plan.resources]


def violations(
    records: list[dict[str, Any]],
    stack: str,
    outputs: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> list[Violation]:
    return evaluate(build_resources(records, outputs or {}), config if config is not None else pack_config(stack))


def mutate(
    records: list[dict[str, Any]], type_suffix: str, change: Callable[[dict[str, Any]], object], name: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """A deep copy of ``records`` with ``change`` applied to the inputs of the first matching resource."""
    copied = copy.deepcopy(records)
    for record in copied:
        if record["type"].endswith(type_suffix) and (name is None or record["name"] == name):
            change(record["inputs"])
            return copied, record["urn"]
    raise AssertionError(f"no resource of type *{type_suffix} named {name!r} in the plan")


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path
