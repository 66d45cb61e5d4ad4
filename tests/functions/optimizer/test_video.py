"""Video renditions probed with ffprobe on a short generated clip (ffmpeg testsrc2 + sine)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from functions.optimizer.errors import OptimizeError
from functions.optimizer.settings import Rung, VideoSettings
from functions.optimizer.video import optimize_video, plan_rungs

pytestmark = pytest.mark.real

FAST = VideoSettings(
    ladder=(Rung(720, 1500, 800), Rung(360, 600, 300), Rung(240, 300, 150)),
    segment_seconds=1,
    x264_preset="ultrafast",
    vp9_cpu_used=8,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=480x360:rate=24:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _probe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_renditions_codecs_heights_durations(clip: Path, tmp_path: Path) -> None:
    result = optimize_video(clip, tmp_path, FAST)
    assert [(r.codec, r.height) for r in result.renditions] == [
        ("h264", 360),
        ("vp9", 360),
        ("h264", 240),
        ("vp9", 240),
    ]
    for rendition in result.renditions:
        info = _probe(tmp_path / rendition.file)
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
        assert video["codec_name"] == rendition.codec
        assert video["height"] == rendition.height and video["width"] % 2 == 0
        assert audio["codec_name"] == ("aac" if rendition.codec == "h264" else "opus")
        assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.15)
    mp4 = (tmp_path / "clip-360p.mp4").read_bytes()
    assert mp4.find(b"moov") < mp4.find(b"mdat"), "+faststart puts moov before mdat"


def test_hls_master_playlist_is_playable(clip: Path, tmp_path: Path) -> None:
    optimize_video(clip, tmp_path, FAST)
    master = (tmp_path / "clip.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 2 and "RESOLUTION=480x360" in master
    info = _probe(tmp_path / "clip.m3u8")
    heights = sorted(s["height"] for s in info["streams"] if s["codec_type"] == "video")
    assert heights == [240, 360]
    poster = _probe(tmp_path / "clip-poster.jpg")
    assert poster["streams"][0]["codec_name"] == "mjpeg" and poster["streams"][0]["height"] == 360


def test_never_upscale_and_small_sources() -> None:
    ladder = VideoSettings().ladder
    assert [r.height for r in plan_rungs(720, ladder)] == [720, 480]
    assert [r.height for r in plan_rungs(2160, ladder)] == [1080, 720, 480]
    assert [r.height for r in plan_rungs(361, ladder)] == [360]


def test_not_a_video(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"this is text, not a video")
    with pytest.raises(OptimizeError, match=r"fake\.mp4: ffprobe"):
        optimize_video(fake, tmp_path / "out", FAST)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(OptimizeError, match="empty file"):
        optimize_video(empty, tmp_path / "out", FAST)
