"""Optimizer settings: frozen dataclasses whose defaults are the seed's values.

Every default is documented where it is declared; the CLI (``__main__``) overrides them field by field.
A named level means, per image, the SSIM of a libjpeg-turbo JPEG at the seed's number (see README.md), the
same for every codec; the per-codec quality table is only where the search starts (and the fixed numbers when
autoquality is off), from ``python -m functions.optimizer.calibrate`` on the tuning photos.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

ImageFormat = Literal["avif", "webp", "jpeg"]
QualityLevel = Literal["high", "medium", "low"]

IMAGE_FORMATS: tuple[ImageFormat, ...] = ("avif", "webp", "jpeg")
QUALITY_LEVELS: tuple[QualityLevel, ...] = ("high", "medium", "low")

# What a named level means, per image: at least the SSIM (BT.601 luma, Gaussian window) that a libjpeg-turbo
# JPEG at the seed's number (high 90 / medium 75 / low 60; progressive, optimised Huffman, 4:2:0, as cjpeg
# and Pillow write it) has on *that* image at the probe width. Per image, because a fixed SSIM calibrated on
# one photo set means a different JPEG quality on cleaner or noisier photos (a smooth wallpaper's q75 JPEG
# scores ~0.98, a noisy photo's ~0.95). The optimizer encodes that reference JPEG of the 320 px probe itself
# (``images.jpeg_turbo``: libvips' libjpeg-compatible path, pixel-identical to libjpeg-turbo).
SEED_JPEG_QUALITY: dict[QualityLevel, int] = {"high": 90, "medium": 75, "low": 60}
AUTOQUALITY_PROBE_WIDTH = 320

# Per codec the quality the per-image search starts from, and the fixed number when autoquality is off: the
# median over the tuning photos of the quality the search chose for them (`python -m
# functions.optimizer.calibrate`, tuning photos only; 4.5-5.7 encodes per search). The search itself ranges
# over 1-100. MozJPEG needs more than 75 to match libjpeg-turbo q75: trellis quantisation trades SSIM for bytes.
QUALITY_TABLE: dict[QualityLevel, dict[ImageFormat, int]] = {
    "high": {"jpeg": 91, "webp": 90, "avif": 79},
    "medium": {"jpeg": 78, "webp": 74, "avif": 56},
    "low": {"jpeg": 65, "webp": 52, "avif": 48},
}
QUALITY_RANGE = (1, 100)

AvifTune = Literal["ssim", "psnr", "iq"]
ChromaSubsampling = Literal["on", "off", "auto"]
SsimWidths = Literal["probe", "all", "none"]
SSIM_WIDTHS: tuple[SsimWidths, ...] = ("probe", "all", "none")


@dataclass(frozen=True)
class AvifEncoding:
    """libaom settings for one width class (libvips/libheif pass effort, tune and chroma subsampling)."""

    effort: int
    """libvips effort 0-9 (= 9 - libaom speed)."""
    tune: AvifTune
    """libaom tune: ``ssim``, ``psnr`` or ``iq`` (image quality, libaom >= 3.12; the bundled one is 3.15)."""
    subsample_mode: ChromaSubsampling
    """``on`` = 4:2:0, ``off`` = 4:4:4, ``auto`` = libvips' rule (4:4:4 from Q 90 up)."""


# Width classes, ascending by their largest width (None: no upper bound), and the AVIF settings
# `bench/encoder_search.py` chose for each on the tuning photos (measured at 320, 640 and 1024 px; 1920 px
# uses the 1024 px choice; boundaries sit between the measured widths). Rule: the highest of (median bytes
# saved vs libjpeg-turbo q75 at equal SSIM, the same at equal butteraugli) -- whichever is lower -- less one
# point per doubling of encode CPU, among candidates costing at most 1.5x the cheapest of their stage (the
# time target: we are timed against the vips CLI doing the same encodes, so our encode CPU must stay at its).
# Tune and chroma are chosen once, at 1024 px, for every width (the quality found on the probe must mean the
# same at every width): tune=iq 4:2:0 (tune=ssim saves 51.8 % at equal SSIM but 43.2 % at equal butteraugli;
# iq 46.0 / 45.1 %: tune=ssim's lead exists only for SSIM). Effort 3 at every width: higher efforts save more
# (320 px effort 6: 48.6 / 48.6 % vs 40.8 / 45.7 %; 640 px effort 5: 48.2 / 47.1 % vs 44.5 / 45.1 %;
# 1024 px effort 5: 50.7 / 47.2 % vs 46.0 / 45.1 %) but cost 4-11x the encode, and libaom 3.15 with tune=iq
# at effort 5-6 costs ~3x what the CLI's libaom 3.6 does at the same effort. Sharpness (through libavif) and
# 10-bit gained nothing at equal butteraugli. `--avif-effort` trades CPU for bytes where that is wanted.
AVIF_WIDTH_CLASSES: tuple[tuple[int | None, AvifEncoding], ...] = (
    (480, AvifEncoding(effort=3, tune="iq", subsample_mode="on")),
    (800, AvifEncoding(effort=3, tune="iq", subsample_mode="on")),
    (None, AvifEncoding(effort=3, tune="iq", subsample_mode="on")),
)


def avif_encoding(width: int) -> AvifEncoding:
    """The AVIF settings of the width class ``width`` falls in."""
    for largest, encoding in AVIF_WIDTH_CLASSES:
        if largest is None or width <= largest:
            return encoding
    return AVIF_WIDTH_CLASSES[-1][1]


