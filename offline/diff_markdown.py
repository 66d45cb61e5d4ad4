"""A plan diff as a pull-request comment: the verdict, counts per component, outputs, then per-resource details.

The comment has to fit GitHub's 65,536-character limit for any change, so details are added resource by
resource until a budget is spent and the rest are named as left out (the JSON has them all). Property values
are JSON-encoded on one line; multi-line strings (configuration files held in ConfigMaps) are shown as a
unified diff of their lines. Fences are four backticks so a value holding three cannot end one.
"""

from __future__ import annotations

import difflib
import html
import json
from typing import Any

from offline.plan_diff import PlanDiff, ResourceDiff, count_by_component
from offline.property_diff import PropertyChange

#: Characters of details at most (GitHub refuses comments over 65,536 characters; the head needs room).
DETAIL_BUDGET = 55_000
SYMBOL = {"add": "+", "delete": "-", "update": "~", "replace": "+-"}
WORD = {"add": "add", "delete": "remove", "update": "change", "replace": "replace"}
_FENCE = "````"


def _value(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _multiline(change: PropertyChange) -> list[str] | None:
    old, new = change.old, change.new
    if change.kind == "update" and isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        body = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2)
        return [f"~ {change.path}:"] + [f"{line}" for line in list(body)[2:]]
    return None


def change_lines(change: PropertyChange) -> list[str]:
    """Diff-fenced lines for one property change (``-`` old, ``+`` new)."""
    expanded = _multiline(change)
    if expanded is not None:
        return expanded
    lines: list[str] = []
    if change.kind in {"delete", "update"}:
        lines.append(f"- {change.path}: {_value(change.old)}")
    if change.kind in {"add", "update"}:
        lines.append(f"+ {change.path}: {_value(change.new)}")
    return lines


def _summary_line(diff: ResourceDiff) -> str:
    verb = {"add": "added", "delete": "removed", "update": "changed", "replace": "replaced"}[diff.action]
    head = f"{SYMBOL[diff.action]} <code>{html.escape(diff.name)}</code> <code>{html.escape(diff.type)}</code> {verb}"
    if diff.blocked:
        head = "⛔ " + head
    return head


def resource_details(diff: ResourceDiff) -> str:
    parts = [f"<details><summary>{_summary_line(diff)}</summary>", ""]
    parts.append(f"<code>{html.escape(diff.urn)}</code>")
    if diff.old_urn and diff.old_urn != diff.urn:
        parts.append(f"<br>was <code>{html.escape(diff.old_urn)}</code>")
    parts.append("")
    for reason in diff.reasons:
        parts.append(f"- replaced because {html.escape(reason)}")
    if diff.blocked:
        parts.append(f"- **blocked**: {html.escape(diff.blocked)}")
    if diff.changes:
        parts += ["", f"{_FENCE}diff"]
        for change in diff.changes:
            parts += change_lines(change)
        parts.append(_FENCE)
    parts += ["", "</details>", ""]
    return "\n".join(parts)


def _counts_table(plan_diff: PlanDiff) -> list[str]:
    rows = ["| Component | + add | ~ change | +- replace | - remove |", "|---|---:|---:|---:|---:|"]
    for component, counts in count_by_component(plan_diff.resources).items():
        cells = [str(counts[a]) if counts[a] else "" for a in ("add", "update", "replace", "delete")]
        rows.append(f"| {html.escape(component)} | " + " | ".join(cells) + " |")
    return rows


def _outputs_section(plan_diff: PlanDiff) -> list[str]:
    outputs = plan_diff.outputs
    if not outputs.changes:
        return []
    lines = ["", f"#### Stack outputs: {html.escape(outputs.advice())}", ""]
    lines += ["| Output | Change | Contract bump | Old | New |", "|---|---|---|---|---|"]
    for change in outputs.changes:
        old = "" if change.old is None and change.kind.endswith("added") else _value(change.old)
        new = "" if change.kind.endswith("removed") or change.kind == "secret" else _value(change.new)
        cells = [f"`{change.path}`", change.kind, change.bump, _cell(old), _cell(new)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _cell(text: str, limit: int = 60) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"<code>{html.escape(text)}</code>".replace("|", "&#124;") if text else ""


def render(plan_diff: PlanDiff, stack: str) -> str:
    """The whole comment."""
    totals = {a: len(plan_diff.of(a)) for a in ("add", "update", "replace", "delete")}
    lines = [f"### Plan review: `{stack}`", ""]
    if plan_diff.empty:
        lines.append("No changes: every resource and output is as on the base.")
        if plan_diff.moved:
            lines.append(f"({len(plan_diff.moved)} resources moved under declared aliases, nothing else.)")
        return "\n".join(lines) + "\n"
    verdict = ", ".join(f"**{n}** to {WORD[a]}" for a, n in totals.items())
    if plan_diff.moved:
        verdict += f"; {len(plan_diff.moved)} moved under declared aliases (no change)"
    lines.append(verdict)
    lines.append("")
    if plan_diff.blocked:
        lines += ["> [!CAUTION]", "> This change removes or replaces protected or data-holding resources:"]
        lines += [f"> - {html.escape(reason)}" for reason in plan_diff.blocked]
        lines.append("")
    if plan_diff.resources:
        lines += _counts_table(plan_diff)
    lines += _outputs_section(plan_diff)
    if plan_diff.resources:
        lines += ["", "#### Details", ""]
        spent, left_out = 0, 0
        order = sorted(plan_diff.resources, key=lambda d: (d.blocked is None, d.component, d.urn))
        for diff in order:
            block = resource_details(diff)
            if spent + len(block) > DETAIL_BUDGET:
                left_out += 1
                continue
            lines.append(block)
            spent += len(block)
        if left_out:
            lines.append(f"_{left_out} more resources left out to fit a comment; the JSON report lists them all._")
    return "\n".join(lines) + "\n"
