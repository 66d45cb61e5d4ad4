"""Benchmark: wall time of the prod plan vs importing the same provider SDK modules (the floor).

Both are measured in fresh interpreters in the same run, alternating, several times; medians are
compared. The plan is timed as `make plan` runs it (the CLI), which exits with os._exit after flushing
its files (interpreter teardown of the SDK modules costs ~1 s and serves nothing); the floor is reported
both with a normal exit (the target's reference) and without teardown (the stricter comparison). The floor imports exactly the provider modules the plan ended up loading, so the ratio shows
what the program itself costs on top of the SDK imports it cannot avoid. Target: plan <= 1.3x floor.
Writes build/bench/plan.json.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "build" / "bench" / "plan.json"
PROVIDER_PREFIXES = (
    "pulumi_aws",
    "pulumi_kubernetes",
    "pulumi_cloudflare",
    "pulumi_azure_native",
    "pulumi_gcp",
    "pulumi_random",
)
ROUNDS = 3
TARGET_RATIO = 1.3

PLAN_SCRIPT = """
import json, sys
sys.path.insert(0, {repo!r})
from offline.plan import plan
from pathlib import Path
plan({stack!r}, Path({out!r}), quiet=True)
mods = sorted(m for m in sys.modules if m.split(".")[0] in {prefixes!r})
Path({modules!r}).write_text(json.dumps(mods))
"""

FLOOR_SCRIPT = """
import importlib, json
for name in json.load(open({modules!r})):
    importlib.import_module(name)
"""

#: The floor without interpreter teardown, like the plan CLI (which exits with os._exit after flushing).
FLOOR_NO_TEARDOWN_SCRIPT = FLOOR_SCRIPT + "import os; os._exit(0)\n"


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        modules = str(Path(scratch) / "modules.json")
        plan_code = PLAN_SCRIPT.format(
            repo=str(REPO), stack="prod", out=str(Path(scratch) / "build"), prefixes=PROVIDER_PREFIXES, modules=modules
        )
        _timed(["-c", plan_code])  # warm the OS file cache and write the module list
        floor_argv = ["-c", FLOOR_SCRIPT.format(modules=modules)]
        # What `make plan STACK=prod` runs (the CLI), into a scratch directory.
        plan_argv = ["-m", "offline.plan", "--stack", "prod", "--quiet", "--out", str(Path(scratch) / "cli")]
        bare_floor_argv = ["-c", FLOOR_NO_TEARDOWN_SCRIPT.format(modules=modules)]
        plan_times, floor_times, bare_floor_times = [], [], []
        for _ in range(ROUNDS):
            floor_times.append(_timed(floor_argv))
            bare_floor_times.append(_timed(bare_floor_argv))
            plan_times.append(_timed(plan_argv))
        module_count = len(json.loads(Path(modules).read_text()))
    plan_s, floor_s = statistics.median(plan_times), statistics.median(floor_times)
    bare_floor_s = statistics.median(bare_floor_times)
    ratio = plan_s / floor_s
    result = {
        "benchmark": "prod plan vs provider SDK import floor",
        "rounds": ROUNDS,
        "plan_seconds": [round(t, 3) for t in plan_times],
        "floor_seconds": [round(t, 3) for t in floor_times],
        "plan_median_seconds": round(plan_s, 3),
        "floor_median_seconds": round(floor_s, 3),
        "floor_without_teardown_seconds": [round(t, 3) for t in bare_floor_times],
        "floor_without_teardown_median_seconds": round(bare_floor_s, 3),
        "ratio_vs_floor_without_teardown": round(plan_s / bare_floor_s, 3),
        "provider_modules_imported": module_count,
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"plan {plan_s:.2f}s vs SDK-import floor {floor_s:.2f}s ({module_count} modules): {ratio:.2f}x "
        f"(target <= {TARGET_RATIO}x); vs the floor without interpreter teardown {bare_floor_s:.2f}s: "
        f"{plan_s / bare_floor_s:.2f}x -> {OUT}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
