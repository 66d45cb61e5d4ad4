"""``make plan``: run the program offline for a stack and write ``build/<stack>/``.

Writes ``resources.json`` (every registration, engine-shaped), ``manifests/*.yaml`` (every Kubernetes
object as ``kubectl apply`` would get it) and ``outputs.json`` (stack outputs, secrets redacted), then prints
a tree of components and resources with counts per provider. A broken stack config stops it with one line
per problem and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from components.platform.config import ConfigError, load_stack_file, read_stack_file
from offline.engine import PlanResult, ResourceRecord, run_program

ROOT = Path(__file__).resolve().parent.parent
#: libyaml's emitter when available (10x faster; same output as SafeDumper).
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def manifest_of(record: ResourceRecord) -> dict[str, Any] | None:
    """The Kubernetes object a kubernetes:* registration declares (None for providers and non-k8s)."""
    if not record.custom or not record.type.startswith("kubernetes:"):
        return None
    inputs = dict(record.inputs)
    if "apiVersion" not in inputs or "kind" not in inputs:
        return None
    ordered = {"apiVersion": inputs.pop("apiVersion"), "kind": inputs.pop("kind")}
    if "metadata" in inputs:
        ordered["metadata"] = inputs.pop("metadata")
    ordered.update(inputs)
    return ordered


def _manifest_filename(manifest: dict[str, Any], used: set[str]) -> str:
    meta = manifest.get("metadata") or {}
    parts = [str(manifest["kind"]).lower(), str(meta.get("namespace") or "cluster"), str(meta.get("name") or "unnamed")]
    base = "-".join(parts)
    name, n = f"{base}.yaml", 2
    while name in used:
        name, n = f"{base}-{n}.yaml", n + 1
    used.add(name)
    return name


def write_plan(result: PlanResult, out_dir: Path) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "manifests").mkdir(parents=True)
    records = sorted(result.resources, key=lambda r: r.urn)
    (out_dir / "resources.json").write_text(
        json.dumps([r.to_json() for r in records], indent=2, sort_keys=False) + "\n"
    )
    outputs = {"stack": result.stack, "outputs": result.outputs, "secretOutputs": result.secret_outputs}
    (out_dir / "outputs.json").write_text(json.dumps(outputs, indent=2) + "\n")
    used: dict[Path, set[str]] = defaultdict(set)
    for record in records:
        manifest = manifest_of(record)
        if manifest is not None:
            folder = out_dir / "manifests" / cluster_folder(record)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / _manifest_filename(manifest, used[folder])
            path.write_text(yaml.dump(manifest, Dumper=_DUMPER, sort_keys=False, width=120))


#: The stack's own cluster: its objects are written at the top of ``manifests/``.
PRIMARY_KUBERNETES_PROVIDER = "kubernetes"


def cluster_folder(record: ResourceRecord) -> str:
    """``""`` for the stack's cluster, else the Kubernetes provider's name (``kubernetes-dr``).

    A second cluster (the DR region's) declares objects with the same kinds, namespaces and names as the first;
    one folder per cluster keeps each folder exactly what ``kubectl apply -f`` gets on that cluster.
    """
    provider = (record.provider or "").split("::")[-1]
    return "" if provider in ("", PRIMARY_KUBERNETES_PROVIDER) else provider


def provider_package(record: ResourceRecord) -> str:
    return record.type.split(":", 1)[0]


def render_tree(result: PlanResult) -> str:
    records = sorted(result.resources, key=lambda r: r.urn)
    children: dict[str | None, list[ResourceRecord]] = defaultdict(list)
    for record in records:
        children[record.parent].append(record)
    lines: list[str] = []

    def walk(record: ResourceRecord, prefix: str, last: bool) -> None:
        branch = "└─ " if last else "├─ "
        lines.append(f"{prefix}{branch}{record.name}  [{record.type}]")
        kids = children.get(record.urn, [])
        for i, kid in enumerate(kids):
            walk(kid, prefix + ("   " if last else "│  "), i == len(kids) - 1)

    roots = [r for r in records if r.type == "pulumi:pulumi:Stack"]
    for root in roots:
        lines.append(f"{root.name}  [{root.type}]")
        kids = children.get(root.urn, [])
        for i, kid in enumerate(kids):
            walk(kid, "", i == len(kids) - 1)
    custom = [r for r in records if r.custom and not r.type.startswith("pulumi:providers:")]
    counts = Counter(provider_package(r) for r in custom)
    components = sum(1 for r in records if not r.custom and r.type != "pulumi:pulumi:Stack")
    summary = ", ".join(f"{pkg} {n}" for pkg, n in sorted(counts.items()))
    lines.append(f"{len(custom)} resources in {components} components ({summary})")
    return "\n".join(lines)


def plan(stack: str, out_root: Path, quiet: bool = False) -> PlanResult:
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    load_stack_file(stack_file)  # validate first: config errors never reach the engine
    result = run_program(stack, read_stack_file(stack_file), ROOT / "__main__.py")
    write_plan(result, out_root / stack)
    if not quiet:
        print(render_tree(result))
        print(f"wrote {out_root / stack}/resources.json, manifests/, outputs.json")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m offline.plan", description="Run the program offline and write build/<stack>/."
    )
    parser.add_argument("--stack", default="staging", help="stack name: reads Pulumi.<stack>.yaml (default: staging)")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output root (default: build/)")
    parser.add_argument("--quiet", action="store_true", help="do not print the resource tree")
    args = parser.parse_args(argv)
    try:
        plan(args.stack, args.out, quiet=args.quiet)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a RunError raised by the program carries its own message
        import pulumi

        if isinstance(error, pulumi.RunError):
            print(f"error: {error}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written and flushed. Skip interpreter teardown: unloading ~2,300 provider SDK modules and
    # joining the SDK's executor threads takes ~1 s (a fifth of the plan) and would only print asyncio noise.
    os._exit(status)
