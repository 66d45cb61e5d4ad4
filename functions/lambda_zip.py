"""Reproducible Lambda zips for the packages under ``functions/``, from manylinux wheels for the target arch.

One builder for every function we deploy to Lambda (the optimizer, the DR controller): each package's
``package.py`` names its runtime requirements and development-only sources and calls :func:`main`.

Reproducible: entries sorted, timestamps fixed (1980-01-01), permissions fixed (0644 files, 0755 shared
objects), no ``__pycache__``, no install-path records (``direct_url.json``, ``REQUESTED``); the same inputs
give the same bytes, and the printed sha256 (hex, and base64 as Lambda's ``CodeSha256``) identifies the
artifact. Offline after the first run: wheels are kept in a cache folder and looked up there first
(``pip --no-index``); only a miss goes to the package index. boto3 comes with the Lambda runtime and stays out.
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
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ZIP_LIMIT = 50 * 1024 * 1024  # direct upload limit
UNZIPPED_LIMIT = 250 * 1024 * 1024  # function + layers, unzipped
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")


class PackageError(Exception):
    """The zip cannot be built (download failed, size over a Lambda limit, ...); the message says why."""


@dataclass(frozen=True)
class LambdaPackage:
    """What goes into one function's zip besides the shared rules above."""

    name: str
    """The package under ``functions/`` (its ``*.py`` files are copied, minus ``excluded_sources``)."""
    requirements: tuple[str, ...]
    """Exact pins of the runtime dependencies (a test keeps them equal to requirements.txt)."""
    excluded_sources: frozenset[str] = frozenset({"package.py"})
    """Development tools that are not part of the runtime (the builder itself at least)."""
    sdist_only: tuple[str, ...] = ()
    """Requirements published only as an sdist that build to a pure-Python wheel (built locally once)."""
    wheel_cache: str = ""
    """Prefix of the wheel cache folder ``build/lambda/wheels/<prefix>cp<py>-<arch>``."""

    def default_wheels(self, arch: str, python_version: str) -> Path:
        folder = f"{self.wheel_cache}cp{python_version.replace('.', '')}-{arch}"
        return REPO_ROOT / "build" / "lambda" / "wheels" / folder


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: str
    code_sha256: str
    zipped_bytes: int
    unzipped_bytes: int
    files: int


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)


def platform_args(arch: str, python_version: str) -> list[str]:
    """pip's target selection: manylinux wheels for Lambda's glibc and CPU, this CPython's ABI or abi3."""
    machine = ARCHES[arch]
    return [
        "--only-binary=:all:",
        *("--platform", f"manylinux_2_28_{machine}", "--platform", f"manylinux2014_{machine}"),
        *("--python-version", python_version, "--implementation", "cp"),
        *("--abi", f"cp{python_version.replace('.', '')}", "--abi", "abi3", "--abi", "none"),
    ]


def fetch_wheels(package: LambdaPackage, arch: str, python_version: str, wheels: Path) -> None:
    """Fill ``wheels`` with every wheel the zip needs; offline when they are already there."""
    wheels.mkdir(parents=True, exist_ok=True)
    for requirement in package.sdist_only:
        name, version = requirement.split("==")
        if not list(wheels.glob(f"{name.replace('-', '_')}-{version}-py3-none-any.whl")):
            built = _pip("wheel", "--no-deps", "--disable-pip-version-check", "-w", str(wheels), requirement)
            if built.returncode != 0:
                raise PackageError(f"cannot build a wheel for {requirement}: {built.stderr.strip()[-400:]}")
    binary = [r for r in package.requirements if r not in package.sdist_only]
    common = ("--disable-pip-version-check", "-d", str(wheels), *platform_args(arch, python_version), *binary)
    if _pip("download", "--no-index", "--find-links", str(wheels), *common).returncode == 0:
        return
    online = _pip("download", *common)
    if online.returncode != 0:
        raise PackageError(
            f"pip download for {arch}/cp{python_version} failed (no cached wheels in {wheels} and the index "
            f"did not help): {online.stderr.strip()[-600:]}"
        )


