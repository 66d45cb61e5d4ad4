"""Bytes saved vs a libjpeg-turbo q75 JPEG at equal quality, by SSIM and by butteraugli (development tool).

The method every benchmark of the optimizer uses, so figures compare: the reference is the photo resized to
the width (libvips thumbnail); the baseline is libjpeg-turbo q75, progressive, optimised Huffman (Pillow's
bundled build: independent of our encoders); its SSIM (``ssim.py``, BT.601 luma) and, when asked, its
butteraugli 3-norm distance (``butteraugli.py``) are the targets; for each metric a search over integer
quality 1..100 (``autoquality.lowest_quality_reaching``: the exact lowest passing quality when the score is
monotone in quality, bisection-safeguarded) finds the smallest encode that is at least as good as the
baseline. The figure is conservative by up to one quality step. Encodes are cached per quality, so the second
metric's search reuses the first one's files; the butteraugli search starts where the SSIM search ended.
"""

from __future__ import annotations

import io
import resource
from collections.abc import Callable
from dataclasses import dataclass, field

import pyvips

from functions.optimizer.autoquality import lowest_quality_reaching
from functions.optimizer.butteraugli import ButteraugliReference
from functions.optimizer.images import _flat
from functions.optimizer.ssim import SsimReference

Encoder = Callable[[pyvips.Image, int], bytes]
METRICS = ("ssim", "butteraugli")


def jpeg_turbo(image: pyvips.Image, quality: int = 75) -> bytes:
    """The baseline: libjpeg-turbo (Pillow's bundled build), progressive, optimised Huffman, 4:2:0, no metadata."""
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.fromarray(_flat(image).numpy()).save(buffer, "JPEG", quality=quality, progressive=True, optimize=True)
    return buffer.getvalue()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Reference:
    """One photo at one width: the SSIM/butteraugli references and the baseline's size and scores."""

    name: str
    image: pyvips.Image
    ssim: SsimReference
    baseline_bytes: int
    baseline_ssim: float
    butteraugli: ButteraugliReference | None = None
    baseline_butteraugli: float | None = None

    @classmethod
    def of(cls, name: str, image: pyvips.Image, *, butteraugli: bool) -> Reference:
        baseline = jpeg_turbo(image)
        ssim = SsimReference(_flat(image))
        ref = cls(name, image, ssim, len(baseline), round(ssim.score(_decode(baseline)), 5))
        if butteraugli:
            ref.butteraugli = ButteraugliReference(image)
            ref.baseline_butteraugli = ref.butteraugli.distance(baseline)
        return ref

    def close(self) -> None:
        if self.butteraugli is not None:
            self.butteraugli.close()


def _decode(blob: bytes) -> pyvips.Image:
    """Decoded, flattened, 8-bit sRGB (a 10/12-bit AVIF decodes to 16-bit: scaled down like a browser shows it)."""
    image = pyvips.Image.new_from_buffer(blob, "")
    if image.format != "uchar":
        image = image.colourspace("srgb")
    return _flat(image)


@dataclass(frozen=True)
class Match:
    """The smallest encode at least as good as the baseline by one metric."""

    quality: int
    bytes: int
    score: float
    saved: float
    reached: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "quality": self.quality,
            "bytes": self.bytes,
            "score": round(self.score, 5),
            "saved": round(self.saved, 4),
            "reached": self.reached,
        }


@dataclass
class Result:
    """Per metric the match, plus the CPU seconds of the encode at the SSIM match (what producing it costs)."""

    matches: dict[str, Match]
    encode_cpu_seconds: float
    encodes: int
    qualities: dict[int, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            **{metric: match.as_dict() for metric, match in self.matches.items()},
            "encode_cpu_seconds": round(self.encode_cpu_seconds, 4),
            "encodes": self.encodes,
        }


def equal_quality(reference: Reference, encode: Encoder, *, start: int = 60) -> Result:
    """Smallest encode by ``encode`` reaching the baseline's SSIM (and butteraugli distance, if referenced)."""
    blobs: dict[int, bytes] = {}
    cpu: dict[int, float] = {}
    scores: dict[int, dict[str, float]] = {}

    def encoded(quality: int) -> bytes:
        if quality not in blobs:
            before = _cpu()
            blobs[quality] = encode(reference.image, quality)
            cpu[quality] = _cpu() - before
        return blobs[quality]

    def by_ssim(quality: int) -> tuple[bytes, float]:
        row = scores.setdefault(quality, {})
        if "ssim" not in row:
            row["ssim"] = reference.ssim.score(_decode(encoded(quality)))
        return blobs[quality], row["ssim"]

    def by_butteraugli(quality: int) -> tuple[bytes, float]:
        assert reference.butteraugli is not None
        row = scores.setdefault(quality, {})
        if "butteraugli" not in row:
            row["butteraugli"] = reference.butteraugli.distance(encoded(quality))
        return blobs[quality], -row["butteraugli"]  # smaller distance is better: search on its negative

    matches: dict[str, Match] = {}
    found = lowest_quality_reaching(by_ssim, reference.baseline_ssim, start, 1, 100)
    matches["ssim"] = Match(
        found.quality, len(found.blob), found.ssim, 1 - len(found.blob) / reference.baseline_bytes, found.reached
    )
    if reference.butteraugli is not None and reference.baseline_butteraugli is not None:
        other = lowest_quality_reaching(by_butteraugli, -reference.baseline_butteraugli, found.quality, 1, 100)
        matches["butteraugli"] = Match(
            other.quality,
            len(other.blob),
            -other.ssim,
            1 - len(other.blob) / reference.baseline_bytes,
            other.reached,
        )
    return Result(matches, cpu[found.quality], len(blobs), scores)
