"""Build the controller's Lambda zip from manylinux wheels for the Lambda architecture.

``python -m functions.dr.package --arch arm64|x86_64 --out build/lambda/dr-controller-arm64.zip``

The shared rules (reproducible bytes, wheel cache, Lambda's size limits) are in ``functions/lambda_zip.py``;
this file names what the controller needs at run time. Wheels are cached in
``build/lambda/wheels/dr-cp<py>-<arch>``, so a second build is offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

from functions.lambda_zip import Artifact, LambdaPackage, PackageError, main
from functions.lambda_zip import build as build_zip

RUNTIME_REQUIREMENTS = ("pydantic==2.14.3", "pyyaml==6.0.3", "psycopg[binary]==3.3.9")
PACKAGE = LambdaPackage(name="dr", requirements=RUNTIME_REQUIREMENTS, wheel_cache="dr-")

__all__ = ["PACKAGE", "RUNTIME_REQUIREMENTS", "PackageError", "build"]


def build(arch: str, out: Path, python_version: str = "3.12", wheels: Path | None = None) -> Artifact:
    return build_zip(PACKAGE, arch, out, python_version, wheels)


if __name__ == "__main__":
    sys.exit(main(PACKAGE, None, __doc__))
