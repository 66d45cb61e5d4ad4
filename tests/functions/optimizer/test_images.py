"""Variant sets on real photos: files, widths, SSIM floors, metadata handling, savings at equal SSIM."""

from __future__ import annotations

import json
import statistics
from typing import Any

import numpy as np
import pytest
import pyvips

from functions.optimizer.calibrate import Photo, resized
from functions.optimizer.equal_quality import Reference, equal_quality
from functions.optimizer.errors import OptimizeError
from functions.optimizer.images import (
    ImageResult,
    _decode_once,
    _encode,
    _needs_colour_transform,
    jpeg_turbo,
    optimize_image,
    plan_widths,
)
from functions.optimizer.settings import SEED_JPEG_QUALITY, ImageFormat, ImageSettings, QualityLevel, SsimWidths
from functions.optimizer.ssim import SsimReference

pytestmark = pytest.mark.real
# How far below libjpeg-turbo's SSIM at the same width a variant may be: the level is met exactly at the 320 px
# probe and its quality is reused at every width, where the codecs' SSIM curves run a little differently
# (median over all variants: AVIF +0.0002, WebP -0.002). A star field is the documented exception: at 320 px
# the stars are a few pixels, at 1000 px WebP smooths what the probe could not show (-0.07).
SSIM_SHORTFALL = 0.03
STAR_FIELD, STAR_FIELD_SHORTFALL = "hubble_deep_field", 0.1


def test_photo_set_is_the_documented_one(photos: list[Photo]) -> None:
    names = {p.name for p in photos}
    assert {"astronaut.png", "hubble_deep_field.png", "china.jpg", "flower.jpg", "Storm.jpg"} <= names
    assert len(photos) >= 15


def test_plan_widths_never_upscales() -> None:
    assert plan_widths(2560, (320, 640, 1024, 1920)) == [320, 640, 1024, 1920]
    assert plan_widths(1000, (320, 640, 1024, 1920)) == [320, 640, 1000]
    assert plan_widths(200, (320, 640)) == [200]
    assert plan_widths(640, (320, 640, 1024)) == [320, 640]


def test_every_variant_exists_with_the_right_width(photos: list[Photo], medium_results: dict[str, ImageResult]) -> None:
    settings = ImageSettings()
    for photo in photos:
        result = medium_results[photo.name]
        header = pyvips.Image.new_from_buffer(photo.data, "")
        expected_widths = plan_widths(header.width, settings.widths)
        dropped = {(d.width, d.format) for d in result.dropped}
        for width in expected_widths:
            for fmt in settings.formats:
                kept = [v for v in result.variants if v.width == width and v.format == fmt]
                assert kept or (width, fmt) in dropped, f"{photo.name}: no {fmt} at {width}"
        assert all(v.format != "jpeg" for v in result.dropped), "JPEG is the fallback and is never dropped"
        for variant in result.variants:
            decoded = pyvips.Image.new_from_buffer(result.files[variant.file], "")
            assert decoded.width == variant.width <= header.width
            assert decoded.height == variant.height
            assert str(decoded.get("vips-loader")).startswith(
                {"jpeg": "jpeg", "webp": "webp", "avif": "heif"}[variant.format]
            )
            assert len(result.files[variant.file]) == variant.bytes
        manifest = json.loads(result.files["manifest.json"])
        assert [v["file"] for v in manifest["variants"]] == [v.file for v in result.variants]
        assert "<picture>" in manifest["picture"] and 'type="image/avif"' in manifest["picture"]


def test_dropped_variants_were_not_smaller(medium_results: dict[str, ImageResult]) -> None:
    for result in medium_results.values():
        for dropped in result.dropped:
            siblings = [v for v in result.variants if v.width == dropped.width]
            assert any(v.bytes <= dropped.bytes for v in siblings)


def _shortfalls(photo: Photo, result: ImageResult, level: QualityLevel) -> list[tuple[float, str]]:
    """Per variant: its SSIM less what libjpeg-turbo at the level's number scores at that width (< 0: worse)."""
    rows = []
    for width in sorted({v.width for v in result.variants}):
        image = resized(photo, width)
        reference = SsimReference(image)
        turbo = reference.score(pyvips.Image.new_from_buffer(jpeg_turbo(image, SEED_JPEG_QUALITY[level]), ""))
        rows += [(float(v.ssim or 0) - turbo, v.file) for v in result.variants if v.width == width]
    return rows


def test_medium_is_libjpeg_turbo_q75_quality_at_every_width(
    photos: list[Photo], medium_results: dict[str, ImageResult]
) -> None:
    """Exact at the probe (the search's target); elsewhere within SSIM_SHORTFALL, the quality being found at 320 px."""
    rows = [row for p in photos for row in _shortfalls(p, medium_results[p.name], "medium")]
    assert rows and all(isinstance(gap, float) for gap, _ in rows)
    for fmt in ("avif", "webp", "jpg"):
        assert statistics.median(gap for gap, file in rows if file.endswith(fmt)) >= -0.005, fmt
    worst = min(row for row in rows if not row[1].startswith(STAR_FIELD))
    print(f"worst medium variant vs libjpeg-turbo q75 at its width: {worst}, star field {min(rows)}")
    assert worst[0] >= -SSIM_SHORTFALL, worst
    assert min(rows)[0] >= -STAR_FIELD_SHORTFALL, min(rows)


