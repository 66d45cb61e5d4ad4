"""Build the controller's Lambda zip from manylinux wheels for the Lambda architecture.

``python -m functions.dr.package --arch arm64|x86_64 --out build/lambda/dr-controller-arm64.zip``

Reproducible: entries sorted, timestamps fixed (1980-01-01), permissions fixed, no ``__pycache__``; the
printed sha256 (and its base64 form, Lambda's ``CodeSha256``) identifies the artifact. boto3 comes with the
Lambda runtime and stays out of the zip. Wheels are cached in ``build/lambda/wheels/dr-<py>-<arch>`` and
looked up there first, so a second build is offline.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_REQUIREMENTS = ("pydantic==2.14.3", "pyyaml==6.0.3", "psycopg[binary]==3.3.9")
EXCLUDED_SOURCES = frozenset({"package.py"})  # build tooling, not runtime
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_LIMIT = 50 * 1024 * 1024


class PackageError(Exception):
    """The zip cannot be built; the message says why."""


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)


def _platform(arch: str, python_version: str) -> list[str]:
    machine = ARCHES[arch]
    abi = f"cp{python_version.replace('.', '')}"
    return [
        "--only-binary=:all:",
        *("--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_28_{machine}"),
        *("--python-version", python_version, "--implementation", "cp"),
        *("--abi", abi, "--abi", "abi3", "--abi", "none"),
    ]


def stage(arch: str, python_version: str, wheels: Path, staging: Path) -> None:
    """Installs the runtime requirements and this package's sources into ``staging``."""
    wheels.mkdir(parents=True, exist_ok=True)
    platform = _platform(arch, python_version)
    common = ("--disable-pip-version-check", "-d", str(wheels), *platform, *RUNTIME_REQUIREMENTS)
    if _pip("download", "--no-index", "--find-links", str(wheels), *common).returncode != 0:
        online = _pip("download", *common)
        if online.returncode != 0:
            raise PackageError(f"pip download for {arch}/cp{python_version} failed: {online.stderr.strip()[-600:]}")
    installed = _pip(
        "install",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        str(wheels),
        "--target",
        str(staging),
        "--no-compile",
        *platform,
        *RUNTIME_REQUIREMENTS,
    )
    if installed.returncode != 0:
        raise PackageError(f"installing into the staging folder failed: {installed.stderr.strip()[-600:]}")
    package = staging / "functions" / "dr"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "functions" / "__init__.py", staging / "functions" / "__init__.py")
    for source in sorted((REPO_ROOT / "functions" / "dr").glob("*.py")):
        if source.name not in EXCLUDED_SOURCES:
            shutil.copyfile(source, package / source.name)
    for junk in [*staging.rglob("__pycache__"), *staging.glob("bin")]:
        shutil.rmtree(junk, ignore_errors=True)


def write_zip(staging: Path, out: Path) -> str:
    """Deterministic zip of ``staging``; returns the sha256 hex digest."""
    files = sorted((p for p in staging.rglob("*") if p.is_file()), key=lambda p: p.relative_to(staging).as_posix())
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), date_time=FIXED_TIME)
            info.external_attr = (0o100000 | (0o755 if ".so" in path.name else 0o644)) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    temporary.replace(out)
    if out.stat().st_size > ZIP_LIMIT:
        raise PackageError(f"{out}: {out.stat().st_size} bytes exceeds Lambda's direct-upload limit {ZIP_LIMIT}")
    return hashlib.sha256(out.read_bytes()).hexdigest()


def build(arch: str, out: Path, python_version: str = "3.12", wheels: Path | None = None) -> str:
    if arch not in ARCHES:
        raise PackageError(f"--arch {arch}: must be one of {', '.join(ARCHES)}")
    wheels = wheels or REPO_ROOT / "build" / "lambda" / "wheels" / f"dr-cp{python_version.replace('.', '')}-{arch}"
    with tempfile.TemporaryDirectory(prefix="dr-zip-") as scratch:
        staging = Path(scratch) / "staging"
        staging.mkdir()
        stage(arch, python_version, wheels, staging)
        return write_zip(staging, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.dr.package", description=__doc__)
    parser.add_argument("--arch", required=True, choices=sorted(ARCHES))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--python-version", default="3.12", choices=("3.11", "3.12", "3.13"))
    parser.add_argument("--wheels", type=Path, help="wheel cache (default build/lambda/wheels/dr-<py>-<arch>)")
    args = parser.parse_args(argv)
    try:
        digest = build(args.arch, args.out, args.python_version, args.wheels)
    except PackageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.out}: {args.out.stat().st_size} bytes")
    print(f"sha256 {digest}")
    print(f"CodeSha256 {base64.b64encode(bytes.fromhex(digest)).decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
