"""SSIM (Wang et al. 2004) on luma, computed with libvips so it is fast and needs no numpy at run time.

Parameters match scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)``: Gaussian window sigma 1.5 truncated at radius 5 (11x11),
K1 = 0.01, K2 = 0.03, mean over the image less a 5-pixel border. A test checks the two agree.
"""

from __future__ import annotations

import pyvips

_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
_BORDER = 5
_LUMA = [[0.299, 0.587, 0.114]]


def luma(image: pyvips.Image) -> pyvips.Image:
    """BT.601 luma as float, from an sRGB (or grey) image; alpha is ignored."""
    if image.hasalpha():
        image = image[: image.bands - 1]
    if image.bands == 1:
        return image.cast("float")
    return image[:3].recomb(pyvips.Image.new_from_array(_LUMA)).cast("float")


def _blur(image: pyvips.Image, kernel: pyvips.Image) -> pyvips.Image:
    return image.convsep(kernel, precision="float")


class SsimReference:
    """Reference-side statistics computed once, so scoring three codecs at one width blurs 3 images, not 5."""

    def __init__(self, reference: pyvips.Image) -> None:
        self.width, self.height = reference.width, reference.height
        # sigma 1.5, min amplitude chosen so the kernel has 11 taps like skimage's truncate=3.5
        self.kernel = pyvips.Image.gaussmat(1.5, 0.003, separable=True, precision="float")
        self.x = luma(reference).copy_memory()
        self.mu_x = _blur(self.x, self.kernel).copy_memory()
        self.sigma_xx = (_blur(self.x * self.x, self.kernel) - self.mu_x * self.mu_x).copy_memory()

    def score(self, distorted: pyvips.Image) -> float:
        """Mean SSIM of ``distorted`` against the reference (1.0 = identical)."""
        if (self.width, self.height) != (distorted.width, distorted.height):
            msg = f"ssim needs equal sizes, got {self.width}x{self.height} and {distorted.width}x{distorted.height}"
            raise ValueError(msg)
        y = luma(distorted).copy_memory()
        mu_x, kernel = self.mu_x, self.kernel
        mu_y = _blur(y, kernel)
        sigma_yy = _blur(y * y, kernel) - mu_y * mu_y
        sigma_xy = _blur(self.x * y, kernel) - mu_x * mu_y
        numerator = (mu_x * mu_y * 2 + _C1) * (sigma_xy * 2 + _C2)
        denominator = (mu_x * mu_x + mu_y * mu_y + _C1) * (self.sigma_xx + sigma_yy + _C2)
        ssim_map = numerator / denominator
        width, height = ssim_map.width, ssim_map.height
        if width > 2 * _BORDER and height > 2 * _BORDER:
            ssim_map = ssim_map.crop(_BORDER, _BORDER, width - 2 * _BORDER, height - 2 * _BORDER)
        return float(ssim_map.avg())


def ssim(reference: pyvips.Image, distorted: pyvips.Image) -> float:
    """Mean SSIM of two same-sized images (1.0 = identical)."""
    return SsimReference(reference).score(distorted)