def stage(package: LambdaPackage, arch: str, python_version: str, wheels: Path, staging: Path) -> None:
    """Install the requirements from ``wheels`` and copy the package's sources into ``staging``."""
    installed = _pip(
        "install",
        *("--disable-pip-version-check", "--no-index", "--find-links", str(wheels)),
        *("--target", str(staging), "--no-compile"),
        *platform_args(arch, python_version),
        *package.requirements,
    )
    if installed.returncode != 0:
        raise PackageError(f"installing wheels into the zip staging folder failed: {installed.stderr.strip()[-600:]}")
    target = staging / "functions" / package.name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "functions" / "__init__.py", staging / "functions" / "__init__.py")
    for source in sorted((REPO_ROOT / "functions" / package.name).glob("*.py")):
        if source.name not in package.excluded_sources:
            shutil.copyfile(source, target / source.name)
    for junk in [*staging.rglob("__pycache__"), *staging.glob("bin")]:
        shutil.rmtree(junk, ignore_errors=True)
    for record in [*staging.glob("*.dist-info/direct_url.json"), *staging.glob("*.dist-info/REQUESTED")]:
        record.unlink()


def write_zip(staging: Path, out: Path) -> tuple[int, int]:
    """Deterministic zip of ``staging`` at ``out``; returns (unzipped bytes, files)."""
    files = sorted((p for p in staging.rglob("*") if p.is_file()), key=lambda p: p.relative_to(staging).as_posix())
    unzipped = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), date_time=FIXED_TIME)
            mode = 0o755 if ".so" in path.name else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    temporary.replace(out)
    return unzipped, len(files)


def build(
    package: LambdaPackage, arch: str, out: Path, python_version: str = "3.12", wheels: Path | None = None
) -> Artifact:
    """Build the zip at ``out`` and check it against Lambda's size limits."""
    if arch not in ARCHES:
        raise PackageError(f"--arch {arch}: must be one of {', '.join(ARCHES)}")
    if python_version not in PYTHON_VERSIONS:
        raise PackageError(f"--python-version {python_version}: must be one of {', '.join(PYTHON_VERSIONS)}")
    wheels = wheels or package.default_wheels(arch, python_version)
    fetch_wheels(package, arch, python_version, wheels)
    with tempfile.TemporaryDirectory(prefix=f"{package.name}-zip-") as scratch:
        staging = Path(scratch) / "staging"
        staging.mkdir()
        stage(package, arch, python_version, wheels, staging)
        unzipped, count = write_zip(staging, out)
    zipped = out.stat().st_size
    if zipped > ZIP_LIMIT:
        raise PackageError(f"{out}: {zipped} bytes zipped exceeds Lambda's {ZIP_LIMIT} byte direct-upload limit")
    if unzipped > UNZIPPED_LIMIT:
        raise PackageError(f"{out}: {unzipped} bytes unzipped exceeds Lambda's {UNZIPPED_LIMIT} byte limit")
    digest = hashlib.sha256(out.read_bytes()).digest()
    return Artifact(out, digest.hex(), base64.b64encode(digest).decode(), zipped, unzipped, count)


def main(package: LambdaPackage, argv: list[str] | None, description: str | None) -> int:
    """The ``python -m functions.<name>.package`` command line."""
    parser = argparse.ArgumentParser(
        prog=f"python -m functions.{package.name}.package",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--arch", required=True, choices=sorted(ARCHES), help="Lambda architecture")
    parser.add_argument("--out", type=Path, required=True, help="zip path, e.g. build/lambda/<name>-<arch>.zip")
    parser.add_argument("--python-version", default="3.12", choices=PYTHON_VERSIONS, help="runtime (default 3.12)")
    parser.add_argument(
        "--wheels",
        type=Path,
        help=f"wheel cache folder (default build/lambda/wheels/{package.wheel_cache}cp<py>-<arch>)",
    )
    args = parser.parse_args(argv)
    try:
        artifact = build(package, args.arch, args.out, args.python_version, args.wheels)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{artifact.path}: {artifact.zipped_bytes} bytes zipped, {artifact.unzipped_bytes} unzipped, "
        f"{artifact.files} files"
    )
    print(f"sha256 {artifact.sha256}")
    print(f"CodeSha256 {artifact.code_sha256}")
    return 0
