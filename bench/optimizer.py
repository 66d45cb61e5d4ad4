"""Benchmark the image optimizer against separate ``vips thumbnail`` CLI calls, and bytes at equal quality.

Run: ``.venv/bin/python bench/optimizer.py`` -> ``build/bench/optimizer.json`` and a short summary.
Same run, same photos (skimage.data x5, scikit-learn x2, mate-backgrounds nature x12), reported separately
for the tuning photos (which settings.py and the encoder search were derived from) and the evaluation photos
(never used to choose anything; ``calibrate.photo_split``). Targets are judged on the evaluation photos.

1. time: our full variant set per photo (decode once, the level's reference JPEG and the per-image quality
   search at 320 px, all widths x AVIF/WebP/JPEG, SSIM manifest) vs one Debian ``vips thumbnail`` process per
   variant (12 for a photo wide enough for all 4 widths), same widths, the qualities our run chose for that
   photo, the same AVIF effort and chroma subsampling per width class (Debian's libvips 8.14 has no ``tune``).
   Target: ours <= 0.8x the CLI time. Wall time is the target; CPU time (ours: this process, all threads;
   CLI: its child processes) is reported too because the machine is shared and wall time swings 2-3x.
2. bytes saved vs a libjpeg-turbo q75 progressive JPEG at equal quality at 1024 px (or the source width), per
   format (``equal_quality.py``): at equal SSIM (luma; what the levels use) and at equal butteraugli
   (psychovisual, colour, targeted by no encoder; not for JPEG, which is no target). Targets on the evaluation
   photos: median AVIF >= 50 %; WebP within 2 points of the best libwebp configuration on the same photos
   (``bench/webp_configs.py``'s sweep, run here on the evaluation photos).
3. what "medium" means per photo: the SSIM of libjpeg-turbo q75 at the probe width, and the qualities chosen.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.webp_configs import sweep  # noqa: E402
from functions.optimizer.calibrate import Photo, photo_set, photo_split, resized  # noqa: E402
from functions.optimizer.equal_quality import Reference, equal_quality  # noqa: E402
from functions.optimizer.images import EXTENSION, _encode, optimize_image, plan_widths  # noqa: E402
from functions.optimizer.settings import AVIF_WIDTH_CLASSES, ImageFormat, ImageSettings  # noqa: E402

OUT = ROOT / "build" / "bench" / "optimizer.json"
EQUAL_QUALITY_WIDTH = 1024  # or the source width when narrower
BUTTERAUGLI_FORMATS: tuple[ImageFormat, ...] = ("avif", "webp")
AVIF_TARGET = 0.50
WEBP_POINTS_BELOW_BEST = 0.02
TIME_TARGET = 0.8


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _cli_options(fmt: ImageFormat, quality: int, width: int, settings: ImageSettings) -> str:
    if fmt == "jpeg":
        return f"[Q={quality},interlace,optimize_coding,strip]"  # Debian's libjpeg-turbo has no trellis options
    if fmt == "webp":
        return f"[Q={quality},effort={settings.webp_effort},strip]"
    avif = settings.avif_encoding(width)
    return f"[Q={quality},effort={avif.effort},subsample_mode={avif.subsample_mode},bitdepth=8,compression=av1,strip]"


def time_cli(
    vips: str,
    source: Path,
    widths: list[int],
    *,
    quality: dict[ImageFormat, int],
    settings: ImageSettings,
    scratch: Path,
) -> tuple[float, int]:
    started = time.perf_counter()
    calls = 0
    for width in widths:
        for fmt in settings.formats:
            target = scratch / f"cli-{width}.{EXTENSION[fmt]}{_cli_options(fmt, quality[fmt], width, settings)}"
            done = subprocess.run(
                [vips, "thumbnail", str(source), str(target), str(width), "--height", "10000000", "--size", "down"],
                check=False,
                capture_output=True,
                text=True,
                env=dict(os.environ),  # Python's copy: the in-process libvips changes the C environment
            )
            if done.returncode != 0:
                msg = f"vips thumbnail {source.name} -> {target.name} failed: {done.stderr.strip()}"
                raise RuntimeError(msg)
            calls += 1
    return time.perf_counter() - started, calls


def time_photo(vips: str, photo: Photo, settings: ImageSettings, scratch: Path) -> dict[str, Any]:
    """Ours vs the CLI on one photo (wall and CPU seconds), the level's reference and the chosen qualities."""
    source = scratch / photo.name
    source.write_bytes(photo.data)
    cpu, started = _cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
    result = optimize_image(photo.data, photo.name, settings)
    ours = time.perf_counter() - started
    ours_cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu
    widths = plan_widths(result.source_width, settings.widths)
    auto = result.autoquality or {}
    chosen = auto.get("codecs", {})
    quality: dict[ImageFormat, int] = {
        fmt: int(chosen[fmt]["quality"]) if fmt in chosen else settings.quality_for(fmt) for fmt in settings.formats
    }
    cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)
    cli, calls = time_cli(vips, source, widths, quality=quality, settings=settings, scratch=scratch)
    cli_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    print(
        f"{photo.name:24} ours {ours:5.2f} s ({ours_cpu:5.2f} CPU) cli {cli:5.2f} s ({cli_cpu:5.2f} CPU, {calls} calls)"
    )
    return {
        "widths": widths,
        "cli_calls": calls,
        "ours_seconds": round(ours, 3),
        "ours_cpu_seconds": round(ours_cpu, 3),
        "cli_seconds": round(cli, 3),
        "cli_cpu_seconds": round(cli_cpu, 3),
        "level_reference": auto.get("reference"),
        "target_ssim_at_probe": auto.get("target_ssim"),
        "quality": quality,
        "probe_encodes": {fmt: chosen[fmt]["encodes"] for fmt in chosen},
        "variants": len(result.variants),
        "dropped": len(result.dropped),
        "source_bytes": len(photo.data),
        "bytes_out_top_width": min(v.bytes for v in result.variants if v.width == max(widths)),
    }


