"""Autoquality: the search finds exactly the lowest passing quality, cheaply, and the pipeline uses it."""

from __future__ import annotations

import math

import pytest

from functions.optimizer.autoquality import lowest_quality_reaching
from functions.optimizer.calibrate import Photo
from functions.optimizer.images import ImageResult, optimize_image
from functions.optimizer.settings import AUTOQUALITY_PROBE_WIDTH, AUTOQUALITY_SSIM, ImageSettings, quality_bounds

CURVES = {
    # SSIM-like shapes seen in practice: saturating, nearly linear, and flat stretches with jumps (AVIF's
    # quality -> quantizer mapping repeats values)
    "saturating": lambda q: 1 - 0.3 * math.exp(-q / 25),
    "linear": lambda q: 0.80 + 0.002 * q,
    "steps": lambda q: 0.85 + 0.0015 * (q // 3 * 3),
}


def _brute_force(curve: object, target: float, low: int, high: int) -> int | None:
    passing = [q for q in range(low, high + 1) if curve(q) >= target]  # type: ignore[operator]
    return min(passing) if passing else None


@pytest.mark.parametrize("shape", sorted(CURVES))
def test_search_matches_brute_force_within_few_encodes(shape: str) -> None:
    curve = CURVES[shape]
    worst = 0
    for low, high in ((1, 100), (44, 76), (60, 90)):
        for start in (low, (low + high) // 2, high, 75):
            for target in (0.86, 0.9, 0.93, 0.95, 0.965, 0.97, 0.98):
                calls: list[int] = []

                def measure(q: int, calls: list[int] = calls) -> tuple[bytes, float]:
                    calls.append(q)
                    return bytes([q]), curve(q)

                found = lowest_quality_reaching(measure, target, start, low, high)
                expected = _brute_force(curve, target, low, high)
                assert len(calls) == len(set(calls)), f"re-encoded a quality: {calls}"
                if expected is None:
                    assert (found.quality, found.reached) == (high, False)
                else:
                    assert (found.quality, found.reached) == (expected, True), (low, high, start, target, calls)
                    assert found.ssim >= target
                assert found.blob == bytes([found.quality]) and found.encodes == len(calls)
                if (low, high) != (1, 100):  # the level bounds are ~30 wide in practice
                    worst = max(worst, len(calls))
    assert worst <= 8, worst  # typical photos take 3-5 (manifest `encodes`)


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="quality bounds"):
        lowest_quality_reaching(lambda q: (b"", 1.0), 0.9, 50, 60, 40)


def test_bounds_keep_levels_ordered() -> None:
    for fmt in ("avif", "webp", "jpeg"):
        high, medium, low = (quality_bounds(level, fmt) for level in ("high", "medium", "low"))
        assert low[0] < medium[0] <= low[1] and medium[1] <= high[1] and medium[0] <= high[0] <= medium[1]


def test_easy_photo_gets_lower_quality_than_hard_one(medium_results: dict[str, ImageResult]) -> None:
    easy, hard = medium_results["Storm.jpg"].autoquality, medium_results["hubble_deep_field.png"].autoquality
    assert easy is not None and hard is not None
    for fmt in ("avif", "webp", "jpeg"):
        assert easy["codecs"][fmt]["quality"] < hard["codecs"][fmt]["quality"], fmt


def test_probe_hits_target_and_is_reused(medium_results: dict[str, ImageResult]) -> None:
    target = AUTOQUALITY_SSIM["medium"]
    for result in medium_results.values():
        auto = result.autoquality
        assert auto is not None and auto["target_ssim"] == target
        for fmt, chosen in auto["codecs"].items():
            assert chosen["bounds"][0] <= chosen["quality"] <= chosen["bounds"][1]
            if chosen["reached"]:
                assert chosen["probe_ssim"] >= target
            variant = next((v for v in result.variants if v.format == fmt and v.width == AUTOQUALITY_PROBE_WIDTH), None)
            if variant is not None:  # the searched encode is the variant: same quality, same SSIM
                assert (variant.quality, variant.ssim) == (chosen["quality"], chosen["probe_ssim"])
            assert {v.quality for v in result.variants if v.format == fmt} <= {chosen["quality"]}


def test_fixed_quality_when_off(photos: list[Photo]) -> None:
    photo = next(p for p in photos if p.name == "chelsea.png")
    result = optimize_image(photo.data, photo.name, ImageSettings(autoquality=False, widths=(320,)))
    assert result.autoquality is None
    assert result.variants and all(v.quality == ImageSettings().quality_for(v.format) for v in result.variants)
