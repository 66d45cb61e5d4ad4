"""Shared fixtures: the real photo set and its medium-quality variant sets, computed once per session."""

from __future__ import annotations

import pytest

from functions.optimizer.calibrate import Photo, photo_set
from functions.optimizer.images import ImageResult, optimize_image
from functions.optimizer.settings import ImageSettings


@pytest.fixture(scope="session")
def photos() -> list[Photo]:
    return photo_set()


@pytest.fixture(scope="session")
def medium_results(photos: list[Photo]) -> dict[str, ImageResult]:
    """Every variant's SSIM measured (``ssim_widths="all"``): the tests compare each width with libjpeg-turbo's."""
    settings = ImageSettings(quality="medium", ssim_widths="all")
    return {p.name: optimize_image(p.data, p.name, settings) for p in photos}
