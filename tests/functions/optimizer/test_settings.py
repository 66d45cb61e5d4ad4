"""AVIF width classes: every width has one, ascending, and an explicit effort overrides only the effort."""

from __future__ import annotations

import itertools

import pyvips

from functions.optimizer.images import _encode
from functions.optimizer.settings import AVIF_WIDTH_CLASSES, ImageSettings, avif_encoding


def test_width_classes_cover_every_width_in_order() -> None:
    bounds = [largest for largest, _ in AVIF_WIDTH_CLASSES]
    assert bounds[-1] is None and all(b is not None for b in bounds[:-1])
    finite = [b for b in bounds if b is not None]
    assert finite == sorted(finite) and len(set(finite)) == len(finite)
    for (largest, encoding), (_, following) in itertools.pairwise(AVIF_WIDTH_CLASSES):
        assert largest is not None
        assert avif_encoding(largest) == encoding and avif_encoding(largest + 1) == following
    assert avif_encoding(1) == AVIF_WIDTH_CLASSES[0][1] and avif_encoding(100_000) == AVIF_WIDTH_CLASSES[-1][1]


def test_explicit_effort_overrides_only_the_effort() -> None:
    for width in (320, 640, 1024, 1920):
        default = ImageSettings().avif_encoding(width)
        forced = ImageSettings(avif_effort=0).avif_encoding(width)
        assert forced.effort == 0 and (forced.tune, forced.subsample_mode) == (default.tune, default.subsample_mode)


def test_encoder_uses_the_width_class() -> None:
    image = (
        pyvips.Image.gaussnoise(96, 64, mean=128, sigma=30).cast("uchar").bandjoin([0, 0]).copy(interpretation="srgb")
    )
    default = _encode(image, "avif", 50, ImageSettings())
    assert _encode(image, "avif", 50, ImageSettings()) == default, "deterministic"
    assert _encode(image, "avif", 50, ImageSettings(avif_effort=0)) != default
