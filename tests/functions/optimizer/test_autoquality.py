"""Autoquality: the search finds exactly the lowest passing quality, cheaply, and the pipeline uses it; a level
means the SSIM of libjpeg-turbo at the seed's number on that image."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import pyvips
from PIL import Image as PILImage

from functions.optimizer.autoquality import lowest_quality_reaching
from functions.optimizer.calibrate import Photo, resized
from functions.optimizer.images import (
    ImageResult,
    _decode_once,
    _encode,
    _flat,
    _measure_ssim,
    jpeg_turbo,
    level_target,
    optimize_image,
    plan_widths,
)
from functions.optimizer.settings import AUTOQUALITY_PROBE_WIDTH, QUALITY_LEVELS, SEED_JPEG_QUALITY, ImageSettings
from functions.optimizer.ssim import SsimReference

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


@pytest.mark.parametrize("prior_slope", [None, 0.002, 0.00001, 0.05])
@pytest.mark.parametrize("shape", sorted(CURVES))
def test_search_matches_brute_force_within_few_encodes(shape: str, prior_slope: float | None) -> None:
    """Exact for any assumed first slope: a wrong one (far too flat or too steep) costs encodes, never the answer."""
    curve = CURVES[shape]
    worst = 0
    for low, high in ((1, 100), (44, 76), (60, 90)):
        for start in (low, (low + high) // 2, high, 75):
            for target in (0.86, 0.9, 0.93, 0.95, 0.965, 0.97, 0.98):
                calls: list[int] = []

                def measure(q: int, calls: list[int] = calls) -> tuple[bytes, float]:
                    calls.append(q)
                    return bytes([q]), curve(q)

                found = lowest_quality_reaching(measure, target, start, low, high, prior_slope=prior_slope)
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
    if prior_slope is None or prior_slope <= 0.01:  # 0.05 per step is 10x any measured photo's: cost, not answer
        assert worst <= 8, worst  # typical photos take 3-5 (manifest `encodes`)


@pytest.mark.parametrize("name", ["astronaut.png", "Storm.jpg"])
def test_pipeline_quality_is_the_exhaustive_scans(photos: list[Photo], name: str) -> None:
    """On real encoders, per codec: the quality the pipeline chose is the lowest of 1-100 whose probe SSIM reaches
    the level's target, found by encoding and scoring every quality (Storm's AVIF curve is not monotone)."""
    photo = next(p for p in photos if p.name == name)
    settings = ImageSettings(ssim_widths="none")
    result = optimize_image(photo.data, photo.name, settings)
    auto = result.autoquality
    assert auto is not None
    widths = plan_widths(result.source_width, settings.widths)
    base = _decode_once(photo.data, name, max(widths))
    probe = (
        base
        if base.width == AUTOQUALITY_PROBE_WIDTH
        else base.thumbnail_image(AUTOQUALITY_PROBE_WIDTH, height=10_000_000)
    )
    probe = probe.copy_memory()
    reference = SsimReference(_flat(probe))
    assert level_target(probe, reference, settings).ssim == auto["target_ssim"]
    for fmt in settings.formats:
        scores = [
            _measure_ssim(reference, _encode(probe, fmt, q, settings, avif_width=max(widths))) for q in range(1, 101)
        ]
        exhaustive = next(q for q, score in enumerate(scores, start=1) if score >= auto["target_ssim"])
        chosen = auto["codecs"][fmt]
        assert chosen["quality"] == exhaustive, (name, fmt, chosen)
        assert chosen["encodes"] <= 6, (name, fmt, chosen)


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="quality bounds"):
        lowest_quality_reaching(lambda q: (b"", 1.0), 0.9, 50, 60, 40)


def _pillow_turbo(image: pyvips.Image, quality: int) -> bytes:
    """libjpeg-turbo as Pillow bundles it: the seed's JPEG, independent of our libvips path."""
    buffer = io.BytesIO()
    PILImage.fromarray(image.numpy()).save(buffer, "JPEG", quality=quality, progressive=True, optimize=True)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["astronaut.png", "Storm.jpg", "hubble_deep_field.png"])
