"""One object in, its optimized outputs written to a destination prefix, one report line out.

Shared by the CLI, the Lambda handler and the Job so all three classify, name, cache-tag and count files
the same way. A per-file failure is caught here (OptimizeError: the file is bad, do not retry), reported
and counted; StorageError propagates (the storage is at fault, a retry may help).
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from functions.optimizer.environment import cache_control_table
from functions.optimizer.errors import OptimizeError
from functions.optimizer.metrics import Metrics
from functions.optimizer.settings import OptimizerSettings
from functions.optimizer.storage import ObjectMeta, Storage, join

Kind = Literal["image", "video", "text"]

CACHE_IMAGE = "public, max-age=2592000"
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_TEXT = "public, max-age=86400"
_FINGERPRINT = re.compile(r"[.-][0-9a-f]{8,64}\.[A-Za-z0-9]+$")

_IMAGE_EXT = frozenset({"jpg", "jpeg", "jpe", "png", "webp", "avif", "heic", "heif", "tif", "tiff", "gif"})
_VIDEO_EXT = frozenset({"mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "ogv"})
_TEXT_EXT = frozenset({"html", "htm", "css", "js", "mjs", "json", "svg", "txt", "xml", "map"})
_MIME = {
    "avif": "image/avif",
    "webp": "image/webp",
    "jpg": "image/jpeg",
    "json": "application/json",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "m4s": "video/iso.segment",
    "m3u8": "application/vnd.apple.mpegurl",
}


def kind_of(name: str) -> Kind | None:
    """Content class by extension (images are re-checked by their bytes)."""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    if suffix in _IMAGE_EXT:
        return "image"
    if suffix in _VIDEO_EXT:
        return "video"
    if suffix in _TEXT_EXT:
        return "text"
    return None


def is_fingerprinted(name: str) -> bool:
    """``app.3f9a2c1b.js`` style names carry a content hash and can be cached forever."""
    return bool(_FINGERPRINT.search(PurePosixPath(name).name))


def cache_control(kind: Kind, name: str) -> str:
    """The Cache-Control stored with output ``name``: the deployment's map first, built-in defaults otherwise.

    With ``OPTIMIZER_CACHE_CONTROL`` set (the component derives it from the CDN content classes) the output's
    extension decides, after dropping a ``.br``/``.gz`` encoding suffix, so the origin states exactly the
    TTLs the CDN applies; the map wins over the fingerprint rule because the CDN classes by extension too.
    Extensions the map does not list (no CDN class: ``.map``, ``.mjs``...) and unset maps get the defaults.
    """
    table = cache_control_table()
    if table is not None:
        extension = PurePosixPath(name.removesuffix(".br").removesuffix(".gz")).suffix.lower().lstrip(".")
        if extension in table:
            return table[extension]
    return default_cache_control(kind, name)


def default_cache_control(kind: Kind, name: str) -> str:
    """Built-in Cache-Control when no map is deployed: 1 y immutable for fingerprinted names, 1 d text."""
    if is_fingerprinted(name):
        return CACHE_IMMUTABLE
    if kind == "text" or name.endswith((".json", ".m3u8")):
        return CACHE_TEXT
    return CACHE_IMAGE


@dataclass
class FileReport:
    """One line of the --json report."""

    source: str
    kind: str
    ok: bool
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    error: str | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def compression_ratio(self) -> float | None:
        return round(self.bytes_in / self.bytes_out, 3) if self.bytes_out else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "ok": self.ok,
            "error": self.error,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "compression_ratio": self.compression_ratio,
            "seconds": round(self.seconds, 3),
            "outputs": self.outputs,
            "notes": self.notes,
        }


def _put(storage: Storage, uri: str, data: bytes, meta: ObjectMeta, report: FileReport) -> None:
    storage.write(uri, data, meta)
    report.outputs.append(
        {
            "uri": uri,
            "bytes": len(data),
            "cache_control": meta.cache_control,
            "content_type": meta.content_type,
            "content_encoding": meta.content_encoding,
        }
    )


def _image(storage: Storage, src: str, dest: str, settings: OptimizerSettings, report: FileReport) -> None:
    from functions.optimizer.images import optimize_image

    data = storage.read(src)
    report.bytes_in = len(data)
    result = optimize_image(data, PurePosixPath(src).name, settings.image)
    folder = join(dest, result.stem)
    for name, blob in sorted(result.files.items()):
        suffix = PurePosixPath(name).suffix.lstrip(".")
        meta = ObjectMeta(_MIME.get(suffix, "application/octet-stream"), cache_control("image", name))
        _put(storage, join(folder, name), blob, meta, report)
    top = max(v.width for v in result.variants)
    # what a modern browser downloads at full width: the smallest kept variant at the top width
    report.bytes_out = min(v.bytes for v in result.variants if v.width == top)
    report.notes += result.notes + [f"dropped {d.format} {d.width}w: {d.reason}" for d in result.dropped]


def _text(storage: Storage, src: str, dest: str, settings: OptimizerSettings, report: FileReport) -> None:
    from functions.optimizer.text import optimize_text

    data = storage.read(src)
    report.bytes_in = len(data)
    result = optimize_text(data, PurePosixPath(src).name, settings.text)
    for name, blob in sorted(result.files.items()):
        meta = ObjectMeta(result.content_type, cache_control("text", result.name), result.encodings.get(name))
        _put(storage, join(dest, name), blob, meta, report)
    report.bytes_out = result.bytes_out


def _video(storage: Storage, src: str, dest: str, settings: OptimizerSettings, report: FileReport) -> None:
    from functions.optimizer.video import optimize_video

    with tempfile.TemporaryDirectory(prefix="optimizer-") as scratch:
        local = storage.local_copy(src, Path(scratch))
        report.bytes_in = local.stat().st_size
        out_dir = Path(scratch) / "out"
        result = optimize_video(local, out_dir, settings.video, PurePosixPath(src).name)
        folder = join(dest, PurePosixPath(src).stem)
        for name in result.files:
            suffix = PurePosixPath(name).suffix.lstrip(".")
            meta = ObjectMeta(_MIME.get(suffix, "application/octet-stream"), cache_control("video", name))
            storage.upload_file(out_dir / name, join(folder, name), meta)
            report.outputs.append(
                {
                    "uri": join(folder, name),
                    "bytes": (out_dir / name).stat().st_size,
                    "cache_control": meta.cache_control,
                    "content_type": meta.content_type,
                }
            )
        report.bytes_out = result.bytes_out


HANDLERS = {"image": _image, "text": _text, "video": _video}


def process(
    storage: Storage,
    src: str,
    dest: str,
    settings: OptimizerSettings,
    metrics: Metrics,
    *,
    kind: Kind | None = None,
    allow_video: bool = True,
) -> FileReport:
    """Optimize one object into ``dest`` (a prefix); never raises OptimizeError, counts everything."""
    started = time.perf_counter()
    detected = kind or kind_of(src)
    report = FileReport(source=src, kind=detected or "unknown", ok=False)
    try:
        if detected is None:
            raise OptimizeError(
                f"{src}: unknown file type '{PurePosixPath(src).suffix or '(none)'}'; "
                "images: jpg png webp avif heic tif gif; video: mp4 mov mkv webm ...; text: html css js json svg ..."
            )
        if detected == "video" and not allow_video:
            raise OptimizeError(
                f"{src}: video is not processed in Lambda (ffmpeg exceeds its limits); run the Kubernetes Job: "
                "python -m functions.optimizer job --source s3://BUCKET/KEY --dest s3://OPTIMIZED_BUCKET/PREFIX"
            )
        HANDLERS[detected](storage, src, dest, settings, report)
        report.ok = True
    except OptimizeError as exc:
        report.error = str(exc)
    finally:
        report.seconds = time.perf_counter() - started
        metrics.record(
            report.kind, ok=report.ok, bytes_in=report.bytes_in, bytes_out=report.bytes_out, seconds=report.seconds
        )
    return report
