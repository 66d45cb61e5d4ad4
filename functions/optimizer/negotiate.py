"""Pick the image variant to serve for an ``Accept`` header (edge function / origin logic).

Rules (RFC 9110 §12.5.1 precedence: the most specific matching media range gives the q-value):
- AVIF and WebP are served only when the client names them (``image/avif``, ``image/webp``) with q > 0.
  Wildcards do not count: ``curl`` and old clients send ``*/*`` and cannot all decode AVIF.
- JPEG is acceptable through ``image/jpeg``, ``image/*`` or ``*/*``; it is also the answer when nothing is
  acceptable (a 406 for an <img> helps nobody).
- Among acceptable variants the highest q wins, then the fewest bytes.
- Width: the smallest variant at least as wide as requested, else the widest there is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from functions.optimizer.images import MIME, ImageVariant

_MODERN = frozenset({"image/avif", "image/webp"})


def parse_accept(header: str | None) -> dict[str, float]:
    """Media range -> q-value; a malformed q counts as 0 (not acceptable), a missing header as ``*/*``."""
    if not header or not header.strip():
        return {"*/*": 1.0}
    ranges: dict[str, float] = {}
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media or "/" not in media:
            continue
        quality = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges[media] = max(quality, ranges.get(media, 0.0)) if media in ranges else quality
    return ranges


def q_for(mime: str, ranges: Mapping[str, float]) -> float:
    """The q-value the client gives ``mime`` (0 = not acceptable)."""
    if mime in ranges:
        return ranges[mime]
    if mime in _MODERN:
        return 0.0
    kind = mime.split("/", 1)[0]
    if f"{kind}/*" in ranges:
        return ranges[f"{kind}/*"]
    return ranges.get("*/*", 0.0)


def _as_variant(item: ImageVariant | Mapping[str, Any]) -> ImageVariant:
    if isinstance(item, ImageVariant):
        return item
    return ImageVariant(
        file=str(item["file"]),
        width=int(item["width"]),
        height=int(item["height"]),
        format=item["format"],
        quality=int(item["quality"]),
        bytes=int(item["bytes"]),
        ssim=item.get("ssim"),
    )


def select_variant(
    accept: str | None,
    variants: Iterable[ImageVariant | Mapping[str, Any]],
    width: int | None = None,
) -> ImageVariant:
    """Best variant for the client (see the module docstring); ``variants`` may be manifest entries."""
    pool = [_as_variant(v) for v in variants]
    if not pool:
        msg = "select_variant needs at least one variant"
        raise ValueError(msg)
    ranges = parse_accept(accept)
    widths = sorted({v.width for v in pool})
    wanted = width if width is not None else widths[-1]
    chosen_width = next((w for w in widths if w >= wanted), widths[-1])

    def candidates_at(w: int) -> list[ImageVariant]:
        return [v for v in pool if v.width == w]

    at_width = candidates_at(chosen_width)
    acceptable = [(q_for(MIME[v.format], ranges), v) for v in at_width]
    acceptable = [(q, v) for q, v in acceptable if q > 0]
    if acceptable:
        return min(acceptable, key=lambda item: (-item[0], item[1].bytes))[1]
    jpegs = [v for v in at_width if v.format == "jpeg"] or [v for v in pool if v.format == "jpeg"]
    if jpegs:
        return min(jpegs, key=lambda v: abs(v.width - chosen_width))
    return min(at_width, key=lambda v: v.bytes)