def equal_quality_photo(photo: Photo, settings: ImageSettings) -> dict[str, Any]:
    """Per format, bytes saved vs libjpeg-turbo q75 at equal SSIM (and butteraugli for AVIF/WebP)."""
    rows: dict[str, Any] = {}
    image = resized(photo, EQUAL_QUALITY_WIDTH)
    with_ba = Reference.of(photo.name, image, butteraugli=True)
    try:
        for fmt in settings.formats:
            ref = with_ba if fmt in BUTTERAUGLI_FORMATS else Reference.of(photo.name, image, butteraugli=False)
            found = equal_quality(
                ref, lambda im, q, f=fmt: _encode(im, f, q, settings), start=settings.quality_for(fmt)
            )
            rows[fmt] = found.as_dict()
    finally:
        with_ba.close()
    rows["width"] = image.width
    rows["baseline"] = {
        "bytes": with_ba.baseline_bytes,
        "ssim": with_ba.baseline_ssim,
        "butteraugli": round(with_ba.baseline_butteraugli or 0.0, 4),
    }
    return rows


def summarise(rows: dict[str, dict[str, Any]], settings: ImageSettings) -> dict[str, Any]:
    """Medians of bytes saved per format and metric, and time totals, over one photo set."""
    medians: dict[str, dict[str, float]] = {}
    for fmt in settings.formats:
        medians[fmt] = {
            metric: round(statistics.median(r["equal_quality"][fmt][metric]["saved"] for r in rows.values()), 4)
            for metric in ("ssim", "butteraugli")
            if all(metric in r["equal_quality"][fmt] for r in rows.values())
        }
    total = {
        key: round(sum(r["time"][key] for r in rows.values()), 3)
        for key in rows[next(iter(rows))]["time"]
        if key.endswith("seconds")
    }
    return {
        "photos": list(rows),
        "median_saved_vs_libjpeg_turbo_q75": medians,
        "time": total
        | {
            "ratio": round(total["ours_seconds"] / total["cli_seconds"], 3),
            "cpu_ratio": round(total["ours_cpu_seconds"] / total["cli_cpu_seconds"], 3),
        },
    }


