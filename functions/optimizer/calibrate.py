"""Calibrate the per-codec starting qualities and the SSIM floors on the tuning photos (development tool).

``python -m functions.optimizer.calibrate`` prints QUALITY_TABLE for settings.py. Per level and tuning photo
it runs the optimizer's own per-image search (target: the SSIM of the level's libjpeg-turbo reference JPEG on
that photo at the probe width) and takes, per codec, the median chosen quality: where the search starts
next time (fewer encodes) and the fixed number when autoquality is off.

The photo set (needs the dev dependencies scikit-image, scikit-learn and Debian mate-backgrounds) is shared
with the tests and the benchmarks, and so is its split into tuning and evaluation photos (``photo_split``):
nothing here, in the encoder search or in settings.py is derived from the evaluation photos.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import pyvips

from functions.optimizer.images import optimize_image
from functions.optimizer.settings import (
    AUTOQUALITY_PROBE_WIDTH,
    AVIF_WIDTH_CLASSES,
    IMAGE_FORMATS,
    QUALITY_LEVELS,
    ImageFormat,
    ImageSettings,
    QualityLevel,
)

MATE_NATURE = Path("/usr/share/backgrounds/mate/nature")
SKIMAGE_PHOTOS = ("astronaut", "coffee", "rocket", "chelsea", "hubble_deep_field")


@dataclass(frozen=True)
class Photo:
    """A test photo as the bytes a user would upload, and where it comes from (for the tuning/evaluation split)."""

    name: str
    data: bytes
    source: str = ""


def _png_bytes(array: object) -> bytes:
    import numpy as np

    pixels = np.ascontiguousarray(array, dtype=np.uint8)
    return pyvips.Image.new_from_array(pixels, interpretation="srgb").pngsave_buffer(compression=1)


def photo_set() -> list[Photo]:
    """skimage.data (5, lossless PNG), scikit-learn sample JPEGs (2), mate-backgrounds nature JPEGs."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = [Photo(f"{name}.png", _png_bytes(getattr(skimage.data, name)()), "skimage") for name in SKIMAGE_PHOTOS]
    photos += [Photo(Path(path).name, Path(path).read_bytes(), "sklearn") for path in load_sample_images().filenames]
    mate = sorted(MATE_NATURE.glob("*.jpg"))
    if not mate:
        msg = f"no photos in {MATE_NATURE}: install the Debian package mate-backgrounds"
        raise FileNotFoundError(msg)
    photos += [Photo(path.name, path.read_bytes(), "mate") for path in mate]
    return photos


def photo_split(photos: list[Photo]) -> tuple[list[Photo], list[Photo]]:
    """(tuning, evaluation): within each source, in name order, every other photo, starting with tuning.

    Why a fixed mechanical rule and not a hand-picked split: nobody chooses which photos the settings are
    judged on. Settings, quality tables and encoder choices are derived from the tuning photos only; the
    evaluation photos are only ever measured. 19 photos give 10 + 9 (skimage 3 + 2, scikit-learn 1 + 1,
    mate-backgrounds 6 + 6).
    """
    tuning: list[Photo] = []
    evaluation: list[Photo] = []
    for source in dict.fromkeys(p.source for p in photos):
        ordered = sorted((p for p in photos if p.source == source), key=lambda p: p.name.lower())
        tuning += ordered[0::2]
        evaluation += ordered[1::2]
    return tuning, evaluation


def resized(photo: Photo, width: int) -> pyvips.Image:
    """The reference image at ``width`` (no upscaling), decoded and in memory."""
    return pyvips.Image.thumbnail_buffer(photo.data, width, height=10_000_000, size="down").copy_memory()


def calibrate(photos: list[Photo], levels: tuple[QualityLevel, ...] = QUALITY_LEVELS) -> dict[str, object]:
    """Per level, per codec: the median quality the per-image search chose (see the module docstring)."""
    table: dict[str, dict[ImageFormat, int]] = {}
    encodes: dict[str, float] = {}
    for level in levels:
        # probe only; AVIF searched with the top width class's effort, as it is when wider variants are planned
        top_effort = AVIF_WIDTH_CLASSES[-1][1].effort
        settings = ImageSettings(
            quality=level, widths=(AUTOQUALITY_PROBE_WIDTH,), ssim_widths="none", avif_effort=top_effort
        )
        chosen: dict[ImageFormat, list[int]] = {fmt: [] for fmt in IMAGE_FORMATS}
        spent: list[int] = []
        for photo in photos:
            result = optimize_image(photo.data, photo.name, settings)
            assert result.autoquality is not None
            for fmt, found in result.autoquality["codecs"].items():
                chosen[fmt].append(int(found["quality"]))
                spent.append(int(found["encodes"]))
        table[level] = {fmt: round(statistics.median(values)) for fmt, values in chosen.items()}
        encodes[level] = round(statistics.mean(spent), 2)
    return {"quality_table": table, "mean_encodes_per_search": encodes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.optimizer.calibrate", description=__doc__)
    parser.parse_args(argv)
    try:
        tuning, _ = photo_split(photo_set())
    except (FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result = calibrate(tuning)
    print(f"tuning photos: {', '.join(p.name for p in tuning)}")
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
