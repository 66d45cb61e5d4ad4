"""``python -m offline.diff BASE_DIR HEAD_DIR``: what a change does to a stack, from two offline plans.

``pulumi preview --diff`` needs the CLI and credentials; two ``build/<stack>/`` folders (``make plan``) do
not. Prints every resource added, removed, changed (property by property, secrets as ``[secret]``) or
replaced (and why), the stack outputs that change with the contract bump they need, and the reasons the
change is blocked. ``make diff STACK=prod BASE=<ref>`` plans ``<ref>`` in a temporary worktree and runs this.

Exit status: 0 the change may go ahead; 1 it removes or replaces a protected or data-holding resource
(the ``blocked`` list says which); 2 a plan folder cannot be read.

``--json [PATH]`` and ``--markdown [PATH]`` write the JSON report and a pull-request comment (to stdout when
no path is given; the text report then stays off stdout).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from offline import diff_markdown
from offline.plan_diff import PlanDiff, PlanError, ResourceDiff, count_by_component, diff_dirs
from offline.property_diff import short, short_pair

#: Property lines shown per resource in the text report (the JSON and the comment have them all).
TEXT_CHANGES_PER_RESOURCE = 12
_TEXT_SYMBOL = {"add": "+ ", "delete": "- ", "update": "~ ", "replace": "+-"}


def _resource_text(diff: ResourceDiff) -> list[str]:
    verb = {"add": "added", "delete": "removed", "update": "changed", "replace": "replaced"}[diff.action]
    lines = [f"  {_TEXT_SYMBOL[diff.action]} {diff.name}  [{diff.type}]  {verb}"]
    if diff.old_urn and diff.old_urn != diff.urn:
        lines.append(f"        was {diff.old_urn}")
    lines += [f"        because {reason}" for reason in diff.reasons]
    if diff.action in {"update", "replace"}:
        for change in diff.changes[:TEXT_CHANGES_PER_RESOURCE]:
            if change.kind == "add":
                lines.append(f"        {change.path}: + {short(change.new)}")
            elif change.kind == "delete":
                lines.append(f"        {change.path}: - {short(change.old)}")
            else:
                old, new = short_pair(change.old, change.new)
                lines.append(f"        {change.path}: {old} -> {new}")
        hidden = len(diff.changes) - TEXT_CHANGES_PER_RESOURCE
        if hidden > 0:
            lines.append(f"        ... {hidden} more property changes (see --json)")
    return lines


def render_text(plan_diff: PlanDiff, base_dir: Path, head_dir: Path) -> str:
    lines = [f"Plan diff {base_dir} -> {head_dir}"]
    by_component: dict[str, list[ResourceDiff]] = {}
    for diff in plan_diff.resources:
        by_component.setdefault(diff.component, []).append(diff)
    for component in count_by_component(plan_diff.resources):
        lines.append(f"{component}:")
        for diff in by_component[component]:
            lines += _resource_text(diff)
    if plan_diff.moved:
        lines.append(f"{len(plan_diff.moved)} resources moved under declared aliases (no change):")
        lines += [f"  {old} -> {new}" for old, new in plan_diff.moved]
    outputs = plan_diff.outputs
    if outputs.changes:
        lines.append(f"Stack outputs ({outputs.advice()}):")
        for change in outputs.changes:
            values = " -> ".join(short_pair(change.old, change.new)) if change.kind == "value" else ""
            lines.append(f"  {change.path}: {change.kind} [{change.bump}] {values}".rstrip())
    if plan_diff.blocked:
        lines.append("Blocked (exit 1): protected or data-holding resources removed or replaced:")
        lines += [f"  {reason}" for reason in plan_diff.blocked]
    counts = {a: len(plan_diff.of(a)) for a in ("add", "update", "replace", "delete")}
    summary = f"{counts['add']} to add, {counts['update']} to change, {counts['replace']} to replace, {counts['delete']} to remove"
    lines.append("No changes." if plan_diff.empty else f"{summary}; outputs: {outputs.advice()}")
    return "\n".join(lines) + "\n"


def _write(text: str, target: str) -> None:
    if target == "-":
        sys.stdout.write(text)
    else:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m offline.diff",
        description="Compare two offline plans (build/<stack>/ folders): added, removed, changed, replaced.",
        epilog="exit status: 0 ok, 1 a protected or data-holding resource is removed or replaced, 2 bad input",
    )
    parser.add_argument("base", type=Path, help="plan folder of the base (e.g. a plan of main)")
    parser.add_argument("head", type=Path, help="plan folder of the change (e.g. build/prod)")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH", help="write the JSON report (stdout: -)")
    parser.add_argument("--markdown", nargs="?", const="-", metavar="PATH", help="write a PR comment (stdout: -)")
    args = parser.parse_args(argv)
    if args.json == "-" and args.markdown == "-":
        parser.error("--json and --markdown cannot both go to stdout; give one of them a PATH")
    try:
        plan_diff = diff_dirs(args.base, args.head)
        stack = json.loads((args.head / "outputs.json").read_text()).get("stack") or args.head.name
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        _write(json.dumps(plan_diff.to_json(), indent=2) + "\n", args.json)
    if args.markdown:
        _write(diff_markdown.render(plan_diff, str(stack)), args.markdown)
    if "-" not in (args.json, args.markdown):
        sys.stdout.write(render_text(plan_diff, args.base, args.head))
    return plan_diff.exit_code


if __name__ == "__main__":
    sys.exit(main())