@pytest.mark.parametrize("level", ["high", "low"])
def test_other_levels_are_their_jpeg_quality(photos: list[Photo], level: QualityLevel) -> None:
    chosen = [p for p in photos if p.name in {"hubble_deep_field.png", "astronaut.png", "Wood.jpg", "flower.jpg"}]
    settings = ImageSettings(quality=level, widths=(320, 640), ssim_widths="all")
    for photo in chosen:
        result = optimize_image(photo.data, photo.name, settings)
        worst = min(_shortfalls(photo, result, level))
        allowed = STAR_FIELD_SHORTFALL if photo.name.startswith(STAR_FIELD) else SSIM_SHORTFALL
        assert worst[0] >= -allowed, (level, worst)


def test_levels_mean_the_same_quality_across_codecs(medium_results: dict[str, ImageResult]) -> None:
    """The calibration claim: per level, codec medians land within 0.01 SSIM of MozJPEG's."""
    medians = {
        fmt: statistics.median(v.ssim or 0 for r in medium_results.values() for v in r.variants if v.format == fmt)
        for fmt in ("avif", "webp", "jpeg")
    }
    assert abs(medians["avif"] - medians["jpeg"]) < 0.01, medians
    assert abs(medians["webp"] - medians["jpeg"]) < 0.01, medians


def test_bytes_saved_vs_libjpeg_turbo_q75_at_equal_ssim(photos: list[Photo], record_property) -> None:
    settings = ImageSettings()
    saved: dict[ImageFormat, list[float]] = {"avif": [], "webp": []}
    for photo in photos:
        reference = Reference.of(photo.name, resized(photo, 640), butteraugli=False)
        for fmt, values in saved.items():
            found = equal_quality(reference, lambda im, q, f=fmt: _encode(im, f, q, settings)).matches["ssim"]
            assert found.reached and found.score >= reference.baseline_ssim
            values.append(found.saved)
    medians = {fmt: round(statistics.median(values), 3) for fmt, values in saved.items()}
    record_property("median_saved_vs_turbo_q75_at_640", medians)
    print(f"median bytes saved vs libjpeg-turbo q75 at equal SSIM (640 px): {medians}")
    assert medians["avif"] > medians["webp"] > 0.1


def _tagged_jpeg(orientation: int, profile: str | None) -> bytes:
    """400x200: left half a mid orange, right half blue; EXIF orientation and an ICC profile attached."""
    left = pyvips.Image.black(200, 200, bands=3).new_from_image([200, 120, 60])
    right = pyvips.Image.black(200, 200, bands=3).new_from_image([40, 60, 200])
    image = left.join(right, "horizontal").copy(interpretation="srgb").cast("uchar")
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    options: dict[str, Any] = {"profile": profile} if profile else {}
    return image.jpegsave_buffer(Q=95, **options)


