"""One reference page per component package (``components/<package>/README.md``), generated from the code.

Each page keeps its hand-written prose above a generated block that lists, from the one source each:
the package's config keys with defaults and reasons (the pydantic models), the resources it declares in
both checked-in stacks (the offline plans) and its section of the outputs contract (the contract models).
``make docs`` rewrites the blocks; a test fails when a page drifts from the code.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from components.platform.config import StackConfig
from components.platform.outputs import StackOutputs
from offline.config_reference import replace_block, rows
from offline.engine import PlanResult

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "components"
START, END = "<!-- reference:start -->", "<!-- reference:end -->"
STACKS = ("staging", "prod")
_TYPE_TOKEN = re.compile(r'super\(\).__init__\(\s*"(platform:[a-z_]+:[A-Za-z]+)"')


@dataclass(frozen=True)
class Package:
    """Which stack-config keys and which outputs sections a package owns."""

    config_keys: tuple[str, ...]
    output_keys: tuple[str, ...]


PACKAGES: dict[str, Package] = {
    "lib": Package((), ()),
    "platform": Package(
        ("environment", "namespace", "tags", "protect_data", "cloud"), ("contract_version", "environment", "namespace")
    ),
    "services": Package(("services",), ("services", "autoscaling")),
    "redis": Package(("redis",), ("redis",)),
    "cdn": Package(("cdn",), ("cdn",)),
    "backup": Package(("backup",), ("backup", "snapshots")),
    "backup_jobs": Package(("backup_jobs",), ("backup_jobs",)),
    "disaster_recovery": Package(("dr",), ("dr",)),
    "content_optimizer": Package(("optimizer",), ("optimizer",)),
    "monitoring": Package(("monitoring",), ("monitoring",)),
    "maintenance": Package(("maintenance",), ("maintenance",)),
    "budgets": Package(("budgets",), ("budgets",)),
    "network": Package(("network",), ()),
    "traffic": Package(("traffic",), ()),
    "database": Package(("database",), ("database",)),
    "alerting": Package(("alerting",), ()),
}


def component_types(package: str) -> list[str]:
    """Type tokens of the ComponentResources defined in a package's modules."""
    found: list[str] = []
    for path in sorted((COMPONENTS / package).glob("*.py")):
        found.extend(_TYPE_TOKEN.findall(path.read_text()))
    return found


def _resource_counts(types: list[str], plan: PlanResult) -> Counter[str]:
    """Resources (and nested components) under the package's components in one plan, by type."""
    parents = {r.urn: r.parent for r in plan.resources}
    owned = {r.urn for r in plan.resources if r.type in types}
    counts: Counter[str] = Counter()
    for record in plan.resources:
        if record.type in types:
            counts[record.type] += 1
            continue
        parent = record.parent
        while parent and parent not in owned:
            parent = parents.get(parent)
        if parent:
            counts[record.type] += 1
    return counts


def _resources_table(types: list[str], plans: Mapping[str, PlanResult]) -> list[str]:
    counts = {stack: _resource_counts(types, plans[stack]) for stack in STACKS}
    every = sorted(set().union(*(c.keys() for c in counts.values())), key=lambda t: (t not in types, t))
    if not every:
        return ["No component of this package is declared in either stack."]
    head = "| type | " + " | ".join(STACKS) + " |"
    lines = [head, "| --- |" + " --- |" * len(STACKS)]
    lines += [f"| `{t}` | " + " | ".join(str(counts[s][t]) for s in STACKS) + " |" for t in every]
    return lines


def render_block(package: str, plans: Mapping[str, PlanResult]) -> str:
    """The generated reference block of one package page."""
    spec = PACKAGES[package]
    lines = ["_Generated from the code by `make docs`; a test keeps it in sync._", ""]
    if spec.config_keys:
        lines += ["### Config keys (`platform:` in `Pulumi.<stack>.yaml`)", ""]
        lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
        lines += rows(StackConfig, "", only=spec.config_keys)
        lines.append("")
    types = component_types(package)
    if types:
        lines += ["### Resources declared (counts in the checked-in stacks)", ""]
        lines += ["Components: " + ", ".join(f"`{t}`" for t in types) + ".", ""]
        lines += [*_resources_table(types, plans), ""]
    if spec.output_keys:
        lines += ["### Outputs (its sections of the stack-outputs contract)", ""]
        lines += ["| output | type | default | description |", "| --- | --- | --- | --- |"]
        lines += rows(StackOutputs, "", only=spec.output_keys)
        lines.append("")
    return "\n".join(lines)


def page_path(package: str) -> Path:
    return COMPONENTS / package / "README.md"


def current_block(package: str) -> str:
    """The block as the page has it today ('' when the page or its markers are missing)."""
    path = page_path(package)
    text = path.read_text() if path.exists() else ""
    if START not in text or END not in text:
        return ""
    return text.split(START, 1)[1].split(END, 1)[0]


def plans_of_checked_in_stacks() -> dict[str, PlanResult]:
    from components.platform.config import read_stack_file
    from offline.engine import run_program

    return {s: run_program(s, read_stack_file(ROOT / f"Pulumi.{s}.yaml"), ROOT / "__main__.py") for s in STACKS}


def write_pages(plans: Mapping[str, PlanResult] | None = None) -> list[Path]:
    """Rewrite every package page's generated block (pages without markers get one appended)."""
    plans = plans or plans_of_checked_in_stacks()
    written = []
    for package in PACKAGES:
        path = page_path(package)
        text = path.read_text() if path.exists() else f"# components/{package}\n"
        if START not in text:
            text = text.rstrip("\n") + f"\n\n## Reference\n\n{START}\n{END}\n"
        path.write_text(replace_block(text, START, END, render_block(package, plans), where=path))
        written.append(path)
    return written
