"""Search the AVIF and WebP encoder settings per width class, on the tuning photos only.

Run: ``.venv/bin/python bench/encoder_search.py --measure [--widths 320,640,1024] [--codecs avif,webp]``
-> ``build/bench/encoder_search.json`` (30-40 minutes on the shared, loaded 2 cores). It is the study behind
the defaults in ``settings.py``, not a regression check: without ``--measure`` (as ``make bench`` runs it)
it measures only when the JSON is missing, and otherwise re-applies the choice rules to the stored results.

Method (``equal_quality.py``): per tuning photo, at each searched width, the bytes our encode needs to be at
least as good as a libjpeg-turbo q75 JPEG, once by SSIM (luma) and once by butteraugli (psychovisual, colour,
targeted by no encoder here), and the CPU seconds of the encode at the SSIM match. A candidate's score is the
*lower* of its two medians (bytes saved at equal SSIM, at equal butteraugli): a setting only counts as better
if both metrics see it, so ``tune=ssim`` cannot win by aiming at the ruler and 4:2:0 cannot win because luma
SSIM is blind to chroma. Choice rule, computed here, not assumed: the highest score less one point per
doubling of the median encode CPU over the stage's cheapest candidate (``CPU_PENALTY``): more effort must
buy at least a point of bytes per doubling of CPU.

The search is staged (each stage keeps the previous stage's winner and varies one thing):
AVIF at 1024 px (``TUNE_WIDTH``): 1. libaom tune (ssim, psnr, iq) x chroma (4:2:0 / 4:4:4) at effort 3;
2. effort 2..5; 3. sharpness 0 / 2 -- libvips cannot pass libaom's sharpness, so this stage runs the same
libaom through Pillow's libavif (``advanced`` options) and compares with libavif at sharpness 0 (the two
libraries map quality and colour differently, so only that pair compares); 4. 8- vs 10-bit. At 320 and
640 px only the effort (2..6) is searched, with the tune and chroma chosen at 1024 px: the quality found on
the 320 px probe is reused at every width and must mean the same there.
WebP: 1. what libvips can express (method 4/6, smart_deblock = autofilter, preset drawing + smart_deblock);
2. libwebp configurations libvips cannot express (``bench/webp_configs.py``: sns strength, segments); a
WebP candidate costing more than 1.5x the cheapest is out (``MAX_CPU_RATIO``: the time target).
Butteraugli runs up to 1024 px (several seconds per call at 1920 px); the 1920 px class uses the 1024 px
choice (its CPU is reported by ``bench/optimizer.py``).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyvips

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.optimizer.calibrate import photo_set, photo_split, resized  # noqa: E402
from functions.optimizer.equal_quality import Encoder, Reference, equal_quality  # noqa: E402

OUT = ROOT / "build" / "bench" / "encoder_search.json"
TUNE_WIDTH = 1024  # where tune and chroma are chosen (for every width) and sharpness/bit depth are tried
CPU_PENALTY = 0.01  # one point of median bytes saved per doubling of encode CPU
# A candidate costing more than this times the cheapest of its stage is out: the time target (<= 0.8x the vips
# CLI doing the same encodes) leaves no room for our encode CPU to exceed the CLI's; we win wall time only by
# decoding once and using two cores. Debian's CLI (libvips 8.14, libaom 3.6) cannot autofilter WebP and its
# libaom runs effort 5-6 at ~1/3 of the bundled libaom 3.15's CPU with tune=iq.
MAX_CPU_RATIO = 1.5
STRIP: dict[str, Any] = {"keep": "none"}


@dataclass(frozen=True)
class Candidate:
    """One encoder configuration: a name, the fields it sets, and how to encode an image at a quality."""

    name: str
    fields: dict[str, Any]
    encode: Encoder


def vips_avif(effort: int = 3, tune: str = "ssim", subsample: str = "on", bitdepth: int = 8) -> Candidate:
    """AVIF through libvips/libheif/libaom, as the optimizer encodes it."""

    def encode(image: pyvips.Image, quality: int) -> bytes:
        return image.heifsave_buffer(
            Q=quality,
            compression="av1",
            effort=effort,
            tune=tune,
            subsample_mode=subsample,
            bitdepth=bitdepth,
            **STRIP,
        )

    chroma = {"on": "420", "off": "444", "auto": "auto"}[subsample]
    depth = "" if bitdepth == 8 else f" {bitdepth}-bit"
    fields = {"effort": effort, "tune": tune, "subsample_mode": subsample, "bitdepth": bitdepth}
    return Candidate(f"avif e{effort} tune={tune} {chroma}{depth}", fields, encode)


def libavif(effort: int, tune: str, subsample: str, sharpness: int) -> Candidate:
    """AVIF through Pillow's libavif and its libaom (``advanced`` passes libaom options libvips does not)."""
    from PIL import Image as PILImage

    def encode(image: pyvips.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        PILImage.fromarray(image.numpy()).save(
            buffer,
            "AVIF",
            quality=quality,
            speed=9 - effort,  # libvips' effort is 9 - libaom speed
            subsampling="4:2:0" if subsample == "on" else "4:4:4",
            codec="aom",
            advanced=[("tune", tune), ("sharpness", str(sharpness))],
        )
        return buffer.getvalue()

    fields = {"effort": effort, "tune": tune, "subsample_mode": subsample, "sharpness": sharpness, "via": "libavif"}
    return Candidate(f"libavif e{effort} tune={tune} sharpness={sharpness}", fields, encode)


def vips_webp(**options: Any) -> Candidate:
    """WebP through libvips (``effort`` = libwebp method, presets, smart_deblock/smart_subsample)."""
    options = {"effort": 4, **options}

    def encode(image: pyvips.Image, quality: int) -> bytes:
        return image.webpsave_buffer(Q=quality, **options, **STRIP)

    name = "webp " + " ".join(f"{k}={v}" for k, v in options.items())
    return Candidate(name, dict(options), encode)


def libwebp(name: str, fields: dict[str, int]) -> Candidate:
    """WebP through libwebp's full WebPConfig (``bench/webp_configs.py``, Pillow's libwebp via ctypes)."""
    from bench.webp_configs import encode as webp_encode

    def encode(image: pyvips.Image, quality: int) -> bytes:
        return webp_encode(image.numpy(), float(quality), fields)

    return Candidate(f"libwebp {name}", {"via": "libwebp", **fields}, encode)


def measure(candidate: Candidate, references: list[Reference], starts: dict[str, int]) -> dict[str, Any]:
    """Medians over the references of bytes saved at equal SSIM / butteraugli, and of the encode CPU."""
    rows: dict[str, Any] = {}
    for ref in references:
        result = equal_quality(ref, candidate.encode, start=starts.get(ref.name, 60))
        starts[ref.name] = result.matches["ssim"].quality
        rows[ref.name] = result.as_dict()
    ssim = statistics.median(r["ssim"]["saved"] for r in rows.values())
    butteraugli = statistics.median(r["butteraugli"]["saved"] for r in rows.values())
    return {
        "fields": candidate.fields,
        "median_saved_ssim": round(ssim, 4),
        "median_saved_butteraugli": round(butteraugli, 4),
        "score": round(min(ssim, butteraugli), 4),
        "median_encode_cpu_seconds": round(statistics.median(r["encode_cpu_seconds"] for r in rows.values()), 4),
        "per_photo": rows,
    }


def choose(results: dict[str, dict[str, Any]], max_cpu_ratio: float | None = None) -> str:
    """Highest score less CPU_PENALTY per doubling of median encode CPU over the stage's cheapest candidate.

    ``max_cpu_ratio``: candidates costing more than that times the cheapest are out (a hard time budget).
    """
    cheapest = min(r["median_encode_cpu_seconds"] for r in results.values())
    for r in results.values():
        ratio = r["median_encode_cpu_seconds"] / cheapest
        r["penalised_score"] = round(r["score"] - CPU_PENALTY * math.log2(ratio), 4)
        r["within_cpu_budget"] = max_cpu_ratio is None or ratio <= max_cpu_ratio
    allowed = [name for name, r in results.items() if r["within_cpu_budget"]]
    return max(allowed, key=lambda name: results[name]["penalised_score"])


def run_stage(
    title: str,
    candidates: list[Candidate],
    references: list[Reference],
    log: dict[str, Any],
    max_cpu_ratio: float | None = None,
) -> tuple[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    starts: dict[str, int] = {}
    for candidate in candidates:
        started = time.perf_counter()
        results[candidate.name] = measure(candidate, references, starts)
        r = results[candidate.name]
        print(
            f"  {candidate.name:58} saved ssim {r['median_saved_ssim']:6.1%} butteraugli "
            f"{r['median_saved_butteraugli']:6.1%} cpu {r['median_encode_cpu_seconds'] * 1000:6.0f} ms "
            f"({time.perf_counter() - started:4.0f} s)",
            flush=True,
        )
    winner = choose(results, max_cpu_ratio)
    log[title] = {"candidates": results, "chosen": winner, "max_cpu_ratio": max_cpu_ratio}
    print(f"  -> {winner}", flush=True)
    return winner, results[winner]


def search_avif(width: int, references: list[Reference], tuned: dict[str, Any] | None) -> dict[str, Any]:
    """At TUNE_WIDTH: tune x chroma, effort, sharpness, bit depth. Elsewhere: effort, with TUNE_WIDTH's tune/chroma.

    Tune and chroma are one choice for every width because the quality found on the 320 px probe is reused at
    every width: with another tune or chroma the same number would mean another quality there.
    """
    log: dict[str, Any] = {}
    if tuned is None:
        stage1 = [vips_avif(3, tune, sub) for tune in ("ssim", "psnr", "iq") for sub in ("on", "off")]
        _, first = run_stage(f"avif@{width} 1 tune x chroma", stage1, references, log, MAX_CPU_RATIO)
        tuned = dict(first["fields"])
    tune, sub = tuned["tune"], tuned["subsample_mode"]
    efforts = (2, 3, 4, 5, 6) if width <= 640 else (2, 3, 4, 5)
    stage2 = [vips_avif(e, tune, sub) for e in efforts]
    _, chosen = run_stage(f"avif@{width} 2 effort", stage2, references, log, MAX_CPU_RATIO)
    result: dict[str, Any] = {"stages": log, "chosen": chosen["fields"]}
    if width == TUNE_WIDTH:
        effort = chosen["fields"]["effort"]
        sharp = [libavif(effort, tune, sub, s) for s in (0, 2)]
        _, sharpened = run_stage(f"avif@{width} 3 sharpness (libavif)", sharp, references, log, MAX_CPU_RATIO)
        depth = [vips_avif(effort, tune, sub, bits) for bits in (8, 10)]
        _, deep = run_stage(f"avif@{width} 4 bit depth", depth, references, log, MAX_CPU_RATIO)
        result |= {"sharpness_chosen": sharpened["fields"]["sharpness"], "bitdepth_chosen": deep["fields"]["bitdepth"]}
    return result


def search_webp(width: int, references: list[Reference]) -> dict[str, Any]:
    from bench.webp_configs import CONFIGS, LIBWEBP_CANDIDATES

    log: dict[str, Any] = {}
    stage1 = [
        vips_webp(),
        vips_webp(effort=6),
        vips_webp(smart_deblock=True),
        vips_webp(preset="drawing", smart_deblock=True),
    ]
    run_stage(f"webp@{width} 1 libvips", stage1, references, log, MAX_CPU_RATIO)
    stage2 = [libwebp(name, CONFIGS[name]) for name in LIBWEBP_CANDIDATES]
    run_stage(f"webp@{width} 2 libwebp", stage2, references, log, MAX_CPU_RATIO)
    return {"stages": log}


def rechoose(report: dict[str, Any]) -> None:
    """Re-apply ``choose`` to every stored stage (after a change of rule), without encoding anything."""
    for width, entry in report.get("widths", {}).items():
        for codec, found in entry.items():
            for title, stage in found["stages"].items():
                stage["chosen"] = choose(stage["candidates"], MAX_CPU_RATIO)
                stage["max_cpu_ratio"] = MAX_CPU_RATIO
                print(f"{codec}@{width} {title}: {stage['chosen']}")
                if codec == "avif" and " 2 effort" in title:
                    found["chosen"] = stage["candidates"][stage["chosen"]]["fields"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--widths", default="320,640,1024", help="comma-separated widths, one per width class")
    parser.add_argument("--codecs", default="avif,webp")
    parser.add_argument("--rechoose", action="store_true", help="re-apply the choice rules to the stored results")
    parser.add_argument("--measure", action="store_true", help="measure even when a stored result exists")
    args = parser.parse_args(argv)
    if args.rechoose or (not args.measure and OUT.exists()):
        report = json.loads(OUT.read_text())
        rechoose(report)
        OUT.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    widths = [int(w) for w in args.widths.split(",")]
    codecs = args.codecs.split(",")
    tuning, evaluation = photo_split(photo_set())
    report: dict[str, Any] = {
        "command": ".venv/bin/python bench/encoder_search.py " + " ".join(argv or sys.argv[1:]),
        "tuning_photos": [p.name for p in tuning],
        "evaluation_photos_not_used": [p.name for p in evaluation],
        "rule": (
            "score = min(median saved at equal SSIM, at equal butteraugli); choose the highest score less "
            f"{CPU_PENALTY} per doubling of median encode CPU over the stage's cheapest candidate"
        ),
        "widths": {},
    }
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    tuned = previous.get("widths", {}).get(str(TUNE_WIDTH), {}).get("avif", {}).get("stages", {})
    tuned_fields = next(
        (stage["candidates"][stage["chosen"]]["fields"] for t, stage in tuned.items() if " 1 " in t), None
    )
    for width in sorted(widths, key=lambda w: w != TUNE_WIDTH):  # TUNE_WIDTH first: the others use its tune
        references = [Reference.of(p.name, resized(p, width), butteraugli=True) for p in tuning]
        try:
            entry: dict[str, Any] = {}
            for codec in codecs:
                print(f"== {codec} at {width} px ({len(references)} tuning photos)", flush=True)
                if codec == "webp":
                    entry[codec] = search_webp(width, references)
                    continue
                entry[codec] = search_avif(width, references, None if width == TUNE_WIDTH else tuned_fields)
                if width == TUNE_WIDTH:
                    first = next(stage for t, stage in entry[codec]["stages"].items() if " 1 " in t)
                    tuned_fields = first["candidates"][first["chosen"]]["fields"]
            report["widths"][str(width)] = entry
        finally:
            for ref in references:
                ref.close()
    merged = previous.get("widths", {})  # a partial run keeps the other widths' and codecs' results
    for width, entry in report["widths"].items():
        merged[width] = merged.get(width, {}) | entry
    report["widths"] = dict(sorted(merged.items(), key=lambda item: int(item[0])))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