def test_autorotate_then_strip_metadata() -> None:
    result = optimize_image(_tagged_jpeg(6, None), "rotated.jpg", ImageSettings(widths=(100, 400)))
    top = max(result.variants, key=lambda v: v.width)
    assert (result.source_width, result.source_height) == (200, 400)
    assert (top.width, top.height) == (200, 400), "orientation 6 rotates 400x200 to portrait"
    for variant in result.variants:
        decoded = pyvips.Image.new_from_buffer(result.files[variant.file], "")
        assert decoded.get_typeof("orientation") == 0 or decoded.get("orientation") == 1
        assert decoded.get_typeof("exif-data") == 0
        assert decoded.get_typeof("icc-profile-data") == 0
        # after rotating 90° clockwise, the orange half is on top
        assert (
            decoded.crop(0, 0, decoded.width, decoded.height // 4).avg()
            > decoded.crop(0, decoded.height * 3 // 4, decoded.width, decoded.height // 4).avg()
        )


def test_embedded_icc_profile_is_converted_to_srgb() -> None:
    plain = optimize_image(_tagged_jpeg(1, None), "plain.jpg", ImageSettings(widths=(400,), formats=("webp",)))
    wide = optimize_image(_tagged_jpeg(1, "p3"), "p3.jpg", ImageSettings(widths=(400,), formats=("webp",)))
    plain_px = pyvips.Image.new_from_buffer(plain.files["plain-400.webp"], "")(50, 100)
    wide_px = pyvips.Image.new_from_buffer(wide.files["p3-400.webp"], "")(50, 100)
    assert pyvips.Image.new_from_buffer(wide.files["p3-400.webp"], "").get_typeof("icc-profile-data") == 0
    # the same numbers mean a more saturated orange in Display P3: in sRGB red goes up, blue down
    assert wide_px[0] > plain_px[0] + 5 and wide_px[2] < plain_px[2]


def test_untagged_images_skip_the_colour_transform_with_the_same_pixels(photos: list[Photo]) -> None:
    """No embedded profile: the pixels are sRGB already; the lcms round trip was CPU that changed nothing."""
    untagged = [p for p in photos if p.name in {"Aqua.jpg", "astronaut.png", "RainDrops.jpg"}]
    assert len(untagged) == 3
    china = next(p for p in photos if p.name == "china.jpg")  # scikit-learn's sample carries an sRGB profile
    assert _needs_colour_transform(pyvips.Image.new_from_buffer(china.data, ""))
    for photo in untagged:
        header = pyvips.Image.new_from_buffer(photo.data, "")
        assert not _needs_colour_transform(header), photo.name
        managed = _decode_once(photo.data, photo.name, 640, colour_managed=True).numpy()
        assert np.array_equal(managed, _decode_once(photo.data, photo.name, 640, colour_managed=False).numpy())
    tagged = pyvips.Image.new_from_buffer(_tagged_jpeg(1, "p3"), "")
    assert _needs_colour_transform(tagged)
    assert _needs_colour_transform(pyvips.Image.black(8, 8, bands=4).copy(interpretation="cmyk"))


@pytest.mark.parametrize("scope", ["probe", "all", "none"])
def test_manifest_ssim_is_the_measured_ssim_of_the_file(photos: list[Photo], scope: SsimWidths) -> None:
    """Each variant's ``ssim`` is its file's SSIM against the source resized to its width (recomputed here
    from the bytes), at the widths ``ssim_measured_at`` lists, and null everywhere else."""
    photo = next(p for p in photos if p.name == "Wood.jpg")
    result = optimize_image(photo.data, photo.name, ImageSettings(widths=(320, 640, 1024), ssim_widths=scope))
    manifest = json.loads(result.files["manifest.json"])
    expected_widths = {"probe": [320], "all": [320, 640, 1024], "none": []}[scope]
    assert manifest["ssim_measured_at"] == result.ssim_measured_at == expected_widths
    assert len(result.variants) >= 6
    base = _decode_once(photo.data, photo.name, 1024)
    for variant, row in zip(result.variants, manifest["variants"], strict=True):
        assert row["ssim"] == variant.ssim
        if variant.width not in expected_widths:
            assert variant.ssim is None, variant
            continue
        source = (
            base
            if variant.width == base.width
            else base.thumbnail_image(variant.width, height=10_000_000).copy_memory()
        )
        decoded = pyvips.Image.new_from_buffer(result.files[variant.file], "")
        assert variant.ssim == pytest.approx(SsimReference(source).score(decoded), abs=1e-5), variant


def test_manifest_ssim_falls_back_to_the_narrowest_width(photos: list[Photo]) -> None:
    """Widths without the probe's, or no search: the narrowest width is measured, not none."""
    photo = next(p for p in photos if p.name == "Storm.jpg")
    for settings in (ImageSettings(widths=(640, 1024)), ImageSettings(widths=(320, 640), autoquality=False)):
        result = optimize_image(photo.data, photo.name, settings)
        narrowest = min(settings.widths)
        assert result.ssim_measured_at == [narrowest], settings
        assert all((v.ssim is not None) == (v.width == narrowest) for v in result.variants), settings


def test_alpha_png_keeps_alpha_in_webp_and_flattens_jpeg() -> None:
    rgb = pyvips.Image.black(300, 200, bands=3).new_from_image([10, 200, 30])
    alpha = pyvips.Image.black(300, 200).new_from_image([0]).draw_rect([255], 0, 0, 150, 200, fill=True)
    data = rgb.bandjoin(alpha).copy(interpretation="srgb").cast("uchar").pngsave_buffer()
    result = optimize_image(data, "logo.png", ImageSettings(widths=(300,)))
    files = {v.format: pyvips.Image.new_from_buffer(result.files[v.file], "") for v in result.variants}
    assert files["jpeg"].bands == 3
    assert "webp" in files and files["webp"].hasalpha()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.jpg", b"", "empty file"),
        ("notes.jpg", b"this is not an image at all", "not a supported image"),
        ("page.svg.jpg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not"),
    ],
)
def test_hostile_inputs_fail_clearly(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(OptimizeError, match=reason) as caught:
        optimize_image(data, name, ImageSettings())
    assert name in str(caught.value)


def test_truncated_jpeg_fails(photos: list[Photo]) -> None:
    storm = next(p for p in photos if p.name == "Storm.jpg")
    with pytest.raises(OptimizeError, match=r"premature end|cannot decode"):
        optimize_image(storm.data[: len(storm.data) // 3], "cut.jpg", ImageSettings())


def test_decompression_bomb_refused_before_decoding() -> None:
    bomb = pyvips.Image.black(30000, 30000).pngsave_buffer(compression=9)
    assert len(bomb) < 2_000_000
    with pytest.raises(OptimizeError, match="decompression-bomb"):
        optimize_image(bomb, "bomb.png", ImageSettings())


def test_wrong_extension_uses_the_content(photos: list[Photo]) -> None:
    png = next(p for p in photos if p.name == "chelsea.png")
    result = optimize_image(png.data, "chelsea.jpg", ImageSettings(widths=(320,)))
    assert result.source_format == "png"
    assert any("does not match" in note for note in result.notes)
