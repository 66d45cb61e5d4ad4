"""Every image the plans deploy is accounted for, and every image built here starts.

No container runtime exists here, so the images are not built. What is checked instead: each
``functions/<package>/Dockerfile`` is parsed (stages, ``ENTRYPOINT``/``CMD`` in exec form, ``pip install``
pins); the final command of each stage that sets one, and every command line the plans give that image, are
run with ``--help`` on the repository's Python with the image's ``PYTHONPATH`` layout (the package under
``functions/``) and must exit 0; the Dockerfiles pin the versions ``requirements.txt`` pins; and every image
reference of both plans has a row in the image table of ``functions/README.md`` whose Dockerfile and target
exist.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.plans import REPO, STACKS, manifests, plan_of

FUNCTIONS = REPO / "functions"
DOCKERFILES = sorted(FUNCTIONS.glob("*/Dockerfile"))
README = FUNCTIONS / "README.md"
_PIN = re.compile(r"""["']?([A-Za-z0-9_.-]+)(?:\[[a-z,]+\])?==([0-9][A-Za-z0-9.+-]*)["']?""")


@dataclass
class Stage:
    name: str
    base: str
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    text: list[str] = field(default_factory=list)


def parse_dockerfile(path: Path) -> list[Stage]:
    """Stages in order, with their exec-form ENTRYPOINT/CMD (later instructions win, as in Docker)."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name, base=words[0]))
        elif stages and instruction in ("ENTRYPOINT", "CMD"):
            value = json.loads(rest)  # exec form only: a shell form would hide the real argv
            assert isinstance(value, list), f"{path}: {instruction} must use the exec (JSON) form"
            setattr(stages[-1], instruction.lower(), value)
        if stages:
            stages[-1].text.append(line)
    return stages


def _run_help(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as the image would, with this repository as the image's /opt/<pkg>/app."""
    assert argv[0] == "python", f"{argv}: the images run their packages through python"
    return subprocess.run(
        [sys.executable, *argv[1:]], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def _subcommand_help(argv: list[str]) -> list[str]:
    """The command line up to its first option (program and subcommand), then ``--help``."""
    head: list[str] = []
    for word in argv:
        if word.startswith("--"):
            break
        head.append(word)
    return [*head, "--help"]


def _plan_containers() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("image"), str) and isinstance(value.get("name"), str):
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for stack in STACKS:
        for manifest in manifests(plan_of(stack)):
            walk(manifest)
    return found


def image_table() -> dict[str, str]:
    """image reference -> the README row's "built from" cell."""
    rows: dict[str, str] = {}
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        for image in re.findall(r"`([^`]+)`", cells[0]):
            rows[image] = cells[1]
    return rows


def _built_here(cell: str) -> tuple[Path, str | None] | None:
    match = re.match(r"`(functions/[a-z_]+/Dockerfile)`(?: target `([a-z0-9-]+)`)?", cell)
    return (REPO / match[1], match[2]) if match else None


def test_there_are_dockerfiles_for_the_functions_the_stack_runs() -> None:
    packages = {path.parent.name for path in DOCKERFILES}
    assert {"backup", "optimizer", "predictive_scaler", "dr"} <= packages, packages


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=[p.parent.name for p in DOCKERFILES])
def test_each_stage_command_runs(dockerfile: Path) -> None:
    stages = parse_dockerfile(dockerfile)
    runnable = [s for s in stages if s.cmd is not None or s.entrypoint]
    assert runnable, f"{dockerfile}: no stage sets ENTRYPOINT/CMD"
    for stage in runnable:
        argv = [*(stage.entrypoint or []), *(stage.cmd or [])]
        result = _run_help(argv)
        assert result.returncode == 0, f"{dockerfile} stage {stage.name}: {shlex.join(argv)}\n{result.stderr}"
        assert "usage" in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=[p.parent.name for p in DOCKERFILES])
def test_dockerfile_pins_match_requirements(dockerfile: Path) -> None:
    wanted: dict[str, str] = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = _PIN.match(line.split("#", 1)[0].strip())
        if match:
            wanted[match[1].lower()] = match[2]
    pins = [(m[1].lower(), m[2]) for m in _PIN.finditer(dockerfile.read_text())]
    assert pins, f"{dockerfile}: installs nothing pinned"
    wrong = [(name, version, wanted.get(name)) for name, version in pins if wanted.get(name) != version]
    assert not wrong, f"{dockerfile}: pins differ from requirements.txt (name, Dockerfile, requirements): {wrong}"


def test_every_plan_image_has_a_row_and_built_ones_a_dockerfile_target() -> None:
    table = image_table()
    images = {c["image"] for c in _plan_containers()}
    assert images, "the plans deploy images"
    missing = sorted(images - set(table))
    assert not missing, f"images the plans deploy without a row in functions/README.md: {missing}"
    for image, cell in table.items():
        built = _built_here(cell)
        if built is None:
            continue
        path, target = built
        assert path.is_file(), f"{image}: {path} does not exist"
        names = [s.name for s in parse_dockerfile(path)]
        assert target is None or target in names, f"{image}: {path} has no stage {target!r} ({names})"


def test_plan_command_lines_run_on_their_images_code() -> None:
    """The command each plan gives an image built here parses with that image's package (``--help``)."""
    table = image_table()
    ran = 0
    for container in _plan_containers():
        built = _built_here(table.get(container["image"], ""))
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        if built is None or not argv or argv[0] != "python":
            continue
        package = argv[argv.index("-m") + 1]
        assert package.startswith(f"functions.{built[0].parent.name}"), (container["image"], argv)
        result = _run_help(_subcommand_help(argv))
        assert result.returncode == 0, f"{container['image']}: {shlex.join(argv[:6])}\n{result.stderr}"
        ran += 1
    assert ran >= 3, "backup, optimizer and forecaster command lines were found in the plans"


def test_postgres_target_carries_the_archive_command_tool() -> None:
    """The database image's stage has the wrapper python ``archive_command`` calls, and ``wal-push`` parses."""
    (stage,) = [s for s in parse_dockerfile(FUNCTIONS / "backup" / "Dockerfile") if s.name == "postgres"]
    assert any("/opt/backup/bin/python" in line for line in stage.text)
    result = _run_help(["python", "-m", "functions.backup", "wal-push", "--help"])
    assert result.returncode == 0, result.stderr
