"""Optimizer settings: frozen dataclasses whose defaults are the seed's values.

Every default is documented where it is declared; the CLI (``__main__``) overrides them field by field.
The per-codec quality table is the result of ``python -m functions.optimizer.calibrate`` (see README.md):
a named level means the same SSIM for every codec, not the same number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ImageFormat = Literal["avif", "webp", "jpeg"]
QualityLevel = Literal["high", "medium", "low"]

IMAGE_FORMATS: tuple[ImageFormat, ...] = ("avif", "webp", "jpeg")
QUALITY_LEVELS: tuple[QualityLevel, ...] = ("high", "medium", "low")

# What a named level means: the median SSIM (BT.601 luma, Gaussian window) that MozJPEG gives at the seed's
# numbers (high 90 / medium 75 / low 60, trellis, quant table 3) over the calibration set (19 photos:
# skimage.data x5, scikit-learn samples x2, mate-backgrounds nature x12). SSIM depends on the width, so the
# target is kept per width where it is used: at 640+1024 px for the fixed table below, and at the autoquality
# probe width (320 px) for the per-image search. Regenerate with `python -m functions.optimizer.calibrate`.
LEVEL_SSIM: dict[QualityLevel, float] = {"high": 0.986, "medium": 0.9733, "low": 0.963}
AUTOQUALITY_PROBE_WIDTH = 320
AUTOQUALITY_SSIM: dict[QualityLevel, float] = {"high": 0.9844, "medium": 0.965, "low": 0.9489}

# Fixed per-codec numbers: for each codec the lowest quality whose median SSIM over the set at 640 and 1024 px
# reaches LEVEL_SSIM (calibration run with AVIF effort 3 tune=ssim, MozJPEG quant table 0). Used as is when
# autoquality is off, and as the starting point of the per-image search when it is on.
QUALITY_TABLE: dict[QualityLevel, dict[ImageFormat, int]] = {
    "high": {"jpeg": 88, "webp": 89, "avif": 74},
    "medium": {"jpeg": 68, "webp": 74, "avif": 52},
    "low": {"jpeg": 48, "webp": 53, "avif": 46},
}

# Lowest SSIM a variant may have at each level: the minimum over all photos, widths and codecs of the
# calibration set with the fixed table (hubble_deep_field, star noise, is always the worst: high 0.914,
# medium 0.836, low 0.806), rounded down to 0.01. Autoquality only raises the worst cases (a hard photo gets a
# higher quality, up to the bound); typical photos sit far above. The tests assert every variant >= it.
SSIM_FLOOR: dict[QualityLevel, float] = {"high": 0.91, "medium": 0.83, "low": 0.80}


def quality_bounds(level: QualityLevel, fmt: ImageFormat) -> tuple[int, int]:
    """How far autoquality may move a codec's number: up to the neighbouring levels' table values.

    So "medium" never goes below what "low" means on a typical photo nor above what "high" means: easy images
    save bytes, hard ones get more, and the named levels stay ordered. The ends get the same spread mirrored.
    """
    index = QUALITY_LEVELS.index(level)  # high, medium, low
    here = QUALITY_TABLE[level][fmt]
    above = (
        QUALITY_TABLE[QUALITY_LEVELS[index - 1]][fmt]
        if index > 0
        else min(100, 2 * here - QUALITY_TABLE[QUALITY_LEVELS[index + 1]][fmt])
    )
    below = (
        QUALITY_TABLE[QUALITY_LEVELS[index + 1]][fmt]
        if index < len(QUALITY_LEVELS) - 1
        else max(1, 2 * here - QUALITY_TABLE[QUALITY_LEVELS[index - 1]][fmt])
    )
    return below, above


@dataclass(frozen=True)
class ImageSettings:
    """How images are resized and encoded."""

    widths: tuple[int, ...] = (320, 640, 1024, 1920)
    """Responsive widths (seed). Widths above the source width are skipped (never upscale); a narrower source
    gets one extra variant at its own width so the largest screens still get full resolution."""
    formats: tuple[ImageFormat, ...] = IMAGE_FORMATS
    """Output codecs, best first: AVIF, WebP, then progressive MozJPEG as the universal fallback."""
    quality: QualityLevel = "medium"
    """Named level (seed: high 90 / medium 75 / low 60 on the JPEG scale), mapped per codec by QUALITY_TABLE."""
    avif_effort: int = 3
    """AVIF encoder effort 0-9. libvips' default 4 cost 2.25 s vs 0.35 s at effort 2. With ``tune=ssim`` effort 3
    costs about the same CPU as effort 2 did with libvips' default tune, for ~10 % fewer bytes at equal SSIM."""
    webp_effort: int = 4
    """WebP effort 0-6 (libwebp `method`), its default: 6 is ~2x slower for ~1-2 % bytes."""
    max_pixels: int = 100_000_000
    """Decompression-bomb guard: images whose header declares more pixels are refused before decoding."""
    max_input_bytes: int = 100 * 1024 * 1024
    """Uploads larger than this are refused (Lambda memory is the limit, not the codecs)."""
    compute_ssim: bool = True
    """Record SSIM vs the resized source for every variant in the manifest (about a quarter of the CPU time)."""
    autoquality: bool = True
    """Pick each codec's quality per image: search at the probe width for the lowest quality whose SSIM reaches
    AUTOQUALITY_SSIM[level], within ``quality_bounds``, and use it for every width. Off = QUALITY_TABLE."""

    def quality_for(self, fmt: ImageFormat) -> int:
        """The codec quality number that means ``self.quality`` for ``fmt``."""
        return QUALITY_TABLE[self.quality][fmt]


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
