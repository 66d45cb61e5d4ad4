"""The shared Lambda zip rules, without pip: the same folder gives the same bytes whatever the files' times
and modes, entries sorted with fixed times and permissions; bad targets are named."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from functions.lambda_zip import LambdaPackage, PackageError, build, write_zip


def _tree(root: Path, mtime: int, mode: int) -> Path:
    files = {"functions/x/handler.py": b"print('x')\n", "lib/_speed.cpython-312-x86_64-linux-gnu.so": b"\x7fELF"}
    files["a/b/c.txt"] = b"c"
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
        os.utime(path, (mtime, mtime))
    return root


def test_the_same_files_give_the_same_bytes(tmp_path: Path) -> None:
    first = _tree(tmp_path / "one", 1_700_000_000, 0o600)
    second = _tree(tmp_path / "two", 1_800_000_000, 0o777)
    assert write_zip(first, tmp_path / "one.zip") == write_zip(second, tmp_path / "two.zip") == (11 + 4 + 1, 3)
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and len(names) == 3
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
    assert modes == {
        "a/b/c.txt": 0o644,
        "functions/x/handler.py": 0o644,
        "lib/_speed.cpython-312-x86_64-linux-gnu.so": 0o755,
    }


@pytest.mark.parametrize(
    ("arch", "python", "message"),
    [("s390x", "3.12", "--arch s390x: must be one of"), ("arm64", "3.9", "--python-version 3.9: must be one of")],
)
def test_bad_targets_are_named(tmp_path: Path, arch: str, python: str, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        build(LambdaPackage(name="x", requirements=()), arch, tmp_path / "x.zip", python)
