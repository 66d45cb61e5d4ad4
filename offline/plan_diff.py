"""Compare two offline plans (``build/<stack>/`` folders) the way ``pulumi preview --diff`` would.

Resources are matched by URN, then by the URNs they declare as aliases (``options.aliases``) and the URNs
they inherit from an aliased parent (the engine does the same), then by Kubernetes API-version moves the
provider SDK aliases itself. What stays unmatched is:

- a *URN change without an alias* when a removed and an added resource have the same type and either the
  same name (moved to another parent) or the same parent (renamed, one of that type on each side): Pulumi
  deletes the old one and creates the new one, so it is reported as replaced;
- otherwise added or removed.

A matched pair is *changed* when its inputs or resource options differ and *replaced* when a changed input
cannot be updated in place (:mod:`offline.replacements`), its provider is another one, or its provider is
itself replaced. Resource references are compared through the matching, so a provider moved with an alias
does not make every resource it manages look changed.

A change is *blocked* when it removes or replaces a protected or data-holding resource.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.outputs_diff import OutputsDiff, contract_schema, diff_outputs
from offline.property_diff import PropertyChange, diff_values, input_path
from offline.replacements import data_holding, kubernetes_key, replacing_paths, rules_for

STACK_TYPE = "pulumi:pulumi:Stack"
ROOT_COMPONENT_TYPE = "platform:index:Platform"
#: Resource options whose change is an update of the resource's state (shown as ``options.<name>``).
_STATE_OPTIONS = ("protect", "retainOnDelete", "deleteBeforeReplace", "ignoreChanges")

Record = dict[str, Any]


class PlanError(Exception):
    """A plan folder that cannot be read (the message names the file and what is wrong)."""


@dataclass(frozen=True)
class Plan:
    """The files of one ``build/<stack>/`` folder."""

    directory: Path
    resources: list[Record]
    outputs: dict[str, Any]

    @property
    def by_urn(self) -> dict[str, Record]:
        return {r["urn"]: r for r in self.resources}


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise PlanError(f"{path}: no such file (write the plan with `make plan STACK=<stack>`)")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise PlanError(f"{path}: not valid JSON ({error})") from error


def load_plan(directory: Path) -> Plan:
    """Read ``resources.json`` and ``outputs.json`` of a plan folder, checking their shape."""
    if not directory.is_dir():
        raise PlanError(f"{directory}: not a directory (expected a plan folder such as build/prod/)")
    resources = _read_json(directory / "resources.json")
    if not isinstance(resources, list):
        raise PlanError(f"{directory / 'resources.json'}: expected a list of resources, got {type(resources).__name__}")
    for index, record in enumerate(resources):
        missing = [k for k in ("urn", "type", "name") if not isinstance(record, Mapping) or k not in record]
        if missing:
            raise PlanError(f"{directory / 'resources.json'}: resource [{index}] lacks {', '.join(missing)}")
    outputs = _read_json(directory / "outputs.json")
    if not isinstance(outputs, Mapping) or not isinstance(outputs.get("outputs", {}), Mapping):
        raise PlanError(f"{directory / 'outputs.json'}: expected an object with an 'outputs' object")
    return Plan(directory, resources, dict(outputs))


@dataclass
class ResourceDiff:
    """What happens to one resource."""

    urn: str
    type: str
    name: str
    component: str
    action: str  # "add" | "delete" | "update" | "replace"
    old_urn: str | None = None
    changes: list[PropertyChange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    blocked: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "component": self.component,
            "action": self.action,
        }
        if self.old_urn and self.old_urn != self.urn:
            out["old_urn"] = self.old_urn
        if self.changes:
            out["changes"] = [c.to_json() for c in self.changes]
        if self.reasons:
            out["reasons"] = self.reasons
        if self.blocked:
            out["blocked"] = self.blocked
        return out


@dataclass
class PlanDiff:
    resources: list[ResourceDiff]
    outputs: OutputsDiff
    #: Resources whose URN changed under a declared (or inherited) alias: (old URN, new URN), no change.
    moved: list[tuple[str, str]] = field(default_factory=list)

    def of(self, action: str) -> list[ResourceDiff]:
        return [r for r in self.resources if r.action == action]

    @property
    def blocked(self) -> list[str]:
        return [r.blocked for r in self.resources if r.blocked]

    @property
    def empty(self) -> bool:
        return not self.resources and not self.outputs.changes

    @property
    def exit_code(self) -> int:
        return 1 if self.blocked else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "added": [r.urn for r in self.of("add")],
            "removed": [r.urn for r in self.of("delete")],
            "changed": [r.urn for r in self.of("update")],
            "replaced": [r.urn for r in self.of("replace")],
            "blocked": self.blocked,
            "moved": [{"from": old, "to": new} for old, new in self.moved],
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs.to_json(),
        }


# --- identity ------------------------------------------------------------------------------------------------


def qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def urn_under(parent_urn: str | None, type_token: str, name: str, template: str) -> str:
    """The URN a resource of ``type_token``/``name`` gets under ``parent_urn`` (stack and project of ``template``)."""
    stack_project = "::".join(template.split("::")[:2])
    qualified = type_token
    if parent_urn:
        parent_type = qualified_type(parent_urn)
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_token}"
    return f"{stack_project}::{qualified}::{name}"


def _sdk_equivalent(old_type: str, new_type: str) -> bool:
    """Type tokens the provider SDK aliases itself (Kubernetes API versions; the S3 Bucket/BucketV2 pair)."""
    if old_type == new_type:
        return True
    old_key, new_key = kubernetes_key(old_type), kubernetes_key(new_type)
    if old_key is not None and old_key == new_key:
        return True
    buckets = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
    return old_type in buckets and new_type in buckets


class _Matcher:
    """Pairs each head resource with the base resource it continues (head URN -> base URN)."""

    def __init__(self, base: Plan, head: Plan) -> None:
        self.base, self.head = base.by_urn, head.by_urn
        self.pairs: dict[str, str] = {}
        self.renamed: set[str] = set()  # head URNs paired by a URN change without an alias
        self._candidates: dict[str, list[str]] = {}

    def old_urns(self, urn: str) -> list[str]:
        """The URNs a head resource may have had: its own, its aliases, and its URN under each old parent URN."""
        if urn in self._candidates:
            return self._candidates[urn]
        record = self.head[urn]
        found = [urn, *record.get("options", {}).get("aliases", [])]
        parent = record.get("parent")
        if parent and parent in self.head:
            found += [urn_under(p, record["type"], record["name"], urn) for p in self.old_urns(parent) if p != parent]
        self._candidates[urn] = list(dict.fromkeys(found))
        return self._candidates[urn]

    def match(self) -> None:
        claimed: set[str] = set()
        for urn in sorted(self.head, key=lambda u: u.count("$")):  # parents before children
            for candidate in self.old_urns(urn):
                if candidate in self.base and candidate not in claimed:
                    self.pairs[urn] = candidate
                    claimed.add(candidate)
                    break
        self._pair_leftovers(claimed, same_name=True)
        self._pair_leftovers(claimed, same_name=False)

    def mapped_parent(self, head_record: Record) -> str | None:
        parent = head_record.get("parent")
        return self.pairs.get(parent, parent) if parent else None

    def _pair_leftovers(self, claimed: set[str], *, same_name: bool) -> None:
        heads = [u for u in self.head if u not in self.pairs and self.head[u]["type"] != STACK_TYPE]
        bases = [u for u in self.base if u not in claimed and self.base[u]["type"] != STACK_TYPE]
        for urn in sorted(heads, key=lambda u: (u.count("$"), u)):  # parents first
            record = self.head[urn]
            parent = self.mapped_parent(record)
            if same_name:
                options = [
                    b
                    for b in bases
                    if b not in claimed
                    and self.base[b]["name"] == record["name"]
                    and _sdk_equivalent(self.base[b]["type"], record["type"])
                ]
            else:
                options = [
                    b
                    for b in bases
                    if b not in claimed
                    and self.base[b]["type"] == record["type"]
                    and self.base[b].get("parent") == parent
                ]
                rivals = [h for h in heads if h not in self.pairs and self.head[h]["type"] == record["type"]]
                rivals = [h for h in rivals if self.mapped_parent(self.head[h]) == parent]
                if len(options) != 1 or len(rivals) != 1:
                    continue
            if not options:
                continue
            old = options[0]
            self.pairs[urn] = old
            claimed.add(old)
            old_record = self.base[old]
            sdk_move = same_name and old_record.get("parent") == parent and old_record["type"] != record["type"]
            if not sdk_move:
                self.renamed.add(urn)


def _translate(value: Any, urns: Mapping[str, str]) -> Any:
    """``value`` with every head URN string replaced by the base URN it continues."""
    if isinstance(value, str):
        return urns.get(value, value)
    if isinstance(value, Mapping):
        return {k: _translate(v, urns) for k, v in value.items()}
    if isinstance(value, list):
        return [_translate(v, urns) for v in value]
    return value


# --- comparison ----------------------------------------------------------------------------------------------


def component_of(urn: str, records: Mapping[str, Record]) -> str:
    """The top-level component a resource belongs to (the child of the Platform root it sits under)."""
    chain: list[Record] = []
    current: Record | None = records.get(urn)
    while current is not None:
        chain.append(current)
        parent = current.get("parent")
        current = records.get(parent) if parent else None
    for index, record in enumerate(chain):
        if record["type"] == ROOT_COMPONENT_TYPE:
            return chain[index - 1]["name"] if index > 0 and not chain[index - 1].get("custom") else "platform"
    return "stack"


def _option_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[PropertyChange]:
    changes: list[PropertyChange] = []
    for name in _STATE_OPTIONS:
        if old.get(name) != new.get(name):
            changes.append(PropertyChange(f"options.{name}", "update", old.get(name), new.get(name)))
    return changes


def _cut(paths: list[str], limit: int = 3) -> str:
    unique = list(dict.fromkeys(paths))
    shown = ", ".join(unique[:limit])
    return shown + (f" and {len(unique) - limit} more" if len(unique) > limit else "")


class _Comparer:
    def __init__(self, base: Plan, head: Plan) -> None:
        self.base, self.head = base, head
        self.base_urns, self.head_urns = base.by_urn, head.by_urn
        self.base_types = {u: r["type"] for u, r in self.base_urns.items()}
        self.head_types = {u: r["type"] for u, r in self.head_urns.items()}
        self.matcher = _Matcher(base, head)
        self.matcher.match()
        self.replaced_providers: dict[str, str] = {}  # base provider URN -> why it is replaced

    def blocked_reason(self, action: str, record: Record, types: Mapping[str, str], why: str = "") -> str | None:
        verb = "removed" if action == "delete" else "replaced"
        options = record.get("options") or {}
        if action == "delete" and options.get("retainOnDelete") and not options.get("protect"):
            return None  # Pulumi forgets it; the cloud resource and its data stay
        holds = data_holding(record, types)
        protected = bool(options.get("protect"))
        if not holds and not protected:
            return None
        what = " and ".join(x for x in ("protected" if protected else "", f"holds data: {holds}" if holds else "") if x)
        detail = f" ({why})" if why else ""
        return f"{record['urn']}: {verb}{detail}; {what}"

    def pair_diff(self, head_urn: str, base_urn: str) -> ResourceDiff:
        new, old = self.head_urns[head_urn], self.base_urns[base_urn]
        translated = _translate(new.get("inputs") or {}, self.matcher.pairs)
        changes = diff_values(old.get("inputs") or {}, translated)
        changes += _option_changes(old.get("options") or {}, new.get("options") or {})
        reasons: list[str] = []
        if head_urn in self.matcher.renamed:
            reasons.append("URN changed without an alias")
        input_paths = [input_path(c.path) for c in changes if not c.path.startswith("options.")]
        for rule in rules_for(old["type"], old.get("inputs") or {}):
            paths = replacing_paths(rule, input_paths)
            if paths:
                reasons.append(f"{_cut(paths)} cannot change in place ({rule.source})")
        old_provider = old.get("provider")
        new_provider = self.matcher.pairs.get(new.get("provider") or "", new.get("provider"))
        if old_provider and new_provider and old_provider != new_provider:
            reasons.append(
                f"provider changed from {old_provider.rsplit('::', 1)[-1]} to {str(new_provider).rsplit('::', 1)[-1]}"
            )
            changes.append(PropertyChange("provider", "update", old_provider, new.get("provider")))
        elif old_provider in self.replaced_providers:
            reasons.append(f"its provider {self.replaced_providers[old_provider]} is replaced")
        action = "replace" if reasons else ("update" if changes else "")
        diff = ResourceDiff(head_urn, new["type"], new["name"], component_of(head_urn, self.head_urns), action)
        diff.old_urn, diff.changes, diff.reasons = base_urn, changes, reasons
        if action == "replace":
            why = "; ".join(reasons)
            diff.blocked = self.blocked_reason("replace", old, self.base_types, why) or self.blocked_reason(
                "replace", new, self.head_types, why
            )
            if new["type"].startswith("pulumi:providers:"):
                self.replaced_providers[base_urn] = new["name"]
        return diff

    def compare(self) -> PlanDiff:
        pairs = self.matcher.pairs
        diffs: list[ResourceDiff] = []
        moved: list[tuple[str, str]] = []
        # Providers first: a replaced provider replaces what it manages.
        order = sorted(pairs, key=lambda u: (not self.head_types[u].startswith("pulumi:providers:"), u))
        for head_urn in order:
            if self.head_types[head_urn] == STACK_TYPE:
                continue
            diff = self.pair_diff(head_urn, pairs[head_urn])
            if diff.action:
                diffs.append(diff)
            elif pairs[head_urn] != head_urn:
                moved.append((pairs[head_urn], head_urn))
        for urn in sorted(set(self.head_urns) - set(pairs)):
            record = self.head_urns[urn]
            if record["type"] != STACK_TYPE:
                added = ResourceDiff(urn, record["type"], record["name"], component_of(urn, self.head_urns), "add")
                added.changes = diff_values({}, record.get("inputs") or {})
                diffs.append(added)
        for urn in sorted(set(self.base_urns) - set(pairs.values())):
            record = self.base_urns[urn]
            if record["type"] != STACK_TYPE:
                removed = ResourceDiff(urn, record["type"], record["name"], component_of(urn, self.base_urns), "delete")
                removed.changes = diff_values(record.get("inputs") or {}, {})
                removed.blocked = self.blocked_reason("delete", record, self.base_types)
                diffs.append(removed)
        diffs.sort(key=lambda d: (d.component, d.urn))
        schema = contract_schema(self.head.outputs)
        return PlanDiff(diffs, diff_outputs(self.base.outputs, self.head.outputs, schema), sorted(moved))


def diff_plans(base: Plan, head: Plan) -> PlanDiff:
    """Everything the head plan changes relative to the base plan (both of the same stack)."""
    stacks = (base.outputs.get("stack"), head.outputs.get("stack"))
    if None not in stacks and stacks[0] != stacks[1]:
        raise PlanError(
            f"{base.directory} plans stack {stacks[0]!r} and {head.directory} plans {stacks[1]!r}: "
            "compare two plans of the same stack"
        )
    return _Comparer(base, head).compare()


def diff_dirs(base_dir: Path, head_dir: Path) -> PlanDiff:
    return diff_plans(load_plan(base_dir), load_plan(head_dir))


def count_by_component(diffs: Iterable[ResourceDiff]) -> dict[str, dict[str, int]]:
    """component -> action -> count, components sorted by name."""
    counts: dict[str, dict[str, int]] = {}
    for diff in diffs:
        row = counts.setdefault(diff.component, {"add": 0, "delete": 0, "update": 0, "replace": 0})
        row[diff.action] += 1
    return dict(sorted(counts.items()))
