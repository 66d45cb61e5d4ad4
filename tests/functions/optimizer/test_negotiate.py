"""Accept-header negotiation picks the best acceptable variant."""

from __future__ import annotations

import pytest

from functions.optimizer.images import ImageVariant
from functions.optimizer.negotiate import parse_accept, q_for, select_variant


def _variant(width: int, fmt: str, size: int) -> ImageVariant:
    ext = {"avif": "avif", "webp": "webp", "jpeg": "jpg"}[fmt]
    return ImageVariant(f"x-{width}.{ext}", width, width // 2, fmt, 50, size, 0.97)  # type: ignore[arg-type]


VARIANTS = [
    _variant(320, "avif", 3000), _variant(320, "webp", 3500), _variant(320, "jpeg", 5000),
    _variant(640, "avif", 8000), _variant(640, "webp", 9000), _variant(640, "jpeg", 14000),
    _variant(1024, "webp", 20000), _variant(1024, "jpeg", 30000),
]  # fmt: skip

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI_15 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"


@pytest.mark.parametrize(
    ("accept", "width", "expected"),
    [
        (CHROME, 640, "x-640.avif"),
        (SAFARI_15, 640, "x-640.webp"),
        ("*/*", 640, "x-640.jpg"),
        (None, 640, "x-640.jpg"),
        ("image/avif;q=0,image/webp,image/*", 320, "x-320.webp"),
        ("image/avif;q=0.5,image/webp;q=0.9,image/jpeg;q=0.1", 320, "x-320.webp"),
        ("image/jpeg;q=1,image/avif;q=0.5", 320, "x-320.jpg"),
        (CHROME, 1024, "x-1024.webp"),  # no AVIF at 1024 (dropped): next best
        (CHROME, 500, "x-640.avif"),  # smallest variant at least as wide as requested
        (CHROME, 4000, "x-1024.webp"),  # never more than the widest there is
        ("text/html", 320, "x-320.jpg"),  # nothing acceptable: JPEG fallback
        ("image/webp;q=abc, image/jpeg", 320, "x-320.jpg"),  # malformed q = not acceptable
    ],
)
def test_select_variant(accept: str | None, width: int, expected: str) -> None:
    assert select_variant(accept, VARIANTS, width).file == expected


def test_manifest_entries_work_too() -> None:
    entries = [{"file": v.file, "width": v.width, "height": v.height, "format": v.format,
                "quality": v.quality, "bytes": v.bytes, "ssim": v.ssim} for v in VARIANTS]  # fmt: skip
    assert select_variant(CHROME, entries, 320).file == "x-320.avif"


def test_q_values_and_specificity() -> None:
    ranges = parse_accept("image/*;q=0.3, */*;q=0.1, image/jpeg;q=0.7")
    assert q_for("image/jpeg", ranges) == 0.7
    assert q_for("image/png", ranges) == 0.3
    assert q_for("image/avif", ranges) == 0.0  # wildcards do not admit AVIF
    with pytest.raises(ValueError, match="at least one"):
        select_variant(CHROME, [])
