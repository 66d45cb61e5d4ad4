"""Build the optimizer's Lambda zip reproducibly from manylinux wheels for the Lambda architecture.

``python -m functions.optimizer.package --arch x86_64|arm64 --out build/lambda/optimizer.zip``

Reproducible: entries sorted, timestamps fixed (1980-01-01), permissions fixed (0644 files, 0755 shared
objects), no ``__pycache__``, no install-path records; the same inputs give the same bytes, and the
printed sha256 (hex, and base64 as Lambda's ``CodeSha256``) identifies the artifact.
Offline after the first run: wheels are kept in ``--wheels`` (default ``build/lambda/wheels/<py>-<arch>``)
and looked up there first (``pip --no-index``); only a miss goes to the package index.

Runtime: pyvips-binary ships only ``manylinux_2_28`` wheels (glibc >= 2.28). Lambda's python3.11 runtime is
Amazon Linux 2 (glibc 2.26), so the deployable zip targets python3.12+ (Amazon Linux 2023, glibc 2.34):
the default ``--python-version`` is 3.12. Other versions are accepted for local tests.
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

REPO_ROOT = Path(__file__).resolve().parents[2]
# Runtime dependencies of the handler (boto3 is in the Lambda runtime and stays out of the zip).
RUNTIME_REQUIREMENTS = (
    "pyvips==3.2.0",
    "pyvips-binary==8.18.7",
    "minify-html==0.18.1",
    "rcssmin==1.3.0",
    "rjsmin==1.3.0",
    "brotli==1.2.1",
    "numpy==2.4.6",  # SSIM windows (ssim.py): 2-4x faster than the same maths in libvips
)
# pyvips publishes only an sdist; it builds to a pure-Python wheel (API mode comes from pyvips-binary).
SDIST_ONLY = ("pyvips==3.2.0",)
EXCLUDED_SOURCES = frozenset({"calibrate.py", "package.py", "butteraugli.py", "equal_quality.py"})  # development tools
ZIP_LIMIT = 50 * 1024 * 1024  # direct upload limit
UNZIPPED_LIMIT = 250 * 1024 * 1024  # function + layers, unzipped
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")


class PackageError(Exception):
    """The zip cannot be built (download failed, size over a Lambda limit, ...); the message says why."""


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


def _platform_args(arch: str, python_version: str) -> list[str]:
    machine = ARCHES[arch]
    return [
        "--only-binary=:all:",
        "--platform",
        f"manylinux_2_28_{machine}",
        "--platform",
        f"manylinux2014_{machine}",
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--abi",
        f"cp{python_version.replace('.', '')}",
        "--abi",
        "abi3",
        "--abi",
        "none",
    ]


def fetch_wheels(arch: str, python_version: str, wheels: Path) -> None:
    """Fill ``wheels`` with every wheel the zip needs; offline when they are already there."""
    wheels.mkdir(parents=True, exist_ok=True)
    for requirement in SDIST_ONLY:
        name = requirement.split("==")[0].replace("-", "_")
        version = requirement.split("==")[1]
        if not list(wheels.glob(f"{name}-{version}-py3-none-any.whl")):
            built = _pip("wheel", "--no-deps", "--disable-pip-version-check", "-w", str(wheels), requirement)
            if built.returncode != 0:
                raise PackageError(f"cannot build a wheel for {requirement}: {built.stderr.strip()[-400:]}")
    binary = [r for r in RUNTIME_REQUIREMENTS if r not in SDIST_ONLY]
    platform = _platform_args(arch, python_version)
    offline = _pip(
        "download",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        str(wheels),
        "-d",
        str(wheels),
        *platform,
        *binary,
    )
    if offline.returncode == 0:
        return
    online = _pip("download", "--disable-pip-version-check", "-d", str(wheels), *platform, *binary)
    if online.returncode != 0:
        raise PackageError(
            f"pip download for {arch}/cp{python_version} failed (no cached wheels in {wheels} and the index "
            f"did not help): {online.stderr.strip()[-600:]}"
        )


def _stage(arch: str, python_version: str, wheels: Path, staging: Path) -> None:
    installed = _pip(
        "install",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        str(wheels),
        "--target",
        str(staging),
        "--no-compile",
        *_platform_args(arch, python_version),
        *RUNTIME_REQUIREMENTS,
    )
    if installed.returncode != 0:
        raise PackageError(f"installing wheels into the zip staging folder failed: {installed.stderr.strip()[-600:]}")
    package = staging / "functions" / "optimizer"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "functions" / "__init__.py", staging / "functions" / "__init__.py")
    for source in sorted((REPO_ROOT / "functions" / "optimizer").glob("*.py")):
        if source.name not in EXCLUDED_SOURCES:
            shutil.copyfile(source, package / source.name)
    for junk in [*staging.rglob("__pycache__"), *staging.glob("bin")]:
        shutil.rmtree(junk, ignore_errors=True)
    for junk in [*staging.glob("*.dist-info/direct_url.json"), *staging.glob("*.dist-info/REQUESTED")]:
        junk.unlink()


def _write_zip(staging: Path, out: Path) -> tuple[int, int]:
    files = sorted((p for p in staging.rglob("*") if p.is_file()), key=lambda p: p.relative_to(staging).as_posix())
    unzipped = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for path in files:
            name = path.relative_to(staging).as_posix()
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            mode = 0o755 if ".so" in path.name else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    temporary.replace(out)
    return unzipped, len(files)


def build(arch: str, out: Path, python_version: str = "3.12", wheels: Path | None = None) -> Artifact:
    """Build the zip at ``out`` and check it against Lambda's size limits."""
    if arch not in ARCHES:
        raise PackageError(f"--arch {arch}: must be one of {', '.join(ARCHES)}")
    if python_version not in PYTHON_VERSIONS:
        raise PackageError(f"--python-version {python_version}: must be one of {', '.join(PYTHON_VERSIONS)}")
    wheels = wheels or REPO_ROOT / "build" / "lambda" / "wheels" / f"cp{python_version.replace('.', '')}-{arch}"
    fetch_wheels(arch, python_version, wheels)
    with tempfile.TemporaryDirectory(prefix="optimizer-zip-") as scratch:
        staging = Path(scratch) / "staging"
        staging.mkdir()
        _stage(arch, python_version, wheels, staging)
        unzipped, count = _write_zip(staging, out)
    zipped = out.stat().st_size
    if zipped > ZIP_LIMIT:
        raise PackageError(f"{out}: {zipped} bytes zipped exceeds Lambda's {ZIP_LIMIT} byte direct-upload limit")
    if unzipped > UNZIPPED_LIMIT:
        raise PackageError(f"{out}: {unzipped} bytes unzipped exceeds Lambda's {UNZIPPED_LIMIT} byte limit")
    digest = hashlib.sha256(out.read_bytes()).digest()
    return Artifact(out, digest.hex(), base64.b64encode(digest).decode(), zipped, unzipped, count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m functions.optimizer.package",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--arch", required=True, choices=sorted(ARCHES), help="Lambda architecture")
    parser.add_argument("--out", type=Path, required=True, help="zip path, e.g. build/lambda/optimizer.zip")
    parser.add_argument("--python-version", default="3.12", choices=PYTHON_VERSIONS, help="runtime (default 3.12)")
    parser.add_argument("--wheels", type=Path, help="wheel cache folder (default build/lambda/wheels/<py>-<arch>)")
    args = parser.parse_args(argv)
    try:
        artifact = build(args.arch, args.out, args.python_version, args.wheels)
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


if __name__ == "__main__":
    sys.exit(main())
