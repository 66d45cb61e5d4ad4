"""The wheel ``make client`` builds works on its own: installed where the platform repository is not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from platform_outputs import __version__

from tests.clients import samples

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
import platform_outputs
from platform_outputs import PlatformOutputs
from platform_outputs.cli import main
assert platform_outputs.__file__.startswith(sys.argv[1]), platform_outputs.__file__
repo_modules = sorted(m for m in sys.modules if m.split(".")[0] in {"components", "offline", "clients", "tests"})
assert not repo_modules, repo_modules
print(json.dumps({"version": platform_outputs.__version__, "redis_port": PlatformOutputs.parse(json.load(open(sys.argv[2]))).redis.port}))
"""


def test_the_wheel_installs_and_runs_without_the_repository(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(REPO / "clients" / "platform_outputs", source, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(wheels),
        str(source),
    ]
    subprocess.run(build, check=True, capture_output=True)
    (wheel,) = wheels.glob("*.whl")
    assert wheel.name == f"platform_outputs-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"platform_outputs-{__version__}.dist-info/METADATA").decode()
    assert {"platform_outputs/models.py", "platform_outputs/py.typed", "platform_outputs/__main__.py"} <= names
    assert "Requires-Dist: pydantic" in metadata
    assert "Requires-Dist: pulumi" in metadata and 'extra == "pulumi"' in metadata

    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(samples.outputs()))
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, str(target), str(outputs)],
        capture_output=True,
        text=True,
        check=False,
        cwd=workdir,
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == {"version": __version__, "redis_port": 6379}
    check = subprocess.run(
        [sys.executable, "-m", "platform_outputs", "check", str(outputs)],
        capture_output=True,
        text=True,
        check=False,
        cwd=workdir,
        env=env,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("fits contract v1: prod stack")
    assert (target / "bin" / "platform-outputs").exists()
