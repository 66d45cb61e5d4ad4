"""The Lambda zip is reproducible and runs the handler in a clean interpreter with only its contents."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from functions.optimizer.calibrate import MATE_NATURE
from functions.optimizer.package import RUNTIME_REQUIREMENTS, PackageError, build

ROOT = Path(__file__).resolve().parents[3]
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory):
    # wheels cached under build/lambda/wheels: the first run downloads, later runs are offline
    return build("x86_64", tmp_path_factory.mktemp("zip") / "optimizer.zip", HOST_PYTHON)


def test_zip_is_reproducible(artifact, tmp_path: Path) -> None:
    again = build("x86_64", tmp_path / "again.zip", HOST_PYTHON)
    assert again.sha256 == artifact.sha256
    assert again.path.read_bytes() == artifact.path.read_bytes()
    with zipfile.ZipFile(artifact.path) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} <= {0o644, 0o755}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "direct_url" in n]
    assert "functions/optimizer/handler.py" in names and "functions/optimizer/calibrate.py" not in names
    assert any(n.startswith("pyvips_binary.libs/libvips") for n in names)
    assert artifact.zipped_bytes < 50 * 1024 * 1024 and artifact.unzipped_bytes < 250 * 1024 * 1024


def test_handler_runs_from_the_unzipped_package_in_a_clean_interpreter(artifact, tmp_path: Path) -> None:
    task = tmp_path / "var-task"  # Lambda unzips the package to /var/task (extension modules cannot load from a zip)
    with zipfile.ZipFile(artifact.path) as archive:
        archive.extractall(task)
    bucket = tmp_path / "buckets" / "uploads"
    bucket.mkdir(parents=True)
    (bucket / "meadow.jpg").write_bytes((MATE_NATURE / "GreenMeadow.jpg").read_bytes())
    event = {"Records": [{"s3": {"bucket": {"name": "uploads"}, "object": {"key": "meadow.jpg"}}}]}
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import functions.optimizer.handler as h, pyvips;"
        "assert pyvips.__file__.startswith(sys.argv[1]), pyvips.__file__;"
        "r = h.lambda_handler(json.loads(sys.argv[2]), None);"
        "print(json.dumps(r['summary']))"
    )
    env = {"OPTIMIZER_STORAGE_ROOT": (tmp_path / "buckets").as_uri(), "OPTIMIZED_BUCKET": "optimized",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(task), json.dumps(event)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["files"] == 1 and summary["failures"] == 0
    assert (tmp_path / "buckets" / "optimized" / "meadow" / "meadow-1280.jpg").is_file()


def test_runtime_pins_match_requirements_txt() -> None:
    pins = {line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()}
    assert set(RUNTIME_REQUIREMENTS) <= pins


def test_bad_arch_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="must be one of"):
        build("s390x", tmp_path / "x.zip")
