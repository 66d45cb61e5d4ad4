"""The Lambda zip: built twice to the same bytes, and the handler imports from it with its own pydantic,
PyYAML and psycopg (boto3 comes from the runtime, here from the venv)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from functions.dr.package import build

pytestmark = pytest.mark.real


def test_zip_is_reproducible_and_the_handler_runs_from_it(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    first = build("x86_64", tmp_path / "a.zip", f"{sys.version_info.major}.{sys.version_info.minor}", wheels)
    second = build("x86_64", tmp_path / "b.zip", f"{sys.version_info.major}.{sys.version_info.minor}", wheels)
    assert first.sha256 == second.sha256 and first.path.read_bytes() == second.path.read_bytes()
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = archive.namelist()
        archive.extractall(unzipped)
    assert "functions/dr/handler.py" in names and "functions/dr/package.py" not in names
    assert not any("__pycache__" in n or n.startswith("boto3/") for n in names)
    site = next((Path(sys.prefix) / "lib").glob("python3.*/site-packages"))
    probe = "import functions.dr.handler, pydantic, yaml, psycopg; print(pydantic.__file__); print(psycopg.pq.__impl__)"
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env={"PYTHONPATH": f"{unzipped}:{site}"},
        capture_output=True,
        text=True,
        check=True,
    )
    pydantic_file, impl = out.stdout.split()
    assert pydantic_file.startswith(str(unzipped)) and impl == "binary"
