"""Benchmark the image optimizer against separate ``vips thumbnail`` CLI calls, and bytes at equal SSIM.

Run: ``.venv/bin/python bench/optimizer.py`` -> ``build/bench/optimizer.json`` and a short summary.
Same run, same photos (skimage.data x5, scikit-learn x2, mate-backgrounds nature x12):
1. time: our full variant set per photo (decode once, autoquality search at 320 px, all widths x
   AVIF/WebP/JPEG, SSIM manifest) vs one Debian ``vips thumbnail`` process per variant (12 for a photo wide
   enough for all 4 widths), same widths, the qualities our run chose for that photo, same efforts.
   Target: ours <= 0.8x the CLI time. Wall time is the target; CPU time (ours: this process, all threads;
   CLI: its child processes) is reported too because the machine is shared and wall time swings 2-3x.
2. bytes saved vs a libjpeg-turbo q75 progressive JPEG at equal SSIM (1024 px or the source width), per format.
   Targets: median >= 50 % for AVIF and >= 25 % for WebP. Method, the same for every codec: the reference is
   the photo resized to that width; SSIM is ``ssim.py`` (BT.601 luma of the decoded file vs the reference's,
   Gaussian window); the baseline's SSIM is the target; a bisection over quality 1..100 with our encoder
   settings finds the lowest quality whose SSIM is >= the target (never below it: the figure is conservative,
   by up to one quality step). Autoquality plays no part here: this measures the codecs, not the level.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.optimizer.calibrate import photo_set, resized, savings_at_equal_ssim  # noqa: E402
from functions.optimizer.images import EXTENSION, optimize_image, plan_widths  # noqa: E402
from functions.optimizer.settings import ImageFormat, ImageSettings  # noqa: E402

OUT = ROOT / "build" / "bench" / "optimizer.json"
EQUAL_SSIM_WIDTH = 1024  # or the source width when narrower


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _cli_options(fmt: ImageFormat, quality: int, settings: ImageSettings) -> str:
    if fmt == "jpeg":
        return f"[Q={quality},interlace,optimize_coding,strip]"  # Debian's libjpeg-turbo has no trellis options
    if fmt == "webp":
        return f"[Q={quality},effort={settings.webp_effort},strip]"
    return f"[Q={quality},effort={settings.avif_effort},compression=av1,strip]"


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
            target = scratch / f"cli-{width}.{EXTENSION[fmt]}{_cli_options(fmt, quality[fmt], settings)}"
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


def main() -> int:
    vips = shutil.which("vips")
    if vips is None:
        print("error: 'vips' not found: install the Debian package libvips-tools", file=sys.stderr)
        return 1
    settings = ImageSettings()
    photos = photo_set()
    rows: list[dict[str, object]] = []
    saved: dict[ImageFormat, list[float]] = {"avif": [], "webp": [], "jpeg": []}
    ours_total = ours_no_ssim_total = cli_total = ours_cpu = ours_no_ssim_cpu = cli_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-optimizer-") as tmp:
        scratch = Path(tmp)
        for photo in photos:
            source = scratch / photo.name
            source.write_bytes(photo.data)
            cpu, started = _cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
            result = optimize_image(photo.data, photo.name, settings)
            ours = time.perf_counter() - started
            ours_cpu += _cpu_seconds(resource.RUSAGE_SELF) - cpu
            cpu, started = _cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
            optimize_image(photo.data, photo.name, ImageSettings(compute_ssim=False))
            ours_no_ssim = time.perf_counter() - started
            ours_no_ssim_cpu += _cpu_seconds(resource.RUSAGE_SELF) - cpu
            widths = plan_widths(result.source_width, settings.widths)
            chosen = result.autoquality["codecs"] if result.autoquality else {}
            quality: dict[ImageFormat, int] = {
                fmt: int(chosen[fmt]["quality"]) if fmt in chosen else settings.quality_for(fmt)
                for fmt in settings.formats
            }
            cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)
            cli, calls = time_cli(vips, source, widths, quality=quality, settings=settings, scratch=scratch)
            cli_cpu += _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
            ours_total, ours_no_ssim_total, cli_total = (
                ours_total + ours,
                ours_no_ssim_total + ours_no_ssim,
                cli_total + cli,
            )
            equal: dict[str, dict[str, float]] = {}
            for width in (min(EQUAL_SSIM_WIDTH, result.source_width),):
                image = resized(photo, width)
                for fmt, values in saved.items():
                    measured = savings_at_equal_ssim(image, fmt, settings)
                    values.append(measured["saved"])
                    equal[f"{fmt}@{width}"] = {k: round(v, 4) for k, v in measured.items()}
            rows.append(
                {
                    "photo": photo.name,
                    "source_bytes": len(photo.data),
                    "widths": widths,
                    "cli_calls": calls,
                    "ours_seconds": round(ours, 3),
                    "ours_no_ssim_seconds": round(ours_no_ssim, 3),
                    "cli_seconds": round(cli, 3),
                    "quality": quality,
                    "variants": len(result.variants),
                    "dropped": len(result.dropped),
                    "bytes_out_top_width": min(v.bytes for v in result.variants if v.width == max(widths)),
                    "equal_ssim": equal,
                }
            )
            print(f"{photo.name:24} ours {ours:5.2f} s (no SSIM {ours_no_ssim:5.2f}) cli {cli:5.2f} s ({calls} calls)")
    medians = {fmt: round(statistics.median(values), 4) for fmt, values in saved.items()}
    ratio = ours_total / cli_total
    ratio_no_ssim = ours_no_ssim_total / cli_total
    reduction = 1 - sum(int(r["bytes_out_top_width"]) for r in rows) / sum(int(r["source_bytes"]) for r in rows)  # type: ignore[call-overload]
    targets = {
        "time_ratio_le_0.8": ratio <= 0.8,
        "avif_median_saved_ge_0.50": medians["avif"] >= 0.50,
        "webp_median_saved_ge_0.25": medians["webp"] >= 0.25,
        "bandwidth_reduction_gt_0.60": reduction > 0.60,
    }
    report = {
        "photos": len(photos),
        "settings": {
            "quality": settings.quality,
            "widths": settings.widths,
            "avif_effort": settings.avif_effort,
            "autoquality": settings.autoquality,
        },
        "time": {
            "ours_seconds": round(ours_total, 3),
            "ours_no_ssim_seconds": round(ours_no_ssim_total, 3),
            "cli_seconds": round(cli_total, 3),
            "ratio": round(ratio, 3),
            "ratio_without_ssim": round(ratio_no_ssim, 3),
            "ours_cpu_seconds": round(ours_cpu, 3),
            "ours_no_ssim_cpu_seconds": round(ours_no_ssim_cpu, 3),
            "cli_cpu_seconds": round(cli_cpu, 3),
            "cpu_ratio": round(ours_cpu / cli_cpu, 3),
        },
        "median_saved_vs_libjpeg_turbo_q75_at_equal_ssim": medians,
        "bandwidth_reduction_top_width_vs_source": round(reduction, 4),
        "targets_met": targets,
        "per_photo": rows,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"time: ours {ours_total:.1f} s (without SSIM {ours_no_ssim_total:.1f} s) vs vips CLI {cli_total:.1f} s "
        f"-> ratio {ratio:.2f} ({ratio_no_ssim:.2f} without SSIM), target <= 0.8"
    )
    print(
        f"cpu:  ours {ours_cpu:.1f} s (without SSIM {ours_no_ssim_cpu:.1f} s) vs vips CLI {cli_cpu:.1f} s "
        f"-> ratio {ours_cpu / cli_cpu:.2f}"
    )
    print(f"median bytes saved vs libjpeg-turbo q75 at equal SSIM: {medians} (targets AVIF >= 0.50, WebP >= 0.25)")
    print(f"bandwidth reduction at the top width vs the uploads: {reduction:.1%} (target > 60 %)")
    print(f"targets met: {targets}")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
