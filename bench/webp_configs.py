"""WebP: bytes saved vs libjpeg-turbo q75 at equal SSIM for libwebp configurations libvips cannot express.

Run: ``.venv/bin/python bench/webp_configs.py`` -> ``build/bench/webp_configs.json``.

Why this exists: issue 8 asks for a median >= 25 % saved by WebP vs a libjpeg-turbo q75 progressive JPEG at
equal SSIM, and ``bench/optimizer.py`` measures ~18 % with our encoder settings. libvips exposes only part of
libwebp's ``WebPConfig`` (quality, method, presets, smart_deblock = autofilter, smart_subsample = sharp YUV),
so to know whether the target is reachable at all this sweep drives libwebp's full config directly (ctypes
against the libwebp that Pillow's wheel bundles, the same 1.x encoder libvips uses) and measures, per config,
with the method of ``bench/optimizer.py``: photo resized to 1024 px (or its width when narrower), baseline
``calibrate.jpeg_turbo_q75``, SSIM = ``ssim.py`` (BT.601 luma), and the lowest quality reaching the
baseline's SSIM, found by bisection over libwebp's *float* quality (finer than libvips' integer Q, so these
figures are a little kinder to WebP than the main benchmark's). Encode CPU time per config is relative to
the default config on the same images.
"""

from __future__ import annotations

import ctypes
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.optimizer.calibrate import jpeg_turbo_q75, photo_set, resized  # noqa: E402
from functions.optimizer.images import _measure_ssim  # noqa: E402

OUT = ROOT / "build" / "bench" / "webp_configs.json"
WIDTH = 1024
ABI = 0x020F  # WEBP_ENCODER_ABI_VERSION of libwebp >= 1.2 (the struct layouts below)

# name -> WebPConfig fields changed from libwebp's defaults (sns 50, filter 60, sharpness 0, method 4, 4 segments)
CONFIGS: dict[str, dict[str, int]] = {
    "default": {},
    "method6": {"method": 6},
    "sharp_yuv": {"use_sharp_yuv": 1},
    "filter0": {"filter_strength": 0},
    "sns0": {"sns_strength": 0},
    "autofilter": {"autofilter": 1},
    "sns0_autofilter (= libvips preset=icon smart_deblock)": {"sns_strength": 0, "filter_strength": 0, "autofilter": 1},
    "sns10_autofilter": {"sns_strength": 10, "autofilter": 1},
    "sns10_autofilter_method6": {"sns_strength": 10, "autofilter": 1, "method": 6},
    "sns10_autofilter_segments3": {"sns_strength": 10, "autofilter": 1, "segments": 3},
}


class WebPConfig(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_float if name in ("quality", "target_PSNR") else ctypes.c_int)
        for name in [
            "lossless",
            "quality",
            "method",
            "image_hint",
            "target_size",
            "target_PSNR",
            "segments",
            "sns_strength",
            "filter_strength",
            "filter_sharpness",
            "filter_type",
            "autofilter",
            "alpha_compression",
            "alpha_filtering",
            "alpha_quality",
            "pass_",
            "show_compressed",
            "preprocessing",
            "partitions",
            "partition_limit",
            "emulate_jpeg_size",
            "thread_level",
            "low_memory",
            "near_lossless",
            "exact",
            "use_delta_palette",
            "use_sharp_yuv",
            "qmin",
            "qmax",
        ]
    ]


