"""Video renditions with the ffmpeg CLI: H.264 MP4 + VP9 WebM per ladder rung, HLS for adaptive streaming.

Why the CLI (Debian ffmpeg) and a Kubernetes Job rather than Lambda: encoding a 1080p ladder needs minutes
of CPU and more than Lambda's package/tmp limits. Keyframes are forced on segment boundaries in every
rendition so an HLS player can switch rungs at any segment; MP4s get ``+faststart`` so progressive playback
starts before the whole file arrives. Heights above the source are skipped (never upscale).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from functions.optimizer.errors import OptimizeError
from functions.optimizer.settings import Rung, VideoSettings

VIDEO_EXTENSIONS = frozenset({"mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "ogv"})


@dataclass(frozen=True)
class Probe:
    """What ffprobe says about the source (first video stream)."""

    width: int
    height: int
    duration: float
    fps: float
    has_audio: bool


@dataclass(frozen=True)
class Rendition:
    file: str
    codec: str
    width: int
    height: int
    kbps: int
    bytes: int


@dataclass
class VideoResult:
    name: str
    source_bytes: int
    probe: Probe
    renditions: list[Rendition]
    files: list[str] = field(default_factory=list)

    @property
    def bytes_out(self) -> int:
        """Bytes of the smallest full-resolution rendition (what one viewer downloads at the top rung)."""
        top = max(r.height for r in self.renditions)
        return min(r.bytes for r in self.renditions if r.height == top)


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"'{name}' not found on PATH: install the Debian package ffmpeg"
        raise OptimizeError(msg)
    return path


def _run(command: list[str], name: str, what: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
        raise OptimizeError(f"{name}: {what} failed (exit {completed.returncode}): {tail}")
    return completed


def probe(path: Path, name: str | None = None) -> Probe:
    """ffprobe the source; a clear OptimizeError if it is not a video."""
    label = name or path.name
    if path.stat().st_size == 0:
        raise OptimizeError(f"{label}: empty file (0 bytes)")
    completed = _run(
        [_binary("ffprobe"), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        label,
        "ffprobe (not a readable video?)",
    )
    info = json.loads(completed.stdout or "{}")
    streams = info.get("streams", [])
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and s.get("disposition", {}).get("attached_pic", 0) == 0),
        None,
    )
    if video is None:
        raise OptimizeError(f"{label}: no video stream found")
    duration = float(info.get("format", {}).get("duration") or video.get("duration") or 0.0)
    rate = str(video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/1")
    numerator, _, denominator = rate.partition("/")
    fps = float(numerator) / float(denominator or 1) if float(denominator or 1) else 0.0
    if fps <= 0:
        fps = 25.0
    width, height = int(video.get("width", 0)), int(video.get("height", 0))
    if width <= 0 or height <= 0 or duration <= 0:
        raise OptimizeError(f"{label}: unusable video stream ({width}x{height}, {duration:.2f} s)")
    return Probe(width, height, duration, fps, any(s.get("codec_type") == "audio" for s in streams))


def plan_rungs(source_height: int, ladder: tuple[Rung, ...]) -> list[Rung]:
    """Rungs at or below the source height; a source below the lowest rung gets one rung at its own height."""
    rungs = [r for r in ladder if r.height <= source_height]
    if not rungs and ladder:
        lowest = min(ladder, key=lambda r: r.height)
        even = source_height - source_height % 2
        scale = even / lowest.height
        rungs = [Rung(even, max(100, int(lowest.h264_kbps * scale)), max(80, int(lowest.vp9_kbps * scale)))]
    return sorted(rungs, key=lambda r: r.height, reverse=True)


def _even_width(source: Probe, height: int) -> int:
    width = math.floor(source.width * height / source.height / 2 + 0.5) * 2
    return max(width, 2)


def _rate_flags(kbps: int) -> list[str]:
    return ["-b:v", f"{kbps}k", "-maxrate", f"{int(kbps * 1.07)}k", "-bufsize", f"{int(kbps * 1.5)}k"]


def _ffmpeg(*args: str) -> list[str]:
    """An ffmpeg command line with the options every call here shares.

    ``-nostdin`` so a Job without a terminal never blocks on a prompt, ``-y`` because outputs are rewritten on a
    retry, ``-v error`` so the only stderr is what :func:`_run` quotes when a step fails.
    """
    return [_binary("ffmpeg"), "-nostdin", "-y", "-v", "error", *args]


def _encode(
    src: Path,
    out: Path,
    rung: Rung,
    source: Probe,
    settings: VideoSettings,
    *,
    encoder: list[str],
    kbps: int,
    pin_keyframes: bool,
    audio_codec: str,
    audio_kbps: int,
    container: list[str],
) -> list[str]:
    """One rendition's encode; the codec-specific parts are passed in, the rest is the same for every codec.

    The same scaling, GOP length and metadata stripping in every rendition is what lets an HLS player switch
    rungs at any segment boundary. ``pin_keyframes`` adds ``-keyint_min`` and ``-sc_threshold 0`` for
    encoders (x264) that would otherwise add scene-cut keyframes and shorten segments.
    """
    gop = max(1, round(source.fps * settings.segment_seconds))
    keyframes = ["-keyint_min", str(gop), "-sc_threshold", "0"] if pin_keyframes else []
    audio = ["-c:a", audio_codec, "-b:a", f"{audio_kbps}k", "-ac", "2"] if source.has_audio else ["-an"]
    return _ffmpeg(
        "-i",
        str(src),
        "-map",
        "0:v:0",
        *(["-map", "0:a:0"] if source.has_audio else []),
        "-vf",
        f"scale=-2:{rung.height}:flags=lanczos,format=yuv420p",
        *encoder,
        *_rate_flags(kbps),
        "-g",
        str(gop),
        *keyframes,
        *audio,
        *container,
        "-map_metadata",
        "-1",
        str(out),
    )


def _h264(src: Path, out: Path, rung: Rung, source: Probe, settings: VideoSettings) -> list[str]:
    """H.264 High MP4 with AAC; ``+faststart`` puts the index first so progressive playback starts at once."""
    return _encode(
        src,
        out,
        rung,
        source,
        settings,
        encoder=["-c:v", "libx264", "-preset", settings.x264_preset, "-profile:v", "high"],
        kbps=rung.h264_kbps,
        pin_keyframes=True,
        audio_codec="aac",
        audio_kbps=settings.audio_kbps,
        container=["-movflags", "+faststart"],
    )


def _vp9(src: Path, out: Path, rung: Rung, source: Probe, settings: VideoSettings) -> list[str]:
    """VP9 WebM with Opus, the more efficient audio codec, at 3/4 of the AAC bitrate (``audio_kbps``)."""
    return _encode(
        src,
        out,
        rung,
        source,
        settings,
        encoder=["-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", str(settings.vp9_cpu_used), "-row-mt", "1"],
        kbps=rung.vp9_kbps,
        pin_keyframes=False,
        audio_codec="libopus",
        audio_kbps=settings.audio_kbps * 3 // 4,
        container=[],
    )


def _hls(mp4: Path, playlist: Path, settings: VideoSettings, name: str) -> None:
    """Repackage one H.264 rendition as fMP4 HLS without re-encoding (single file, byte ranges)."""
    _run(
        _ffmpeg(
            "-i",
            str(mp4),
            "-c",
            "copy",
            "-f",
            "hls",
            "-hls_time",
            str(settings.segment_seconds),
            "-hls_playlist_type",
            "vod",
            "-hls_segment_type",
            "fmp4",
            "-hls_flags",
            "single_file",
            "-hls_fmp4_init_filename",
            f"{playlist.stem}-init.mp4",
            str(playlist),
        ),
        name,
        "HLS packaging",
    )


def _master_playlist(entries: list[tuple[Rendition, str]], has_audio: bool) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    codecs = "avc1.640028" + (",mp4a.40.2" if has_audio else "")
    for rendition, playlist in entries:
        peak = int(rendition.kbps * 1.07 * 1000)
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={rendition.kbps * 1000},"
            f'RESOLUTION={rendition.width}x{rendition.height},CODECS="{codecs}"'
        )
        lines.append(playlist)
    return "\n".join(lines) + "\n"


def optimize_video(
    src: Path, out_dir: Path, settings: VideoSettings | None = None, name: str | None = None
) -> VideoResult:
    """Transcode ``src`` into ``out_dir`` (created): renditions, HLS master + media playlists, poster."""
    settings = settings or VideoSettings()
    label = name or src.name
    source = probe(src, label)
    if source.duration > settings.max_duration_seconds:
        raise OptimizeError(
            f"{label}: {source.duration:.0f} s exceeds the limit of {settings.max_duration_seconds:.0f} s"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = src.stem
    renditions: list[Rendition] = []
    hls_entries: list[tuple[Rendition, str]] = []
    for rung in plan_rungs(source.height, settings.ladder):
        width = _even_width(source, rung.height)
        for codec, ext, builder, kbps in (
            ("h264", "mp4", _h264, rung.h264_kbps),
            ("vp9", "webm", _vp9, rung.vp9_kbps),
        ):
            target = out_dir / f"{stem}-{rung.height}p.{ext}"
            _run(builder(src, target, rung, source, settings), label, f"{codec} {rung.height}p encode")
            rendition = Rendition(target.name, codec, width, rung.height, kbps, target.stat().st_size)
            renditions.append(rendition)
            if codec == "h264":
                playlist = out_dir / f"{stem}-{rung.height}p.m3u8"
                _hls(target, playlist, settings, label)
                hls_entries.append((rendition, playlist.name))
    (out_dir / f"{stem}.m3u8").write_text(_master_playlist(hls_entries, source.has_audio))
    poster = out_dir / f"{stem}-poster.jpg"
    _run(
        _ffmpeg(
            "-ss",
            f"{min(1.0, source.duration / 10):.3f}",
            "-i",
            str(src),
            "-frames:v",
            "1",
            "-vf",
            f"scale=-2:{renditions[0].height}",
            "-q:v",
            "3",
            str(poster),
        ),
        label,
        "poster frame",
    )
    files = sorted(p.name for p in out_dir.iterdir() if p.name.startswith(stem))
    return VideoResult(label, src.stat().st_size, source, renditions, files)
