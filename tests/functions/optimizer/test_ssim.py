"""Our SSIM (libvips luma, numpy float32 windows) agrees with scikit-image's reference implementation."""

from __future__ import annotations

import pytest
import pyvips
from skimage.metrics import structural_similarity

from functions.optimizer.calibrate import MATE_NATURE
from functions.optimizer.ssim import SsimReference, luma, ssim


def _skimage(reference: pyvips.Image, distorted: pyvips.Image) -> float:
    score = structural_similarity(
        luma(reference), luma(distorted),
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255,
    )  # fmt: skip
    assert isinstance(score, float)  # full=False, gradient=False: a plain mean
    return score


@pytest.mark.parametrize(("fmt", "quality"), [("jpeg", 20), ("jpeg", 60), ("jpeg", 90), ("avif", 30), ("webp", 50)])
def test_matches_skimage(fmt: str, quality: int) -> None:
    reference = pyvips.Image.thumbnail(str(MATE_NATURE / "Wood.jpg"), 512).copy_memory()
    blob = {
        "jpeg": lambda: reference.jpegsave_buffer(Q=quality),
        "avif": lambda: reference.heifsave_buffer(Q=quality, compression="av1", effort=0),
        "webp": lambda: reference.webpsave_buffer(Q=quality),
    }[fmt]()
    distorted = pyvips.Image.new_from_buffer(blob, "")
    assert ssim(reference, distorted) == pytest.approx(_skimage(reference, distorted), abs=2e-3)


def test_reference_is_reusable_and_order_free() -> None:
    reference = pyvips.Image.thumbnail(str(MATE_NATURE / "Storm.jpg"), 300).copy_memory()
    shared = SsimReference(reference)
    blobs = [reference.jpegsave_buffer(Q=q) for q in (10, 50, 95)]
    scores = [shared.score(pyvips.Image.new_from_buffer(b, "")) for b in blobs]
    assert scores == sorted(scores) and scores[-1] < 1.0
    assert scores[0] == pytest.approx(shared.score(pyvips.Image.new_from_buffer(blobs[0], "")))


def test_identical_is_one_and_sizes_must_match() -> None:
    image = pyvips.Image.gaussnoise(64, 64).cast("uchar")
    assert ssim(image, image) == pytest.approx(1.0)
    tiny = image.crop(0, 0, 8, 8)  # smaller than the 11x11 window: edges mirrored, still defined
    assert ssim(tiny, tiny) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal sizes"):
        ssim(image, image.crop(0, 0, 32, 32))