class WebPPicture(ctypes.Structure):
    _fields_ = [
        ("use_argb", ctypes.c_int),
        ("colorspace", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("y", ctypes.c_void_p),
        ("u", ctypes.c_void_p),
        ("v", ctypes.c_void_p),
        ("y_stride", ctypes.c_int),
        ("uv_stride", ctypes.c_int),
        ("a", ctypes.c_void_p),
        ("a_stride", ctypes.c_int),
        ("pad1", ctypes.c_uint32 * 2),
        ("argb", ctypes.c_void_p),
        ("argb_stride", ctypes.c_int),
        ("pad2", ctypes.c_uint32 * 3),
        ("writer", ctypes.c_void_p),
        ("custom_ptr", ctypes.c_void_p),
        ("extra_info_type", ctypes.c_int),
        ("extra_info", ctypes.c_void_p),
        ("stats", ctypes.c_void_p),
        ("error_code", ctypes.c_int),
        ("progress_hook", ctypes.c_void_p),
        ("user_data", ctypes.c_void_p),
        ("pad3", ctypes.c_uint32 * 3),
        ("pad4", ctypes.c_void_p),
        ("pad5", ctypes.c_void_p),
        ("pad6", ctypes.c_uint32 * 8),
        ("memory_", ctypes.c_void_p),
        ("memory_argb_", ctypes.c_void_p),
        ("pad7", ctypes.c_void_p * 2),
        ("slack", ctypes.c_uint8 * 256),  # room if a later libwebp grows the struct
    ]


class MemoryWriter(ctypes.Structure):
    _fields_ = [
        ("mem", ctypes.c_void_p),
        ("size", ctypes.c_size_t),
        ("max_size", ctypes.c_size_t),
        ("pad", ctypes.c_uint32),
    ]


def _libwebp() -> ctypes.CDLL:
    import PIL

    found = sorted((Path(PIL.__file__).parents[1] / "pillow.libs").glob("libwebp-*.so*"))
    if not found:
        raise FileNotFoundError("libwebp not found next to Pillow (pillow.libs/libwebp-*.so*)")
    lib = ctypes.CDLL(str(found[0]))
    lib.WebPConfigInitInternal.argtypes = [ctypes.POINTER(WebPConfig), ctypes.c_int, ctypes.c_float, ctypes.c_int]
    lib.WebPValidateConfig.argtypes = [ctypes.POINTER(WebPConfig)]
    lib.WebPPictureInitInternal.argtypes = [ctypes.POINTER(WebPPicture), ctypes.c_int]
    lib.WebPPictureImportRGB.argtypes = [ctypes.POINTER(WebPPicture), ctypes.c_void_p, ctypes.c_int]
    lib.WebPEncode.argtypes = [ctypes.POINTER(WebPConfig), ctypes.POINTER(WebPPicture)]
    lib.WebPPictureFree.argtypes = [ctypes.POINTER(WebPPicture)]
    lib.WebPMemoryWriterInit.argtypes = [ctypes.POINTER(MemoryWriter)]
    lib.WebPMemoryWriterClear.argtypes = [ctypes.POINTER(MemoryWriter)]
    return lib


LIB = _libwebp()
_WRITE = ctypes.cast(LIB.WebPMemoryWrite, ctypes.c_void_p).value


def encode(rgb: npt.NDArray[np.uint8], quality: float, fields: dict[str, int]) -> bytes:
    """Lossy WebP of an RGB array with libwebp defaults for ``quality`` plus ``fields``."""
    config = WebPConfig()
    if not LIB.WebPConfigInitInternal(ctypes.byref(config), 0, ctypes.c_float(quality), ABI):
        raise RuntimeError("libwebp rejected the config ABI version")
    for name, value in fields.items():
        setattr(config, name, value)
    if not LIB.WebPValidateConfig(ctypes.byref(config)):
        raise ValueError(f"invalid WebP config {fields}")
    picture = WebPPicture()
    if not LIB.WebPPictureInitInternal(ctypes.byref(picture), ABI):
        raise RuntimeError("libwebp rejected the picture ABI version")
    pixels = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    picture.height, picture.width = pixels.shape[:2]
    picture.use_argb = 1  # the encoder converts to YUV itself (so use_sharp_yuv applies)
    writer = MemoryWriter()
    LIB.WebPMemoryWriterInit(ctypes.byref(writer))
    try:
        if not LIB.WebPPictureImportRGB(ctypes.byref(picture), pixels.ctypes.data, picture.width * 3):
            raise MemoryError("WebPPictureImportRGB failed")
        picture.writer = _WRITE
        picture.custom_ptr = ctypes.cast(ctypes.pointer(writer), ctypes.c_void_p)
        if not LIB.WebPEncode(ctypes.byref(config), ctypes.byref(picture)):
            raise RuntimeError(f"WebPEncode failed (error {picture.error_code})")
        return ctypes.string_at(writer.mem, writer.size)
    finally:
        LIB.WebPMemoryWriterClear(ctypes.byref(writer))
        LIB.WebPPictureFree(ctypes.byref(picture))


def lowest_size(
    image: Any, rgb: npt.NDArray[np.uint8], target: float, fields: dict[str, int]
) -> tuple[float, int, float]:
    """(quality, bytes, encode seconds) of the smallest encode whose SSIM >= target; bisection to 0.2 quality."""
    low, high = 0.0, 100.0
    best: tuple[float, int] | None = None
    spent = 0.0
    for _ in range(9):
        quality = (low + high) / 2
        started = time.perf_counter()
        blob = encode(rgb, quality, fields)
        spent += time.perf_counter() - started
        if _measure_ssim(image, blob) >= target:
            best, high = (quality, len(blob)), quality
        else:
            low = quality
    if best is None:
        best = (100.0, len(encode(rgb, 100.0, fields)))
    return best[0], best[1], spent


def main() -> int:
    photos = photo_set()
    cases = []
    for photo in photos:
        image = resized(photo, WIDTH)
        baseline = jpeg_turbo_q75(image)
        cases.append((photo.name, image, image.numpy(), len(baseline), _measure_ssim(image, baseline)))
    results: dict[str, dict[str, Any]] = {}
    for name, fields in CONFIGS.items():
        saved, seconds = [], 0.0
        for _, image, rgb, baseline_bytes, target in cases:
            _, size, spent = lowest_size(image, rgb, target, fields)
            saved.append(1 - size / baseline_bytes)
            seconds += spent
        results[name] = {
            "fields": fields,
            "median_saved": round(statistics.median(saved), 4),
            "mean_saved": round(statistics.mean(saved), 4),
            "encode_seconds": round(seconds, 2),
        }
        print(f"{name:56} median saved {statistics.median(saved):6.1%}  encode {seconds:6.1f} s", flush=True)
    default_seconds = results["default"]["encode_seconds"]
    for row in results.values():
        row["encode_cpu_vs_default"] = round(row["encode_seconds"] / default_seconds, 2)
    best = max(results, key=lambda n: results[n]["median_saved"])
    report = {
        "command": ".venv/bin/python bench/webp_configs.py",
        "libwebp_version": hex(LIB.WebPGetEncoderVersion()),
        "photos": len(photos),
        "width": f"{WIDTH} px or the photo's width when narrower",
        "baseline": "libjpeg-turbo q75 progressive, optimized Huffman (calibrate.jpeg_turbo_q75)",
        "configs": results,
        "best": best,
        "target_median_saved_ge_0.25_reachable": results[best]["median_saved"] >= 0.25,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"best: {best} ({results[best]['median_saved']:.1%}); wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