def test_reference_jpeg_is_libjpeg_turbo(photos: list[Photo], name: str) -> None:
    """The level's reference decodes to exactly libjpeg-turbo's pixels at 60, 75 and 90 (4:2:0 at 90 too)."""
    image = resized(next(p for p in photos if p.name == name), AUTOQUALITY_PROBE_WIDTH)
    for quality in SEED_JPEG_QUALITY.values():
        ours = pyvips.Image.new_from_buffer(jpeg_turbo(image, quality), "").numpy()
        theirs = np.asarray(PILImage.open(io.BytesIO(_pillow_turbo(image, quality))).convert("RGB"))
        assert np.array_equal(ours, theirs), (name, quality)


def test_levels_are_ordered_per_image(photos: list[Photo]) -> None:
    for photo in [p for p in photos if p.name in {"Storm.jpg", "hubble_deep_field.png", "coffee.png"}]:
        probe = resized(photo, AUTOQUALITY_PROBE_WIDTH)
        reference = SsimReference(_flat(probe))
        targets = [level_target(probe, reference, ImageSettings(quality=level)).ssim for level in QUALITY_LEVELS]
        assert targets == sorted(targets, reverse=True) and len(set(targets)) == 3, (photo.name, targets)


def test_target_is_the_images_own_jpeg_quality(medium_results: dict[str, ImageResult], photos: list[Photo]) -> None:
    """medium = what libjpeg-turbo q75 scores on that photo at the probe: cleaner photos get a higher target."""
    targets = {}
    for photo in photos:
        auto = medium_results[photo.name].autoquality
        assert auto is not None and auto["reference"]["quality"] == 75
        probe = resized(photo, AUTOQUALITY_PROBE_WIDTH)
        expected = SsimReference(_flat(probe)).score(pyvips.Image.new_from_buffer(_pillow_turbo(probe, 75), ""))
        # the pipeline's probe is resized from the decoded largest width, this one straight from the file
        assert auto["target_ssim"] == pytest.approx(expected, abs=1e-3), photo.name
        targets[photo.name] = auto["target_ssim"]
    assert targets["Storm.jpg"] > targets["hubble_deep_field.png"] + 0.02, targets


def test_probe_hits_target_and_is_reused(medium_results: dict[str, ImageResult]) -> None:
    settings = ImageSettings()
    assert medium_results
    for result in medium_results.values():
        auto = result.autoquality
        assert auto is not None
        target = auto["target_ssim"]
        for fmt, chosen in auto["codecs"].items():
            assert chosen["bounds"] == [1, 100] and 1 <= chosen["quality"] <= 100
            assert chosen["reached"], (result.stem, fmt, chosen)
            assert chosen["probe_ssim"] >= target
            variant = next((v for v in result.variants if v.format == fmt and v.width == AUTOQUALITY_PROBE_WIDTH), None)
            top = max(v.width for v in result.variants)
            same_encoder = fmt != "avif" or settings.avif_encoding(AUTOQUALITY_PROBE_WIDTH) == settings.avif_encoding(
                top
            )
            if variant is not None and same_encoder:  # the searched encode is the variant: same quality and SSIM
                assert (variant.quality, variant.ssim) == (chosen["quality"], chosen["probe_ssim"])
            elif variant is not None:  # AVIF searched with the top width's effort, re-encoded with the probe's own
                assert variant.quality == chosen["quality"]
            assert {v.quality for v in result.variants if v.format == fmt} <= {chosen["quality"]}


def test_fixed_quality_when_off(photos: list[Photo]) -> None:
    photo = next(p for p in photos if p.name == "chelsea.png")
    result = optimize_image(photo.data, photo.name, ImageSettings(autoquality=False, widths=(320,)))
    assert result.autoquality is None
    assert result.variants and all(v.quality == ImageSettings().quality_for(v.format) for v in result.variants)
