"""Butteraugli distance through libjxl's ``butteraugli_main`` (development tool, not deployed).

Why a second metric: the quality levels and the codec comparisons are scored with SSIM on luma, and libaom's
``tune=ssim`` optimises an SSIM-like criterion, so a gain measured with SSIM alone could be an artefact of the
encoder aiming at the ruler. Butteraugli (Google's psychovisual model, in libjxl) is targeted by none of our
encoders, sees colour (luma SSIM does not, so chroma subsampling is free for it) and models masking; a
setting that wins on both is a real gain. We use the 3-norm over the distance map (``--pnorm 3``), the
aggregate libjxl's own benchmarks compare with: the max-norm is decided by one worst pixel and jumps.
Smaller is better; about 1.0 is "visually lossless" at a normal viewing distance.

The binary comes from the Debian package ``libjxl-devtools``; it reads PPM files (no profile: taken as
sRGB, which our decoded images are). A call costs about 0.05 s at 320 px, 0.3 s at 1024 px and several
seconds at 1920 px (page-faulting its large buffers), so benchmarks use it up to 1024 px.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pyvips

BINARY = "butteraugli_main"
_PNORM = re.compile(r"^3-norm:\s*([0-9.eE+-]+)\s*$", re.MULTILINE)


class ButteraugliUnavailableError(RuntimeError):
    """``butteraugli_main`` is not installed."""


def binary() -> str:
    """Path of ``butteraugli_main``; a clear error naming the Debian package when it is missing."""
    found = shutil.which(BINARY)
    if found is None:
        msg = f"'{BINARY}' not found: install the Debian package libjxl-devtools"
        raise ButteraugliUnavailableError(msg)
    return found


def _write_ppm(image: pyvips.Image, path: Path) -> None:
    """8-bit sRGB without alpha (flattened on white, like the SSIM reference) as binary PPM.

    Written by hand: pyvips-binary's libvips is built without the PPM saver.
    """
    if image.format != "uchar":  # 10/12-bit AVIF decodes to 16-bit
        image = image.colourspace("srgb")
    if image.hasalpha():
        image = image.flatten(background=[255])
    if image.bands == 1:
        image = image.bandjoin([image, image])
    pixels = image.cast("uchar").numpy()
    path.write_bytes(b"P6\n%d %d\n255\n" % (image.width, image.height) + pixels.tobytes())


class ButteraugliReference:
    """A reference image written once as PPM; ``distance`` scores encoded files against it."""

    def __init__(self, reference: pyvips.Image) -> None:
        self._binary = binary()
        self._dir = tempfile.TemporaryDirectory(prefix="butteraugli-")
        self._reference = Path(self._dir.name) / "reference.ppm"
        self._distorted = Path(self._dir.name) / "distorted.ppm"
        self.width, self.height = reference.width, reference.height
        _write_ppm(reference, self._reference)

    def distance(self, encoded: bytes) -> float:
        """Butteraugli 3-norm distance of an encoded file (any format libvips decodes) from the reference."""
        decoded = pyvips.Image.new_from_buffer(encoded, "")
        if (decoded.width, decoded.height) != (self.width, self.height):
            msg = f"butteraugli needs equal sizes, got {self.width}x{self.height} and {decoded.width}x{decoded.height}"
            raise ValueError(msg)
        _write_ppm(decoded, self._distorted)
        done = subprocess.run(
            [self._binary, str(self._reference), str(self._distorted), "--pnorm", "3"],
            check=False,
            capture_output=True,
            text=True,
            env=dict(os.environ),  # Python's copy: an in-process libvips changes the C environment
        )
        found = _PNORM.search(done.stdout)
        if done.returncode != 0 or found is None:
            msg = f"{BINARY} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}"
            raise RuntimeError(msg)
        return float(found.group(1))

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self) -> ButteraugliReference:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
