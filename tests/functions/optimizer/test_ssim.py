"""Our libvips SSIM agrees with scikit-image's reference implementation."""

from __future__ import annotations

import pytest
import pyvips
from skimage.metrics import structural_similarity

from functions.optimizer.calibrate import MATE_NATURE
from functions.optimizer.ssim import luma, ssim


@pytest.mark.parametrize("quality", [20, 60, 90])
def test_matches_skimage(quality: int) -> None:
    reference = pyvips.Image.thumbnail(str(MATE_NATURE / "Wood.jpg"), 512).copy_memory()
    distorted = pyvips.Image.new_from_buffer(reference.jpegsave_buffer(Q=quality), "")
    expected = structural_similarity(
        luma(reference).numpy(), luma(distorted).numpy(),
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255,
    )  # fmt: skip
    assert ssim(reference, distorted) == pytest.approx(expected, abs=2e-3)


def test_identical_is_one_and_sizes_must_match() -> None:
    image = pyvips.Image.gaussnoise(64, 64).cast("uchar")
    assert ssim(image, image) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal sizes"):
        ssim(image, image.crop(0, 0, 32, 32))