def main() -> int:
    vips = shutil.which("vips")
    if vips is None:
        print("error: 'vips' not found: install the Debian package libvips-tools", file=sys.stderr)
        return 1
    settings = ImageSettings()
    tuning, evaluation = photo_split(photo_set())
    sets = {"tuning": tuning, "evaluation": evaluation}
    rows: dict[str, dict[str, dict[str, Any]]] = {label: {} for label in sets}
    with tempfile.TemporaryDirectory(prefix="bench-optimizer-") as tmp:
        for label, photos in sets.items():
            for photo in photos:
                rows[label][photo.name] = {"time": time_photo(vips, photo, settings, Path(tmp))}
    for label, photos in sets.items():
        for photo in photos:
            rows[label][photo.name]["equal_quality"] = equal_quality_photo(photo, settings)
    report: dict[str, Any] = {
        "command": ".venv/bin/python bench/optimizer.py",
        "settings": {
            "quality": settings.quality,
            "widths": settings.widths,
            "avif_width_classes": [[largest, vars(enc)] for largest, enc in AVIF_WIDTH_CLASSES],
            "webp_effort": settings.webp_effort,
            "autoquality": settings.autoquality,
        },
        "equal_quality_width": f"{EQUAL_QUALITY_WIDTH} px or the source width when narrower",
    }
    summaries = {label: summarise(set_rows, settings) for label, set_rows in rows.items()}
    everything = {k: v for set_rows in rows.values() for k, v in set_rows.items()}
    time_all = summarise(everything, settings)["time"]
    reduction = 1 - sum(r["time"]["bytes_out_top_width"] for r in everything.values()) / sum(
        r["time"]["source_bytes"] for r in everything.values()
    )
    print("webp: libwebp configurations on the evaluation photos ...", flush=True)
    references = [Reference.of(p.name, resized(p, EQUAL_QUALITY_WIDTH), butteraugli=False) for p in evaluation]
    libwebp = sweep(references)
    best = max(libwebp, key=lambda n: libwebp[n]["median_saved"])
    evaluated = summaries["evaluation"]["median_saved_vs_libjpeg_turbo_q75"]
    targets = {
        "time_ratio_le_0.8": time_all["ratio"] <= TIME_TARGET,
        "bandwidth_reduction_gt_0.60": reduction > 0.60,
        "evaluation_avif_median_saved_ssim_ge_0.50": evaluated["avif"]["ssim"] >= AVIF_TARGET,
        "evaluation_avif_median_saved_butteraugli_ge_0.50": evaluated["avif"]["butteraugli"] >= AVIF_TARGET,
        "evaluation_webp_within_2_points_of_best_libwebp": (
            evaluated["webp"]["ssim"] >= libwebp[best]["median_saved"] - WEBP_POINTS_BELOW_BEST
        ),
    }
    report |= {
        "time_all_photos": time_all,
        "bandwidth_reduction_top_width_vs_source": round(reduction, 4),
        "sets": summaries,
        "best_libwebp_on_evaluation": {
            "config": best,
            "fields": libwebp[best]["fields"],
            "median_saved_ssim": libwebp[best]["median_saved"],
            "all": {name: r["median_saved"] for name, r in libwebp.items()},
        },
        "targets_met": targets,
        "per_photo": rows,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"time: ours {time_all['ours_seconds']:.1f} s vs vips CLI {time_all['cli_seconds']:.1f} s -> ratio "
        f"{time_all['ratio']:.2f} (CPU {time_all['ours_cpu_seconds']:.1f} s vs {time_all['cli_cpu_seconds']:.1f} s "
        f"-> {time_all['cpu_ratio']:.2f}), target <= {TIME_TARGET}"
    )
    for label, summary in summaries.items():
        print(
            f"{label:10} median saved vs libjpeg-turbo q75 at equal SSIM / butteraugli: {summary['median_saved_vs_libjpeg_turbo_q75']}"
        )
    print(f"bandwidth reduction at the top width vs the uploads: {reduction:.1%} (target > 60 %)")
    print(f"best libwebp configuration on the evaluation photos: {best} {libwebp[best]['median_saved']:.1%}")
    print(f"targets met: {targets}")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
