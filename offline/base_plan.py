"""``python -m offline.base_plan --ref REF --stack S --out DIR``: the offline plan of a git ref, for ``make diff``.

The ref is checked out in a temporary ``git worktree`` under ``build/`` (detached, so no branch moves) and
planned there with this project's interpreter, which runs the ref's own program, stack file and
``offline.plan``: the comparison is between what the ref would deploy and what the working tree would. The
worktree is removed afterwards, also when the plan fails. A ref whose plan fails (a broken stack file then)
stops with its error and exit 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class BasePlanError(Exception):
    pass


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BasePlanError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def plan_ref(ref: str, stack: str, out_root: Path, scratch: Path = ROOT / "build") -> Path:
    """Plan ``stack`` as of ``ref`` into ``out_root/<stack>/``; returns that folder."""
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except BasePlanError:
        raise BasePlanError(f"{ref!r} is not a commit of this repository (BASE= takes a branch, tag or sha)") from None
    scratch.mkdir(parents=True, exist_ok=True)
    worktree = Path(tempfile.mkdtemp(prefix="diff-base-", dir=scratch))
    worktree.rmdir()  # git worktree add wants to create it
    out_root = out_root.resolve()
    try:
        _git("worktree", "add", "--detach", "--quiet", str(worktree), commit)
        if not (worktree / f"Pulumi.{stack}.yaml").is_file():
            raise BasePlanError(f"{ref} has no Pulumi.{stack}.yaml (stack {stack!r} does not exist there)")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run(
            [sys.executable, "-m", "offline.plan", "--stack", stack, "--out", str(out_root), "--quiet"],
            cwd=worktree,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BasePlanError(f"planning {stack} at {ref} ({commit[:12]}) failed:\n{done.stderr.strip()}")
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, capture_output=True, check=False
        )
        shutil.rmtree(worktree, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True, check=False)
    return out_root / stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m offline.base_plan", description="Plan a git ref in a temporary worktree."
    )
    parser.add_argument("--ref", default="HEAD", help="git ref to plan (default: HEAD)")
    parser.add_argument("--stack", default="staging", help="stack name (default: staging)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "diff-base", help="output root")
    args = parser.parse_args(argv)
    try:
        folder = plan_ref(args.ref, args.stack, args.out)
    except BasePlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"planned {args.stack} at {args.ref} -> {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
