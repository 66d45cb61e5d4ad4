"""Responsive image variants: decode once, every width, every codec, a manifest with SSIM per variant.

Why this shape: decoding dominates for large JPEGs, so the source is decoded once with shrink-on-load to the
largest width needed, kept in memory, and every smaller width is derived from it. Metadata is dropped
(``keep="none"``: EXIF/XMP made a 320 px WebP 62 KB instead of 14 KB) after orientation and colour have
been applied to the pixels (autorotate, embedded ICC -> sRGB), so nothing a browser needs is lost.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pyvips

from functions.optimizer.autoquality import PRIOR_SLOPE, SearchResult, lowest_quality_reaching
from functions.optimizer.errors import OptimizeError
from functions.optimizer.settings import (
    AUTOQUALITY_PROBE_WIDTH,
    QUALITY_RANGE,
    SEED_JPEG_QUALITY,
    ImageFormat,
    ImageSettings,
)
from functions.optimizer.ssim import SsimReference, ssim

MIME: dict[ImageFormat, str] = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg"}
EXTENSION: dict[ImageFormat, str] = {"avif": "avif", "webp": "webp", "jpeg": "jpg"}
# Loaders we accept, by libvips loader name prefix -> the format name we report. Everything else (SVG,
# PDF, matload, magick, ...) is blocked: an upload bucket takes photos, not documents or scripts.
ACCEPTED_LOADERS: dict[str, str] = {
    "jpegload": "jpeg",
    "pngload": "png",
    "webpload": "webp",
    "heifload": "heif",
    "tiffload": "tiff",
    "gifload": "gif",
}
_EXTENSION_FORMATS = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jpe": "jpeg",
    "png": "png",
    "webp": "webp",
    "avif": "heif",
    "heic": "heif",
    "heif": "heif",
    "tif": "tiff",
    "tiff": "tiff",
    "gif": "gif",
}
IMAGE_EXTENSIONS = frozenset(_EXTENSION_FORMATS)
_HUGE = 10_000_000  # VIPS_MAX_COORD: "no limit" for the height of a width-constrained thumbnail
_ORIENTATION_SWAPS_AXES = frozenset({5, 6, 7, 8})
# keep="none" strips EXIF/XMP/ICC (typed as Any: the pyvips stubs declare `keep` as int, libvips takes flags)
_STRIP: dict[str, Any] = {"keep": "none"}
_TO_SRGB: dict[str, Any] = {"export_profile": "srgb"}  # missing from the pyvips stubs


def _harden_libvips() -> None:
    """Block loaders that parse untrusted documents (libvips marks them) and keep the cache small."""
    pyvips.block_untrusted_set(True)
    pyvips.cache_set_max(0)


_harden_libvips()


@dataclass(frozen=True)
class ImageVariant:
    """One encoded file of the variant set."""

    file: str
    width: int
    height: int
    format: ImageFormat
    quality: int
    bytes: int
    ssim: float | None

    @property
    def mime(self) -> str:
        return MIME[self.format]


@dataclass(frozen=True)
class DroppedVariant:
    """A variant that was encoded but not kept (it was not smaller than a more compatible sibling)."""

    width: int
    format: ImageFormat
    bytes: int
    reason: str


@dataclass
class ImageResult:
    """Everything produced for one source image; ``files`` maps output names to bytes."""

    stem: str
    source_bytes: int
    source_width: int
    source_height: int
    source_format: str
    variants: list[ImageVariant]
    dropped: list[DroppedVariant]
    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    autoquality: dict[str, Any] | None = None
    ssim_measured_at: list[int] = field(default_factory=list)
    """The widths whose variants carry a measured SSIM (``ImageSettings.ssim_widths``); null elsewhere."""

    @property
    def bytes_out(self) -> int:
        return sum(v.bytes for v in self.variants)


def safe_stem(name: str) -> str:
    """File stem usable in URLs and object keys (path parts and odd characters removed)."""
    stem = PurePosixPath(name.replace("\\", "/")).stem
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")
    return cleaned or "image"


def variant_name(stem: str, width: int, fmt: ImageFormat) -> str:
    return f"{stem}-{width}.{EXTENSION[fmt]}"


def plan_widths(source_width: int, widths: tuple[int, ...]) -> list[int]:
    """Configured widths that need no upscaling, plus the source width if it is narrower than the largest."""
    planned = sorted({w for w in widths if w <= source_width})
    if widths and source_width < max(widths) and source_width not in planned:
        planned.append(source_width)
    return planned


def _read_header(data: bytes, name: str, settings: ImageSettings) -> tuple[pyvips.Image, str, list[str]]:
    """Sniff the real format from the bytes, refuse what we do not take, before any pixel is decoded."""
    if not data:
        raise OptimizeError(f"{name}: empty file (0 bytes)")
    if len(data) > settings.max_input_bytes:
        raise OptimizeError(f"{name}: {len(data)} bytes exceeds the image limit of {settings.max_input_bytes}")
    try:
        header = pyvips.Image.new_from_buffer(data, "")
    except pyvips.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown format"
        raise OptimizeError(
            f"{name}: not a supported image ({reason}); accepted: {', '.join(sorted(ACCEPTED_LOADERS))}"
        ) from exc
    loader = str(header.get("vips-loader")) if header.get_typeof("vips-loader") else ""
    detected = next((fmt for prefix, fmt in ACCEPTED_LOADERS.items() if loader.startswith(prefix)), None)
    if detected is None:
        raise OptimizeError(f"{name}: format '{loader or 'unknown'}' is not accepted")
    if header.width * header.height > settings.max_pixels:
        raise OptimizeError(
            f"{name}: {header.width}x{header.height} is {header.width * header.height} pixels, over the "
            f"limit of {settings.max_pixels} (decompression-bomb guard)"
        )
    notes: list[str] = []
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    claimed = _EXTENSION_FORMATS.get(suffix)
    if claimed != detected:
        notes.append(f"extension '.{suffix}' does not match the content ({detected}); used the content")
    return header, detected, notes


def _needs_colour_transform(header: pyvips.Image) -> bool:
    """An embedded ICC profile, or CMYK (converted with libvips' built-in CMYK profile when it has none).

    Everything else is sRGB already (the web's default for untagged images) and is not transformed: asking
    libvips for an sRGB export profile on an untagged image imports it with the sRGB profile and exports it with
    the same one, a per-pixel lcms transform that changes nothing visible and cost 0.25-0.35 s of CPU per 1920 px
    photo, more than its JPEG decode and resize together (0.02-0.04 s).
    """
    return bool(header.get_typeof("icc-profile-data")) or header.interpretation == "cmyk"


def _decode_once(data: bytes, name: str, width: int, *, colour_managed: bool = True) -> pyvips.Image:
    """Shrink-on-load decode to ``width``, autorotated, in sRGB, 8-bit; alpha kept only if it is used.

    ``colour_managed``: transform to sRGB through the embedded profile (``_needs_colour_transform``).
    """
    try:
        image = pyvips.Image.thumbnail_buffer(
            data,
            width,
            height=_HUGE,
            size="down",
            **(_TO_SRGB if colour_managed else {}),
            option_string="fail_on=error",
        )
        if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
            target = "b-w" if image.bands in (1, 2) else "srgb"
            image = image.colourspace(target).cast("uchar")
        # materialise now: the load is sequential and uncached, a second pass (the alpha check) would fail
        image = image.copy_memory()
        if image.hasalpha() and float(image[image.bands - 1].min()) >= 255:  # type: ignore[arg-type]
            image = image[: image.bands - 1].copy_memory()
        return image
    except pyvips.Error as exc:
        detail = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise OptimizeError(f"{name}: cannot decode ({detail})") from exc


def _encode(
    image: pyvips.Image, fmt: ImageFormat, quality: int, settings: ImageSettings, *, avif_width: int | None = None
) -> bytes:
    """Encode one variant. Settings chosen by bytes at equal quality on the tuning photos (README, "Codec settings").

    ``avif_width``: encode AVIF with the settings of that width's class instead of the image's own (the probe
    search runs with the top width's, see ``_autoquality``).

    JPEG: MozJPEG trellis + optimised scans with the standard (Annex K) quant table 0: 7 % smaller at equal SSIM
    than MozJPEG's default table 3, which is tuned for PSNR-HVS. AVIF: effort, libaom tune and chroma
    subsampling of the image's width class (``settings.avif_encoding``), 8-bit. WebP: libwebp method
    ``webp_effort``, libwebp's defaults otherwise.
    """
    if fmt == "jpeg":
        return mozjpeg(_flat(image), quality, quant_table=0)
    if fmt == "webp":
        return image.webpsave_buffer(Q=quality, effort=settings.webp_effort, **_STRIP)
    avif = settings.avif_encoding(avif_width or image.width)
    return image.heifsave_buffer(
        Q=quality,
        compression="av1",
        effort=avif.effort,
        tune=avif.tune,
        subsample_mode=avif.subsample_mode,
        bitdepth=8,
        **_STRIP,
    )


def jpeg_turbo(image: pyvips.Image, quality: int) -> bytes:
    """What libjpeg-turbo (cjpeg, Pillow) writes at ``quality``: the reference that defines a level's SSIM.

    libvips drives the bundled MozJPEG with its libjpeg-compatible profile unless MozJPEG options are asked
    for, so with none of them, 4:2:0 at every quality (libjpeg's default; libvips' "auto" would switch to
    4:4:4 from Q 90), progressive and optimised Huffman, the decoded pixels equal libjpeg-turbo's (a test
    checks them against Pillow's libjpeg-turbo). Only the SSIM of this file is used; it is never written.
    """
    return _flat(image).jpegsave_buffer(Q=quality, interlace=True, optimize_coding=True, subsample_mode="on", **_STRIP)


def mozjpeg(image: pyvips.Image, quality: int, *, quant_table: int) -> bytes:
    """Progressive MozJPEG with trellis quantisation and optimised scans, no metadata (``image`` has no alpha)."""
    return image.jpegsave_buffer(
        Q=quality,
        interlace=True,
        optimize_coding=True,
        trellis_quant=True,
        overshoot_deringing=True,
        optimize_scans=True,
        quant_table=quant_table,
        **_STRIP,
    )


def _flat(image: pyvips.Image) -> pyvips.Image:
    return image.flatten(background=[255]) if image.hasalpha() else image


def _measure_ssim(reference: pyvips.Image | SsimReference, encoded: bytes) -> float:
    """SSIM of an encoded variant vs the un-encoded image at the same width (alpha flattened on white)."""
    decoded = _flat(pyvips.Image.new_from_buffer(encoded, ""))
    if isinstance(reference, SsimReference):
        return round(reference.score(decoded), 5)
    return round(ssim(_flat(reference), decoded), 5)


def _drop_larger(
    encoded: dict[tuple[int, ImageFormat], bytes], formats: tuple[ImageFormat, ...]
) -> list[DroppedVariant]:
    """Per width, drop a newer format that is not smaller than a more compatible one (AVIF < WebP < JPEG)."""
    order: list[ImageFormat] = [f for f in ("avif", "webp", "jpeg") if f in formats]
    dropped: list[DroppedVariant] = []
    for width in sorted({w for w, _ in encoded}):
        for index, fmt in enumerate(order):
            if (width, fmt) not in encoded:
                continue
            size = len(encoded[(width, fmt)])
            fallbacks = [(f, len(encoded[(width, f)])) for f in order[index + 1 :] if (width, f) in encoded]
            beaten = [(f, n) for f, n in fallbacks if n <= size]
            if beaten:
                other, other_size = min(beaten, key=lambda item: item[1])
                dropped.append(
                    DroppedVariant(width, fmt, size, f"not smaller than {other} ({size} >= {other_size} bytes)")
                )
                del encoded[(width, fmt)]
    return dropped


def optimize_image(
    data: bytes,
    name: str,
    settings: ImageSettings | None = None,
) -> ImageResult:
    """Produce the variant set and manifest for one image; raises OptimizeError with a clear reason."""
    settings = settings or ImageSettings()
    header, detected, notes = _read_header(data, name, settings)
    orientation = int(str(header.get("orientation"))) if header.get_typeof("orientation") else 1
    width, height = header.width, header.height
    if orientation in _ORIENTATION_SWAPS_AXES:
        width, height = height, width
    widths = plan_widths(width, settings.widths)
    base = _decode_once(data, name, max(widths), colour_managed=_needs_colour_transform(header))

    resized: dict[int, pyvips.Image] = {}
    for w in sorted(widths, reverse=True):
        resized[w] = base if w == base.width else base.thumbnail_image(w, height=_HUGE).copy_memory()

    # libvips releases the GIL: encoders (MozJPEG, libwebp are single-threaded) and SSIM run side by side
    with ThreadPoolExecutor(max_workers=2) as pool:
        try:
            return _encode_all(
                resized, settings, pool, data=data, name=name, detected=detected, notes=notes, size=(width, height)
            )
        except pyvips.Error as exc:
            raise OptimizeError(f"{name}: encoding failed ({str(exc).strip()})") from exc


def _probe_image(resized: dict[int, pyvips.Image]) -> pyvips.Image:
    """The image autoquality searches on: the probe width (or the narrowest planned width if smaller)."""
    if AUTOQUALITY_PROBE_WIDTH in resized:
        return resized[AUTOQUALITY_PROBE_WIDTH]
    narrowest = resized[min(resized)]
    if narrowest.width <= AUTOQUALITY_PROBE_WIDTH:
        return narrowest
    return narrowest.thumbnail_image(AUTOQUALITY_PROBE_WIDTH, height=_HUGE).copy_memory()


@dataclass(frozen=True)
class LevelTarget:
    """What the level means on this image: the SSIM of the reference JPEG at the seed's number, at the probe."""

    quality: int
    bytes: int
    ssim: float


def level_target(probe: pyvips.Image, reference: SsimReference, settings: ImageSettings) -> LevelTarget:
    """Encode the level's libjpeg-turbo reference of the probe and score it (one small JPEG: a few ms)."""
    quality = SEED_JPEG_QUALITY[settings.quality]
    blob = jpeg_turbo(probe, quality)
    return LevelTarget(quality, len(blob), _measure_ssim(reference, blob))


def _autoquality(
    probe: pyvips.Image,
    reference: SsimReference,
    target: float,
    settings: ImageSettings,
    pool: ThreadPoolExecutor,
    *,
    top_width: int,
) -> dict[ImageFormat, Future[SearchResult]]:
    """Per codec, the lowest quality whose SSIM at the probe width reaches ``target``.

    AVIF is searched with the AVIF settings of ``top_width``'s class, not the probe's own: the quality is
    reused at every width and must mean the same where most bytes go, and the search costs 3-6 encodes, so a
    higher effort chosen for small widths is paid once (by the probe-width variant), not per search step.
    Returns futures: the caller starts a codec's full-size encodes as soon as its search is done, so the
    cheap JPEG searches do not leave a core idle while the AVIF search runs.
    """

    def search(fmt: ImageFormat) -> SearchResult:
        def measure(quality: int) -> tuple[bytes, float]:
            blob = _encode(probe, fmt, quality, settings, avif_width=top_width)
            return blob, _measure_ssim(reference, blob)

        return lowest_quality_reaching(
            measure, target, settings.quality_for(fmt), *QUALITY_RANGE, prior_slope=PRIOR_SLOPE[fmt]
        )

    return {fmt: pool.submit(search, fmt) for fmt in settings.formats}


def _ssim_widths(widths: list[int], settings: ImageSettings, *, probe_width: int | None) -> list[int]:
    """The planned widths whose variants get a measured SSIM in the manifest (see ``ImageSettings.ssim_widths``).

    ``probe``: the probe width when it is a planned width (the search has scored the AVIF, WebP and JPEG encodes
    there: reusing them is free); otherwise (no search, or widths without it) the narrowest planned width, the
    cheapest to score.
    """
    if settings.ssim_widths == "none":
        return []
    if settings.ssim_widths == "all":
        return list(widths)
    return [probe_width if probe_width in widths else min(widths)]


def _encode_all(
    resized: dict[int, pyvips.Image],
    settings: ImageSettings,
    pool: ThreadPoolExecutor,
    *,
    data: bytes,
    name: str,
    detected: str,
    notes: list[str],
    size: tuple[int, int],
) -> ImageResult:
    widths = sorted(resized)
    quality: dict[ImageFormat, int] = {fmt: settings.quality_for(fmt) for fmt in settings.formats}
    references: dict[int, SsimReference] = {}
    encoded: dict[tuple[int, ImageFormat], bytes] = {}
    scores: dict[tuple[int, ImageFormat], float | None] = {}
    autoquality: dict[str, Any] | None = None
    pending: dict[tuple[int, ImageFormat], Future[bytes]] = {}

    def submit(keys: list[tuple[int, ImageFormat]]) -> None:
        for w, fmt in keys:
            if (w, fmt) not in encoded:
                pending[(w, fmt)] = pool.submit(_encode, resized[w], fmt, quality[fmt], settings)

    probe: pyvips.Image | None = None
    if settings.autoquality:
        probe = _probe_image(resized)
        probe_reference = SsimReference(_flat(probe))
        target = level_target(probe, probe_reference, settings)
        searches = _autoquality(probe, probe_reference, target.ssim, settings, pool, top_width=max(widths))
        probe_avif_is_final = settings.avif_encoding(probe.width) == settings.avif_encoding(max(widths))
        codec_of: dict[Future[SearchResult], ImageFormat] = {future: fmt for fmt, future in searches.items()}
        found: dict[ImageFormat, SearchResult] = {}
        for future in as_completed(codec_of):
            fmt = codec_of[future]
            found[fmt] = future.result()
            quality[fmt] = found[fmt].quality
            reusable = fmt != "avif" or probe_avif_is_final
            if probe.width in resized and reusable:  # the search encoded and scored that width: reuse, not redo
                references[probe.width] = probe_reference
                encoded[(probe.width, fmt)] = found[fmt].blob
                scores[(probe.width, fmt)] = round(found[fmt].ssim, 5)
            submit([(w, fmt) for w in reversed(widths)])  # biggest first: long encodes never run alone at the end
        autoquality = {
            "probe_width": probe.width,
            "target_ssim": target.ssim,
            "reference": {"encoder": "libjpeg-turbo", "quality": target.quality, "bytes": target.bytes},
            "codecs": {
                fmt: {
                    "quality": found[fmt].quality,
                    "probe_ssim": round(found[fmt].ssim, 5),
                    "reached": found[fmt].reached,
                    "encodes": found[fmt].encodes,
                    "bounds": list(QUALITY_RANGE),
                }
                for fmt in settings.formats
            },
        }
    else:
        submit([(w, fmt) for w in reversed(widths) for fmt in settings.formats])
    encoded.update({key: future.result() for key, future in pending.items()})
    dropped = _drop_larger(encoded, settings.formats)
    kept = sorted(encoded)
    measured = _ssim_widths(widths, settings, probe_width=probe.width if probe is not None else None)
    if measured:
        todo_widths = [w for w in measured if w not in references and any(k[0] == w for k in kept)]
        references.update(
            zip(todo_widths, pool.map(lambda w: SsimReference(_flat(resized[w])), todo_widths), strict=True)
        )
        todo = [key for key in kept if key[0] in measured and key not in scores]
        scores.update(
            zip(todo, pool.map(lambda key: _measure_ssim(references[key[0]], encoded[key]), todo), strict=True)
        )

    variants: list[ImageVariant] = []
    for w, fmt in kept:
        blob = encoded[(w, fmt)]
        variants.append(
            ImageVariant(
                file=variant_name(safe_stem(name), w, fmt),
                width=w,
                height=resized[w].height,
                format=fmt,
                quality=quality[fmt],
                bytes=len(blob),
                ssim=scores.get((w, fmt)) if w in measured else None,
            )
        )
    result = ImageResult(
        stem=safe_stem(name),
        source_bytes=len(data),
        source_width=size[0],
        source_height=size[1],
        source_format=detected,
        variants=variants,
        dropped=dropped,
        notes=notes,
        autoquality=autoquality,
        ssim_measured_at=[w for w in measured if any(v.width == w for v in variants)],
    )
    result.files = {v.file: encoded[(v.width, v.format)] for v in variants}
    manifest = build_manifest(result, settings, hashlib.sha256(data).hexdigest())
    result.files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return result


def srcset(variants: list[ImageVariant], fmt: ImageFormat, prefix: str = "") -> str:
    """``srcset`` attribute value for one format (widths ascending)."""
    chosen = sorted((v for v in variants if v.format == fmt), key=lambda v: v.width)
    return ", ".join(f"{prefix}{v.file} {v.width}w" for v in chosen)


def picture_html(variants: list[ImageVariant], prefix: str = "", sizes: str = "100vw", alt: str = "") -> str:
    """A ``<picture>`` element: AVIF and WebP sources, JPEG ``<img>`` fallback with intrinsic size."""
    lines = ["<picture>"]
    for fmt in ("avif", "webp"):
        value = srcset(variants, fmt, prefix)
        if value:
            lines.append(f'  <source type="{MIME[fmt]}" srcset="{value}" sizes="{sizes}">')
    fallback_format: ImageFormat = "jpeg" if any(v.format == "jpeg" for v in variants) else variants[0].format
    fallbacks = sorted((v for v in variants if v.format == fallback_format), key=lambda v: v.width)
    default = next((v for v in reversed(fallbacks) if v.width <= 1024), fallbacks[0])
    lines.append(
        f'  <img src="{prefix}{default.file}" srcset="{srcset(variants, fallback_format, prefix)}" '
        f'sizes="{sizes}" width="{default.width}" height="{default.height}" alt="{html.escape(alt)}" '
        'loading="lazy" decoding="async">'
    )
    lines.append("</picture>")
    return "\n".join(lines)


def build_manifest(result: ImageResult, settings: ImageSettings, source_sha256: str) -> dict[str, Any]:
    """The manifest written beside the variants (no timings, so re-runs give the same bytes)."""
    return {
        "version": 1,
        "source": {
            "bytes": result.source_bytes,
            "width": result.source_width,
            "height": result.source_height,
            "format": result.source_format,
            "sha256": source_sha256,
        },
        "quality": settings.quality,
        "autoquality": result.autoquality,
        "ssim_measured_at": result.ssim_measured_at,
        "variants": [asdict(v) | {"mime": v.mime} for v in result.variants],
        "dropped": [asdict(d) for d in result.dropped],
        "srcset": {fmt: srcset(result.variants, fmt) for fmt in settings.formats},
        "picture": picture_html(result.variants),
        "notes": result.notes,
    }