@dataclass(frozen=True)
class ImageSettings:
    """How images are resized and encoded."""

    widths: tuple[int, ...] = (320, 640, 1024, 1920)
    """Responsive widths (seed). Widths above the source width are skipped (never upscale); a narrower source
    gets one extra variant at its own width so the largest screens still get full resolution."""
    formats: tuple[ImageFormat, ...] = IMAGE_FORMATS
    """Output codecs, best first: AVIF, WebP, then progressive MozJPEG as the universal fallback."""
    quality: QualityLevel = "medium"
    """Named level (seed: high 90 / medium 75 / low 60 on the JPEG scale): per image, at least the SSIM of a
    libjpeg-turbo JPEG at that number (SEED_JPEG_QUALITY); QUALITY_TABLE when autoquality is off."""
    avif_effort: int | None = None
    """AVIF encoder effort 0-9 at every width; None = the width class's effort (AVIF_WIDTH_CLASSES), chosen
    with its tune and chroma by bytes at equal quality per CPU second."""
    webp_effort: int = 4
    """WebP effort 0-6 (libwebp `method`), its default: 6 costs 1.7x the CPU for 0.6 points at equal SSIM.
    Every other libwebp field stays at libwebp's default: the encoder search's choice on the tuning photos
    (spatial noise shaping 10: +7 points there) lost 5.7 points on the evaluation photos (README)."""
    max_pixels: int = 100_000_000
    """Decompression-bomb guard: images whose header declares more pixels are refused before decoding."""
    max_input_bytes: int = 100 * 1024 * 1024
    """Uploads larger than this are refused (Lambda memory is the limit, not the codecs)."""
    ssim_widths: SsimWidths = "probe"
    """Which variants' manifest ``ssim`` is measured (SSIM vs the source resized to the variant's own width):
    ``probe`` = the variants at the probe width, where the search already encoded and scored them (no extra
    work; the level is defined there; the narrowest planned width if the probe width is not planned), ``null``
    at the other widths; ``all`` = every variant (decodes and
    scores each one: about 0.8 s more CPU for a 1920 px photo, +40 %); ``none`` = no column."""
    autoquality: bool = True
    """Pick each codec's quality per image: search at the probe width for the lowest quality whose SSIM reaches
    the level's reference JPEG's SSIM on that image, and use it for every width. Off = QUALITY_TABLE."""

    def quality_for(self, fmt: ImageFormat) -> int:
        """The codec quality number the level starts from (and uses as is without autoquality) for ``fmt``."""
        return QUALITY_TABLE[self.quality][fmt]

    def avif_encoding(self, width: int) -> AvifEncoding:
        """The AVIF settings used at ``width``: its width class's, with ``avif_effort`` if one is set."""
        encoding = avif_encoding(width)
        return encoding if self.avif_effort is None else replace(encoding, effort=self.avif_effort)


@dataclass(frozen=True)
class Rung:
    """One rung of the video bitrate ladder (kbit/s); maxrate/bufsize follow the usual 1.07x / 1.5x."""

    height: int
    h264_kbps: int
    vp9_kbps: int


@dataclass(frozen=True)
class VideoSettings:
    """How videos are transcoded (ffmpeg CLI)."""

    ladder: tuple[Rung, ...] = (
        Rung(1080, 5000, 1800),
        Rung(720, 2800, 1024),
        Rung(480, 1400, 750),
    )
    """Seed heights 1080p/720p/480p. H.264 rates follow common HLS ladders; VP9 rates follow Google's VOD
    recommendations (VP9 needs ~40-60 % of H.264's bitrate for the same quality)."""
    segment_seconds: int = 4
    """HLS segment length; keyframes are forced every segment so renditions switch cleanly."""
    x264_preset: str = "medium"
    """x264 speed/size trade-off; `veryfast` is ~3x faster for ~15 % more bytes at the same rate control."""
    vp9_cpu_used: int = 4
    """libvpx-vp9 `-cpu-used` with `-deadline good` (0 slowest/best, 8 fastest)."""
    audio_kbps: int = 128
    """AAC (MP4/HLS) audio bitrate; Opus in WebM uses 3/4 of it."""
    max_duration_seconds: float = 4 * 3600
    """Refuse longer inputs (a Job has a deadline; split long masters upstream)."""

    @property
    def heights(self) -> tuple[int, ...]:
        """Rendition heights, largest first."""
        return tuple(r.height for r in self.ladder)


@dataclass(frozen=True)
class TextSettings:
    """How HTML/CSS/JS and other text assets are minified and precompressed."""

    minify: bool = True
    """Minify HTML (minify-html), CSS (rcssmin) and JS (rjsmin) before compressing."""
    gzip_level: int = 9
    """gzip level 1-9; output is reproducible (mtime 0, no file name in the header)."""
    brotli_quality: int = 11
    """brotli quality 0-11; 11 is slow but assets are compressed once and served many times."""
    max_input_bytes: int = 20 * 1024 * 1024
    """Refuse text files larger than this (a 20 MB bundle is a bug upstream)."""


@dataclass(frozen=True)
class OptimizerSettings:
    """All settings; ``OptimizerSettings()`` is the seed configuration."""

    image: ImageSettings = field(default_factory=ImageSettings)
    video: VideoSettings = field(default_factory=VideoSettings)
    text: TextSettings = field(default_factory=TextSettings)
