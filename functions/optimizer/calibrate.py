"""Calibrate the per-codec quality table and measure savings at equal SSIM (development tool, not deployed).

``python -m functions.optimizer.calibrate`` prints LEVEL_SSIM, AUTOQUALITY_SSIM, QUALITY_TABLE and the SSIM
floors for settings.py. Method: MozJPEG with the seed's settings (quant table 3, trellis) at the seed qualities
(90/75/60) defines a target SSIM per level = the median SSIM over the photo set at 640 px and 1024 px (and,
for autoquality, at the probe width). For each codec, with our encoder settings, a bisection over the integer
quality finds the lowest quality whose median SSIM reaches that target. So "medium" means "as good as the
seed's MozJPEG q75, on median".

The photo set (needs the dev dependencies scikit-image, scikit-learn and Debian mate-backgrounds) is shared
with the tests and the benchmark, and so is the libjpeg-turbo q75 baseline used for "bytes saved at equal
SSIM".
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyvips

from functions.optimizer.images import _encode, _measure_ssim, mozjpeg
from functions.optimizer.settings import (
    AUTOQUALITY_PROBE_WIDTH,
    IMAGE_FORMATS,
    QUALITY_LEVELS,
    ImageFormat,
    ImageSettings,
    QualityLevel,
)

MATE_NATURE = Path("/usr/share/backgrounds/mate/nature")
SKIMAGE_PHOTOS = ("astronaut", "coffee", "rocket", "chelsea", "hubble_deep_field")
CALIBRATION_WIDTHS = (640, 1024)
SEED_JPEG_QUALITY: dict[QualityLevel, int] = {"high": 90, "medium": 75, "low": 60}


@dataclass(frozen=True)
class Photo:
    """A test photo as the bytes a user would upload."""

    name: str
    data: bytes


def _png_bytes(array: object) -> bytes:
    import numpy as np

    pixels = np.ascontiguousarray(array, dtype=np.uint8)
    return pyvips.Image.new_from_array(pixels, interpretation="srgb").pngsave_buffer(compression=1)


def photo_set() -> list[Photo]:
    """skimage.data (5, lossless PNG), scikit-learn sample JPEGs (2), mate-backgrounds nature JPEGs."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = [Photo(f"{name}.png", _png_bytes(getattr(skimage.data, name)())) for name in SKIMAGE_PHOTOS]
    photos += [Photo(Path(path).name, Path(path).read_bytes()) for path in load_sample_images().filenames]
    mate = sorted(MATE_NATURE.glob("*.jpg"))
    if not mate:
        msg = f"no photos in {MATE_NATURE}: install the Debian package mate-backgrounds"
        raise FileNotFoundError(msg)
    photos += [Photo(path.name, path.read_bytes()) for path in mate]
    return photos


def resized(photo: Photo, width: int) -> pyvips.Image:
    """The reference image at ``width`` (no upscaling), decoded and in memory."""
    return pyvips.Image.thumbnail_buffer(photo.data, width, height=10_000_000, size="down").copy_memory()


def jpeg_turbo_q75(image: pyvips.Image) -> bytes:
    """Baseline: libjpeg-turbo (Pillow's bundled build) q75, progressive, optimized Huffman, no metadata."""
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.fromarray(image.numpy()).save(buffer, "JPEG", quality=75, progressive=True, optimize=True)
    return buffer.getvalue()


def lowest_quality_reaching(
    image: pyvips.Image, fmt: ImageFormat, target: float, settings: ImageSettings
) -> tuple[int, bytes, float]:
    """Bisection over quality 1..100 for the smallest file whose SSIM is >= target (q, bytes, ssim)."""
    low, high = 1, 100
    best: tuple[int, bytes, float] | None = None
    while low <= high:
        quality = (low + high) // 2
        blob = _encode(image, fmt, quality, settings)
        score = _measure_ssim(image, blob)
        if score >= target:
            best = (quality, blob, score)
            high = quality - 1
        else:
            low = quality + 1
    if best is None:
        blob = _encode(image, fmt, 100, settings)
        best = (100, blob, _measure_ssim(image, blob))
    return best


def savings_at_equal_ssim(image: pyvips.Image, fmt: ImageFormat, settings: ImageSettings) -> dict[str, float]:
    """Bytes saved by ``fmt`` vs the libjpeg-turbo q75 baseline, at the baseline's SSIM or better."""
    baseline = jpeg_turbo_q75(image)
    target = _measure_ssim(image, baseline)
    quality, blob, score = lowest_quality_reaching(image, fmt, target, settings)
    return {
        "baseline_bytes": len(baseline),
        "baseline_ssim": target,
        "quality": quality,
        "bytes": len(blob),
        "ssim": score,
        "saved": 1 - len(blob) / len(baseline),
    }


def seed_mozjpeg(image: pyvips.Image, quality: int) -> bytes:
    """The encoder that defines the levels: MozJPEG as the seed configured it (its default quant table 3)."""
    return mozjpeg(image, quality, quant_table=3)


def level_targets(images: list[pyvips.Image]) -> dict[QualityLevel, float]:
    """Median SSIM of the seed MozJPEG at each level's seed quality over ``images``."""
    return {
        level: round(statistics.median(_measure_ssim(im, seed_mozjpeg(im, q)) for im in images), 4)
        for level, q in SEED_JPEG_QUALITY.items()
    }


def _median_ssim(images: list[pyvips.Image], fmt: ImageFormat, quality: int, settings: ImageSettings) -> float:
    return statistics.median(_measure_ssim(im, _encode(im, fmt, quality, settings)) for im in images)


def _bisect_median(score: Callable[[int], float], target: float) -> int:
    low, high = 1, 100
    answer = 100
    while low <= high:
        quality = (low + high) // 2
        if score(quality) >= target:
            answer, high = quality, quality - 1
        else:
            low = quality + 1
    return answer


def calibrate(photos: list[Photo], settings: ImageSettings) -> dict[str, object]:
    """Targets, quality table and per-level SSIM minimum over photos and codecs (see the module docstring)."""
    images = [resized(p, w) for p in photos for w in CALIBRATION_WIDTHS]
    targets = level_targets(images)
    probe_targets = level_targets([resized(p, AUTOQUALITY_PROBE_WIDTH) for p in photos])
    table: dict[str, dict[ImageFormat, int]] = {}
    minimum: dict[str, float] = {}
    for level in QUALITY_LEVELS:
        row: dict[ImageFormat, int] = {}
        for fmt in IMAGE_FORMATS:
            row[fmt] = _bisect_median(lambda q, f=fmt: _median_ssim(images, f, q, settings), targets[level])
        table[level] = row
        minimum[level] = min(
            _measure_ssim(im, _encode(im, fmt, q, settings)) for im in images for fmt, q in row.items()
        )
    return {
        "level_ssim": targets,
        "autoquality_ssim": probe_targets,
        "table": table,
        "min_ssim": minimum,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.optimizer.calibrate", description=__doc__)
    parser.add_argument("--avif-effort", type=int, default=ImageSettings().avif_effort)
    args = parser.parse_args(argv)
    try:
        photos = photo_set()
    except (FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result = calibrate(photos, ImageSettings(avif_effort=args.avif_effort))
    print(f"photos: {len(photos)} at widths {CALIBRATION_WIDTHS}")
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
