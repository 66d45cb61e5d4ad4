"""WebP: bytes saved vs libjpeg-turbo q75 at equal SSIM for libwebp configurations libvips cannot express.

Run: ``.venv/bin/python bench/webp_configs.py`` -> ``build/bench/webp_configs.json`` (about 1-2 minutes).

Why this exists: libvips exposes only part of libwebp's ``WebPConfig`` (quality, method, presets,
smart_deblock = autofilter, smart_subsample = sharp YUV), so to know what WebP can reach at all this sweep
drives libwebp's full config directly (ctypes against the libwebp that Pillow's wheel bundles, the same 1.x
encoder libvips uses) with the method of ``bench/optimizer.py`` (``equal_quality.py``: photo resized to
1024 px or its width when narrower, libjpeg-turbo q75 baseline, SSIM on luma, lowest integer quality reaching
the baseline's SSIM). It reports the tuning and the evaluation photos separately (``calibrate.photo_split``);
``bench/optimizer.py`` compares our WebP with the best configuration on the evaluation photos. Encode CPU
per config is relative to the default config on the same images.
"""

from __future__ import annotations

import ctypes
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvips

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.optimizer.calibrate import photo_set, photo_split, resized  # noqa: E402
from functions.optimizer.equal_quality import Encoder, Reference, equal_quality  # noqa: E402

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
    "sns10": {"sns_strength": 10},
    "autofilter": {"autofilter": 1},
    "sns0_autofilter (= libvips preset=icon smart_deblock)": {"sns_strength": 0, "filter_strength": 0, "autofilter": 1},
    "sns10_autofilter": {"sns_strength": 10, "autofilter": 1},
    "sns10_autofilter_method6": {"sns_strength": 10, "autofilter": 1, "method": 6},
    "sns10_autofilter_segments3": {"sns_strength": 10, "autofilter": 1, "segments": 3},
}

# The configurations the encoder search tries per width class (the sweep's informative ones: the control, each
# change alone that helped, and the two best combinations).
LIBWEBP_CANDIDATES = ("default", "sns0", "sns10", "autofilter", "sns10_autofilter", "sns10_autofilter_segments3")


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


def config_encoder(fields: dict[str, int]) -> Encoder:
    """An ``equal_quality`` encoder: libwebp defaults plus ``fields`` at an integer quality."""

    def encode_image(image: pyvips.Image, quality: int) -> bytes:
        return encode(image.numpy(), float(quality), fields)

    return encode_image


def sweep(references: list[Reference], configs: dict[str, dict[str, int]] = CONFIGS) -> dict[str, dict[str, Any]]:
    """Per config: median and mean bytes saved at equal SSIM over ``references``, encode CPU, per-photo rows."""
    results: dict[str, dict[str, Any]] = {}
    starts: dict[str, int] = {}
    for name, fields in configs.items():
        rows = {}
        for ref in references:
            found = equal_quality(ref, config_encoder(fields), start=starts.get(ref.name, 75))
            starts.setdefault(ref.name, found.matches["ssim"].quality)
            rows[ref.name] = found.as_dict()
        saved = [r["ssim"]["saved"] for r in rows.values()]
        results[name] = {
            "fields": fields,
            "median_saved": round(statistics.median(saved), 4),
            "mean_saved": round(statistics.mean(saved), 4),
            "encode_cpu_seconds": round(sum(r["encode_cpu_seconds"] for r in rows.values()), 3),
            "per_photo": rows,
        }
    default_seconds = results["default"]["encode_cpu_seconds"] if "default" in results else None
    for row in results.values():
        row["encode_cpu_vs_default"] = (
            round(row["encode_cpu_seconds"] / default_seconds, 2) if default_seconds else None
        )
    return results


def main() -> int:
    tuning, evaluation = photo_split(photo_set())
    report: dict[str, Any] = {
        "command": ".venv/bin/python bench/webp_configs.py",
        "libwebp_version": hex(LIB.WebPGetEncoderVersion()),
        "width": f"{WIDTH} px or the photo's width when narrower",
        "baseline": "libjpeg-turbo q75 progressive, optimized Huffman (equal_quality.jpeg_turbo)",
        "sets": {},
    }
    for label, photos in (("tuning", tuning), ("evaluation", evaluation)):
        references = [Reference.of(p.name, resized(p, WIDTH), butteraugli=False) for p in photos]
        results = sweep(references)
        best = max(results, key=lambda n: results[n]["median_saved"])
        report["sets"][label] = {"photos": [p.name for p in photos], "configs": results, "best": best}
        print(f"== {label} ({len(photos)} photos)")
        for name, row in results.items():
            print(f"  {name:56} median saved {row['median_saved']:6.1%}  encode CPU x{row['encode_cpu_vs_default']}")
        print(f"  best: {best} ({results[best]['median_saved']:.1%})", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
