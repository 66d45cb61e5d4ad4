"""Bytes at equal quality: the smallest encode at least as good as libjpeg-turbo q75, by SSIM and butteraugli."""

from __future__ import annotations

import pytest
import pyvips

from functions.optimizer.calibrate import Photo, resized
from functions.optimizer.equal_quality import Reference, equal_quality
from functions.optimizer.images import _encode, _measure_ssim
from functions.optimizer.settings import ImageSettings

pytestmark = pytest.mark.real


def test_matches_are_the_lowest_passing_quality(photos: list[Photo]) -> None:
    photo = next(p for p in photos if p.name == "coffee.png")
    reference = Reference.of(photo.name, resized(photo, 320), butteraugli=True)
    settings = ImageSettings()
    calls: list[int] = []

    def webp(image: pyvips.Image, quality: int) -> bytes:
        calls.append(quality)
        return _encode(image, "webp", quality, settings)

    try:
        result = equal_quality(reference, webp)
        searched = list(calls)
        assert len(searched) == len(set(searched)) == result.encodes, "each quality is encoded once"
        ssim, ba = result.matches["ssim"], result.matches["butteraugli"]
        assert ssim.reached and ba.reached
        assert ssim.score >= reference.baseline_ssim
        below = _measure_ssim(reference.image, webp(reference.image, ssim.quality - 1))
        assert below < reference.baseline_ssim, "one quality lower must miss the baseline's SSIM"
        assert reference.butteraugli is not None and reference.baseline_butteraugli is not None
        assert ba.score <= reference.baseline_butteraugli
        assert reference.butteraugli.distance(webp(reference.image, ba.quality - 1)) > reference.baseline_butteraugli
        for match in (ssim, ba):
            assert match.saved == pytest.approx(1 - match.bytes / reference.baseline_bytes)
        assert result.encode_cpu_seconds > 0
    finally:
        reference.close()


def test_without_butteraugli_only_ssim(photos: list[Photo]) -> None:
    photo = next(p for p in photos if p.name == "Storm.jpg")
    reference = Reference.of(photo.name, resized(photo, 256), butteraugli=False)
    result = equal_quality(reference, lambda image, q: _encode(image, "jpeg", q, ImageSettings()))
    assert set(result.matches) == {"ssim"} and result.matches["ssim"].reached
