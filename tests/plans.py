"""Shared helpers for tests that need the program's plan (run on Pulumi's mock engine).

``plan_of(stack)`` runs a stack file once per test session and caches it; ``plan_with(stack, changes)``
runs a modified copy of a stack's config (deep-merged ``changes``), for tests of variants and of what
the policy pack must reject. Plans run in-process; each run resets the mock engine.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.platform.config import read_stack_file
from offline.engine import PlanResult, ResourceRecord, run_program
from offline.plan import manifest_of

REPO = Path(__file__).resolve().parent.parent
STACKS = ("staging", "prod")


def deep_merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in (dicts merge, ``None`` removes a key, everything else replaces)."""
    merged = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def stack_values(stack: str) -> dict[str, Any]:
    return read_stack_file(REPO / f"Pulumi.{stack}.yaml")


@functools.cache
def plan_of(stack: str) -> PlanResult:
    """The plan of a checked-in stack file (cached for the session)."""
    return run_program(stack, stack_values(stack), REPO / "__main__.py")


def plan_with(stack: str, changes: Mapping[str, Any]) -> PlanResult:
    """The plan of ``stack`` with ``changes`` deep-merged into its config values."""
    return run_program(stack, deep_merge(stack_values(stack), changes), REPO / "__main__.py")


def of_type(plan: PlanResult, type_token: str) -> list[ResourceRecord]:
    return [r for r in plan.resources if r.type == type_token]


def named(plan: PlanResult, name: str) -> ResourceRecord:
    matches = [r for r in plan.resources if r.name == name]
    assert len(matches) == 1, f"expected one resource named {name!r}, found {len(matches)}"
    return matches[0]


def manifests(plan: PlanResult) -> list[dict[str, Any]]:
    """Every Kubernetes object of a plan, as written under manifests/."""
    return [m for m in (manifest_of(r) for r in plan.resources) if m is not None]


def manifests_of_kind(plan: PlanResult, kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests(plan) if m["kind"] == kind]
