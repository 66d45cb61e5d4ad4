"""``python -m offline.graph build/<stack>``: the stack drawn from its offline plan, as SVG (``make graph``).

Components are clusters (nested as they nest, each with a folder-shaped node naming it, which is where edges
to a component end); resources are nodes inside their component. Edges: the provider that manages a
resource (dashed, grey), explicit ``dependsOn`` (solid) and input references (``propertyDependencies``,
dotted blue). A parent is drawn as containment, not as an edge. Fill colour says the cloud (provider
package) and its shade the region (the explicit provider's ``region``/``location``, or the Kubernetes
context); a legend lists them. Protected resources have a double border, data-holding ones are cylinders.

Layout is graphviz ``dot`` (Debian package ``graphviz``); the DOT source is written beside the SVG.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from offline.plan_diff import STACK_TYPE, PlanError, load_plan
from offline.replacements import data_holding

#: Shades per cloud, first region first (colour-blind-safe hues; a cloud keeps its hue across regions).
PALETTE: dict[str, list[str]] = {
    "aws": ["#f5a623", "#ffd591", "#b87400", "#ffe9c7"],
    "azure-native": ["#4a90d9", "#a9cdf2", "#1f5c99"],
    "gcp": ["#34a853", "#a8dab5", "#1e6b34"],
    "kubernetes": ["#9b72cf", "#d3c0ec", "#5e3d8a"],
    "cloudflare": ["#f6d743", "#fbeaa0"],
    "random": ["#bfbfbf"],
}
OTHER = "#e0e0e0"
_REGION_KEYS = ("region", "location", "context")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def cloud_of(record: Mapping[str, Any]) -> str:
    token = str(record["type"])
    if token.startswith("pulumi:providers:"):
        return token.removeprefix("pulumi:providers:")
    return token.split(":", 1)[0]


def region_of_provider(provider: Mapping[str, Any]) -> str:
    inputs = provider.get("inputs") or {}
    for key in _REGION_KEYS:
        if inputs.get(key):
            return str(inputs[key])
    return "global"


class StackGraph:
    """The DOT document of one plan."""

    def __init__(self, resources: list[dict[str, Any]], stack: str) -> None:
        self.stack = stack
        self.records = {r["urn"]: r for r in resources if r["type"] != STACK_TYPE}
        self.types = {r["urn"]: r["type"] for r in resources}
        self.ids = {urn: f"n{i}" for i, urn in enumerate(sorted(self.records))}
        self.children: dict[str | None, list[str]] = defaultdict(list)
        for urn in sorted(self.records):
            parent = self.records[urn].get("parent")
            self.children[parent if parent in self.records else None].append(urn)
        self.colours = self._colours()

    def place(self, record: Mapping[str, Any]) -> tuple[str, str]:
        """(cloud, region) of a resource: its provider's, or its own for a provider."""
        if str(record["type"]).startswith("pulumi:providers:"):
            return cloud_of(record), region_of_provider(record)
        provider = self.records.get(record.get("provider") or "")
        region = region_of_provider(provider) if provider else "default provider"
        return cloud_of(record), region

    def _colours(self) -> dict[tuple[str, str], str]:
        places = sorted({self.place(r) for r in self.records.values() if r.get("custom")})
        colours: dict[tuple[str, str], str] = {}
        for cloud, region in places:
            shades = PALETTE.get(cloud, [OTHER])
            used = sum(1 for c, _ in colours if c == cloud)
            colours[(cloud, region)] = shades[used % len(shades)]
        return colours

    def components(self) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if not r.get("custom")]

    def _node(self, urn: str) -> str:
        record = self.records[urn]
        if not record.get("custom"):
            label = f"{record['name']}\n{record['type']}"
            return f"{self.ids[urn]} [label={_quote(label)}, shape=folder, style=filled, fillcolor=white];"
        module_kind = str(record["type"]).split(":", 1)[-1].replace(":", " ")
        label = f"{record['name']}\n{module_kind}"
        attrs = [f"label={_quote(label)}", "style=filled", f"fillcolor={_quote(self.colours[self.place(record)])}"]
        if data_holding(record, self.types):
            attrs.append("shape=cylinder")
        if (record.get("options") or {}).get("protect"):
            attrs.append("peripheries=2")
        attrs.append(f"tooltip={_quote(urn)}")
        return f"{self.ids[urn]} [{', '.join(attrs)}];"

    def _cluster(self, urn: str, indent: str) -> list[str]:
        record = self.records[urn]
        lines = [
            f"{indent}subgraph cluster_{self.ids[urn]} {{",
            f'{indent}  label={_quote(record["name"])}; style=rounded; color="#888888";',
            f"{indent}  {self._node(urn)}",
        ]
        for child in self.children.get(urn, []):
            if self.records[child].get("custom") and not self.children.get(child):
                lines.append(f"{indent}  {self._node(child)}")
            else:
                lines += self._cluster(child, indent + "  ")
        lines.append(f"{indent}}}")
        return lines

    def _edges(self) -> list[str]:
        lines: list[str] = []
        for urn, record in sorted(self.records.items()):
            me = self.ids[urn]
            provider = record.get("provider")
            if provider in self.ids:
                lines.append(f'{me} -> {self.ids[provider]} [style=dashed, color="#999999", constraint=false];')
            explicit = set((record.get("options") or {}).get("dependsOn") or [])
            for target in sorted(explicit):
                if target in self.ids:
                    lines.append(f"{me} -> {self.ids[target]};")
            referenced = {u for urns in (record.get("propertyDependencies") or {}).values() for u in urns}
            for target in sorted(referenced - explicit):
                if target in self.ids:
                    lines.append(f'{me} -> {self.ids[target]} [style=dotted, color="#1f5c99"];')
        return lines

    def _legend(self) -> list[str]:
        lines = ["subgraph cluster_legend {", '  label="cloud / region"; style=rounded;']
        for i, ((cloud, region), colour) in enumerate(sorted(self.colours.items())):
            lines.append(
                f"  legend{i} [label={_quote(f'{cloud}: {region}')}, style=filled, fillcolor={_quote(colour)}];"
            )
        lines.append("}")
        return lines

    def dot(self) -> str:
        lines = [
            f"digraph {_quote(self.stack)} {{",
            "  graph [rankdir=LR, fontname=Helvetica, compound=true, newrank=true, ranksep=1.2];",
            "  node [shape=box, fontname=Helvetica, fontsize=10];",
            "  edge [arrowsize=0.6];",
            f"  label={_quote(f'stack {self.stack}: components as clusters; dashed: provider, solid: dependsOn, dotted: input reference')};",
        ]
        for urn in self.children.get(None, []):
            if self.records[urn].get("custom") and not self.children.get(urn):
                lines.append("  " + self._node(urn))
            else:
                lines += self._cluster(urn, "  ")
        lines += ["  " + line for line in self._legend()]
        lines += ["  " + line for line in self._edges()]
        lines.append("}")
        return "\n".join(lines) + "\n"


def render_svg(dot_source: str, svg_path: Path) -> None:
    """Lay out ``dot_source`` with graphviz into ``svg_path``."""
    dot = shutil.which("dot")
    if dot is None:
        raise PlanError("graphviz `dot` is not installed (Debian package graphviz; `make deps` installs it)")
    done = subprocess.run(
        [dot, "-Tsvg", "-o", str(svg_path)], input=dot_source, text=True, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise PlanError(f"dot failed: {done.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.graph", description="Draw a stack's offline plan.")
    parser.add_argument("plan", type=Path, help="plan folder (build/<stack>/)")
    parser.add_argument("--out", type=Path, help="SVG path (default: <plan>/graph.svg)")
    args = parser.parse_args(argv)
    try:
        plan = load_plan(args.plan)
        stack = str(plan.outputs.get("stack") or args.plan.name)
        source = StackGraph(plan.resources, stack).dot()
        svg = args.out or args.plan / "graph.svg"
        svg.parent.mkdir(parents=True, exist_ok=True)
        svg.with_suffix(".dot").write_text(source)
        render_svg(source, svg)
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {svg} ({len(plan.resources)} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
