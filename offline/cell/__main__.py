"""``python -m offline.cell --stack prod``: run the observability cell on the plan ``make plan`` wrote."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from .plan import from_build_dir
from .scenario import run, write

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.cell", description=__doc__)
    parser.add_argument("--stack", default="staging", help="stack whose plan to run (build/<stack>/)")
    parser.add_argument("--plan-root", type=Path, default=ROOT / "build", help="where make plan wrote the plans")
    parser.add_argument("--out", type=Path, help="report path (default: build/cell/<stack>.json)")
    args = parser.parse_args(argv)
    try:
        plan = from_build_dir(args.stack, args.plan_root / args.stack)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix=f"cell-{args.stack}-"))
    try:
        report = run(plan, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = args.out or ROOT / "build" / "cell" / f"{args.stack}.json"
    write(report, out)
    print(json.dumps({k: v for k, v in report.items() if k not in ("faults", "monitors")}, indent=2))
    for fault in report["faults"]:
        alerts = ", ".join(f"{e['alert']}: {'ok' if e['ok'] else 'NOT OK'}" for e in fault["expected"]) or fault["gap"]
        if not alerts:
            alerts = f"no alert expected; observed {json.dumps(fault['observed'])}"
        print(f"fault {fault['name']}: {alerts}")
    print(f"wrote {out}")
    return 0 if not report["series"]["missing"] and report["faults_delivered"] else 1


if __name__ == "__main__":
    sys.exit(main())
