"""Build the optimizer's Lambda zip reproducibly from manylinux wheels for the Lambda architecture.

``python -m functions.optimizer.package --arch x86_64|arm64 --out build/lambda/optimizer.zip``

The shared rules (reproducible bytes, wheel cache ``build/lambda/wheels/cp<py>-<arch>``, Lambda's size
limits) are in ``functions/lambda_zip.py``; this file names what the optimizer needs at run time.

Runtime: pyvips-binary ships only ``manylinux_2_28`` wheels (glibc >= 2.28). Lambda's python3.11 runtime is
Amazon Linux 2 (glibc 2.26), so the deployable zip targets python3.12+ (Amazon Linux 2023, glibc 2.34):
the default ``--python-version`` is 3.12. Other versions are accepted for local tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

from functions.lambda_zip import Artifact, LambdaPackage, PackageError, main
from functions.lambda_zip import build as build_zip

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
PACKAGE = LambdaPackage(
    name="optimizer",
    requirements=RUNTIME_REQUIREMENTS,
    # development tools, not the runtime
    excluded_sources=frozenset({"calibrate.py", "package.py", "butteraugli.py", "equal_quality.py"}),
    # pyvips publishes only an sdist; it builds to a pure-Python wheel (API mode comes from pyvips-binary).
    sdist_only=("pyvips==3.2.0",),
)

__all__ = ["PACKAGE", "RUNTIME_REQUIREMENTS", "PackageError", "build"]


def build(arch: str, out: Path, python_version: str = "3.12", wheels: Path | None = None) -> Artifact:
    """Build the zip at ``out`` and check it against Lambda's size limits."""
    return build_zip(PACKAGE, arch, out, python_version, wheels)


if __name__ == "__main__":
    sys.exit(main(PACKAGE, None, __doc__))
