"""Butteraugli through libjxl's butteraugli_main: orders distortions, refuses mismatched sizes, names its package."""

from __future__ import annotations

import pytest
import pyvips

from functions.optimizer import butteraugli
from functions.optimizer.butteraugli import ButteraugliReference, ButteraugliUnavailableError
from functions.optimizer.calibrate import MATE_NATURE

pytestmark = pytest.mark.real


def test_distance_grows_as_quality_drops() -> None:
    image = pyvips.Image.thumbnail(str(MATE_NATURE / "Wood.jpg"), 256).copy_memory()
    with ButteraugliReference(image) as reference:
        lossless = reference.distance(image.pngsave_buffer())
        distances = [reference.distance(image.jpegsave_buffer(Q=q)) for q in (95, 60, 15)]
    assert lossless == pytest.approx(0.0, abs=1e-6)
    assert 0 < distances[0] < distances[1] < distances[2], distances


def test_sees_colour_that_luma_ssim_cannot() -> None:
    """A chroma-only change (hue swap at equal luma would be invisible to luma SSIM) has a distance."""
    image = pyvips.Image.thumbnail(str(MATE_NATURE / "FreshFlower.jpg"), 200).copy_memory()
    swapped = image[2].bandjoin([image[1], image[0]])  # red <-> blue
    with ButteraugliReference(image) as reference:
        assert reference.distance(swapped.pngsave_buffer()) > 1.0


def test_sizes_must_match() -> None:
    image = pyvips.Image.black(64, 48, bands=3)
    with ButteraugliReference(image) as reference, pytest.raises(ValueError, match="equal sizes"):
        reference.distance(image.crop(0, 0, 32, 32).pngsave_buffer())


def test_missing_binary_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(butteraugli, "BINARY", "butteraugli-not-installed")
    with pytest.raises(ButteraugliUnavailableError, match="libjxl-devtools"):
        ButteraugliReference(pyvips.Image.black(16, 16, bands=3))
