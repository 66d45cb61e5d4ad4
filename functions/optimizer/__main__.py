"""CLI: ``python -m functions.optimizer image|video|text IN... --out DIR [--json]`` and ``job``.

Settings: seed defaults, then the deployment's ``OPTIMIZER_*`` environment variables (``environment.py``;
the Jobs get the same ones as the Lambda), then the flags. A bad variable is a usage error (exit 2).
``job --queue-url`` is the video Job of the component (``queue_job.py``); ``job --source`` walks a prefix.
Exit status: 0 all files optimized, 1 at least one file failed (the others are still done), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import get_args

from functions.optimizer.environment import EnvironmentConfigError, load
from functions.optimizer.errors import StorageError
from functions.optimizer.metrics import Metrics, push
from functions.optimizer.pipeline import FileReport, Kind, kind_of, process
from functions.optimizer.settings import (
    IMAGE_FORMATS,
    QUALITY_LEVELS,
    SSIM_WIDTHS,
    ImageFormat,
    ImageSettings,
    OptimizerSettings,
    Rung,
    TextSettings,
    VideoSettings,
)
from functions.optimizer.storage import FileStorage


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': give positive integers, e.g. 320,640")
    return values


def _formats(text: str) -> tuple[ImageFormat, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [f for f in chosen if f not in IMAGE_FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"'{text}': formats must be among {','.join(IMAGE_FORMATS)}")
    return tuple(f for f in IMAGE_FORMATS if f in chosen)


def _ladder(text: str) -> tuple[Rung, ...]:
    rungs: list[Rung] = []
    for part in text.split(","):
        try:
            height, h264, vp9 = (int(x) for x in part.split(":"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{part}': ladder rungs are HEIGHT:H264_KBPS:VP9_KBPS, e.g. 720:2800:1024"
            ) from None
        rungs.append(Rung(height, h264, vp9))
    return tuple(sorted(rungs, key=lambda r: r.height, reverse=True))


def _level(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"'{text}' must be an integer from {low} to {high}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m functions.optimizer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the per-file report as JSON on stdout")
    common.add_argument("--metrics-file", type=Path, help="write Prometheus text-format counters here")
    common.add_argument("--pushgateway", help="PUT the counters to this Pushgateway URL after the run")
    image = argparse.ArgumentParser(add_help=False)
    image.add_argument("--quality", choices=QUALITY_LEVELS, help="named level (default medium)")
    image.add_argument("--widths", type=_int_list, help="comma-separated widths (default 320,640,1024,1920)")
    image.add_argument("--formats", type=_formats, help="subset of avif,webp,jpeg (default all)")
    image.add_argument(
        "--avif-effort", type=_level(0, 9), help="AVIF effort 0-9 at every width (default: per width class)"
    )
    image.add_argument(
        "--ssim",
        choices=SSIM_WIDTHS,
        help="which variants get a measured SSIM in the manifest: probe (default: the probe width's, no extra "
        "work), all (every width: ~1/3 more CPU), none",
    )
    image.add_argument("--no-ssim", action="store_true", help="same as --ssim none")
    image.add_argument(
        "--fixed-quality", action="store_true", help="use the quality table instead of the per-image search"
    )
    video = argparse.ArgumentParser(add_help=False)
    video.add_argument("--heights", type=_int_list, help="subset of the ladder heights (default 1080,720,480)")
    video.add_argument("--ladder", type=_ladder, help="HEIGHT:H264_KBPS:VP9_KBPS,... replaces the ladder")
    video.add_argument("--x264-preset", help="x264 preset (default medium)")
    video.add_argument("--vp9-cpu-used", type=_level(0, 8), help="libvpx-vp9 -cpu-used 0-8 (default 4)")
    text = argparse.ArgumentParser(add_help=False)
    text.add_argument("--gzip-level", type=_level(1, 9), help="gzip level 1-9 (default 9)")
    text.add_argument("--brotli-quality", type=_level(0, 11), help="brotli quality 0-11 (default 11)")
    text.add_argument("--no-minify", action="store_true", help="precompress without minifying")
    parents = {"image": [common, image], "video": [common, video], "text": [common, text]}
    for kind, kind_parents in parents.items():
        sub = commands.add_parser(kind, parents=kind_parents, help=f"optimize {kind} files or folders")
        sub.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="files or folders")
        sub.add_argument("--out", type=Path, required=True, help="output folder")
    job = commands.add_parser(
        "job", parents=[common, image, video, text], help="Kubernetes Job: one queued S3 event, or a URI prefix"
    )
    origin = job.add_mutually_exclusive_group(required=True)
    origin.add_argument(
        "--queue-url",
        help="SQS queue of S3 event notifications: take one message, optimize its objects, delete it on success",
    )
    origin.add_argument("--source", help="s3://bucket/prefix or file:///path (object or prefix)")
    job.add_argument("--dest", required=True, help="s3://bucket/prefix or file:///path")
    job.add_argument("--wait-seconds", type=_level(0, 20), default=20, help="--queue-url long poll 0-20 s (default 20)")
    return parser


def _image_settings(args: argparse.Namespace, image: ImageSettings) -> ImageSettings:
    if getattr(args, "quality", None):
        image = replace(image, quality=args.quality)
    if getattr(args, "widths", None):
        image = replace(image, widths=args.widths)
    if getattr(args, "formats", None):
        image = replace(image, formats=args.formats)
    if getattr(args, "avif_effort", None) is not None:
        image = replace(image, avif_effort=args.avif_effort)
    if getattr(args, "ssim", None):
        image = replace(image, ssim_widths=args.ssim)
    if getattr(args, "no_ssim", False):
        image = replace(image, ssim_widths="none")
    if getattr(args, "fixed_quality", False):
        image = replace(image, autoquality=False)
    return image


def _video_settings(args: argparse.Namespace, video: VideoSettings, parser: argparse.ArgumentParser) -> VideoSettings:
    if getattr(args, "ladder", None):
        video = replace(video, ladder=args.ladder)
    if getattr(args, "heights", None):
        known = {r.height: r for r in video.ladder}
        missing = [h for h in args.heights if h not in known]
        if missing:
            parser.error(f"--heights {missing} not in the ladder {sorted(known)}; add them with --ladder")
        video = replace(video, ladder=tuple(known[h] for h in sorted(args.heights, reverse=True)))
    if getattr(args, "x264_preset", None):
        video = replace(video, x264_preset=args.x264_preset)
    if getattr(args, "vp9_cpu_used", None) is not None:
        video = replace(video, vp9_cpu_used=args.vp9_cpu_used)
    return video


def _text_settings(args: argparse.Namespace, text: TextSettings) -> TextSettings:
    if getattr(args, "gzip_level", None) is not None:
        text = replace(text, gzip_level=args.gzip_level)
    if getattr(args, "brotli_quality", None) is not None:
        text = replace(text, brotli_quality=args.brotli_quality)
    if getattr(args, "no_minify", False):
        text = replace(text, minify=False)
    return text


def settings_from(
    args: argparse.Namespace, parser: argparse.ArgumentParser, base: OptimizerSettings | None = None
) -> OptimizerSettings:
    """``base`` (seed defaults, or what the environment set), overridden by whichever flags were given."""
    base = base or OptimizerSettings()
    return OptimizerSettings(
        image=_image_settings(args, base.image),
        video=_video_settings(args, base.video, parser),
        text=_text_settings(args, base.text),
    )


def _expand(inputs: list[Path], kind: Kind, parser: argparse.ArgumentParser) -> list[tuple[Path, Path]]:
    """(file, folder relative to the input root) pairs; folders are walked for files of ``kind``."""
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            found += [
                (p, p.parent.relative_to(item))
                for p in sorted(item.rglob("*"))
                if p.is_file() and kind_of(p.name) == kind
            ]
        elif item.exists():
            found.append((item, Path()))
        else:
            parser.error(f"input {item}: no such file or folder")
    return found


def _finish(reports: list[FileReport], metrics: Metrics, args: argparse.Namespace) -> int:
    if args.metrics_file:
        args.metrics_file.parent.mkdir(parents=True, exist_ok=True)
        args.metrics_file.write_text(metrics.prometheus())
    if args.pushgateway:
        try:
            push(metrics, args.pushgateway)
        except OSError as exc:
            print(f"error: --pushgateway {args.pushgateway}: {exc}", file=sys.stderr)
            return 1
    for report in reports:
        if not report.ok:
            print(f"error: {report.error}", file=sys.stderr)
    summary = metrics.summary()
    if args.json:
        print(json.dumps({"summary": summary, "files": [r.as_dict() for r in reports]}, indent=2))
    else:
        for report in reports:
            status = "ok" if report.ok else "FAILED"
            print(
                f"{status:6} {report.kind:5} {report.source}  {report.bytes_in} -> {report.bytes_out} bytes "
                f"({report.seconds:.2f} s)"
            )
        print(
            f"{summary['files']} files, {summary['failures']} failed, bandwidth reduction "
            f"{summary['bandwidth_reduction']:.1%}"
        )
    return 1 if metrics.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        deployment = load(os.environ)
    except EnvironmentConfigError as exc:
        parser.error(str(exc))
    settings = settings_from(args, parser, deployment.settings)
    metrics = Metrics()
    try:
        if args.command == "job" and args.queue_url:
            from functions.optimizer.queue_job import run_queue_job

            outcome = run_queue_job(
                args.queue_url,
                args.dest,
                replace(deployment, settings=settings),
                metrics,
                wait_seconds=args.wait_seconds,
            )
            status = _finish(outcome.reports, metrics, args)
            if outcome.error:
                print(f"error: {outcome.error}", file=sys.stderr)
            return 1 if outcome.error else status
        if args.command == "job":
            from functions.optimizer.handler import run_job

            reports = run_job(args.source, args.dest, settings, metrics)
        else:
            kind: Kind = args.command
            assert kind in get_args(Kind)
            storage = FileStorage()
            reports = []
            out_root = args.out.resolve()
            for path, folder in _expand(args.inputs, kind, parser):
                dest = (out_root / folder).as_uri()
                reports.append(process(storage, path.resolve().as_uri(), dest, settings, metrics, kind=kind))
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _finish(reports, metrics, args)


if __name__ == "__main__":
    sys.exit(main())
