"""The compatibility gate: today's outputs models against the last published contract.

Within a major version the models may only add optional fields. The comparison runs against the published
``schema/stack-outputs.vN.json`` (highest N) as it is on disk, and as it was committed at ``HEAD`` and at
``HEAD~1`` (override with ``CONTRACT_BASE_REFS``, space-separated; CI on a branch sets its merge base). The git
comparisons are what stops a breaking change that also rewrote the published file: ``HEAD`` before a commit,
``HEAD~1`` in CI after it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from platform_outputs import compat

from components.platform.outputs import json_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO / "schema"
BASE_REFS = os.environ.get("CONTRACT_BASE_REFS", "HEAD HEAD~1").split()


def _latest() -> tuple[int, Path]:
    versions = compat.published_versions(SCHEMA_DIR)
    assert versions, f"no stack-outputs.vN.json in {SCHEMA_DIR}"
    return max(versions), versions[max(versions)]


def _committed(ref: str, path: Path) -> dict[str, Any] | None:
    """``path`` as committed at ``ref``; None when git, the ref or the file at that ref is not there."""
    try:
        shown = subprocess.run(
            ["git", "show", f"{ref}:{path.relative_to(REPO).as_posix()}"],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
    except FileNotFoundError:
        return None
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def test_the_models_keep_the_published_contract() -> None:
    _, path = _latest()
    problems = compat.gate(json.loads(path.read_text()), json_schema(), published_name=f"schema/{path.name}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("ref", BASE_REFS)
def test_the_models_keep_the_contract_as_committed(ref: str) -> None:
    _, path = _latest()
    committed = _committed(ref, path)
    if committed is None:
        pytest.skip(f"schema/{path.name} is not committed at {ref} (new major version, or no git history here)")
    problems = compat.gate(committed, json_schema(), published_name=f"schema/{path.name} at {ref}")
    assert not problems, "\n".join(problems)


def test_the_gate_catches_a_breaking_change_to_todays_models() -> None:
    """Wired to the real generated schema: removing any one published field from it is caught and named."""
    _, path = _latest()
    published = json.loads(path.read_text())
    current = json_schema()
    removals = [
        (name, field)
        for name, model in current["$defs"].items()
        for field in model.get("properties", {})
        if field in published["$defs"].get(name, {}).get("properties", {})
    ]
    assert removals, "the generated schema shares no model field with the published one"
    for name, field in removals:
        broken = json.loads(json.dumps(current))
        del broken["$defs"][name]["properties"][field]
        problems = compat.gate(published, broken, published_name=path.name)
        assert any(f".{field}: removed" in p for p in problems), (name, field, problems)
