"""Text assets: minify HTML/CSS/JS, then brotli and gzip siblings, byte-identical on every run.

Reproducibility matters because the outputs are content-addressed by the CDN and compared in CI: gzip is
written with mtime 0 and no file name in its header; brotli has no timestamp.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import brotli
import minify_html
import rcssmin
import rjsmin

from functions.optimizer.errors import OptimizeError
from functions.optimizer.settings import TextSettings

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "json": "application/json",
    "svg": "image/svg+xml",
    "txt": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "map": "application/json",
}
TEXT_EXTENSIONS = frozenset(CONTENT_TYPES)


@dataclass
class TextResult:
    """Outputs for one text file: ``files`` maps names (original name, .br, .gz) to bytes."""

    name: str
    source_bytes: int
    minified_bytes: int
    files: dict[str, bytes] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain; charset=utf-8"

    @property
    def bytes_out(self) -> int:
        """What a brotli-capable client downloads (the smallest encoding)."""
        return min(len(data) for data in self.files.values())


def minify(text: str, kind: str) -> str:
    """Minify by file kind; other kinds pass through unchanged."""
    if kind in ("html", "htm"):
        return minify_html.minify(text, minify_css=True, minify_js=True, keep_closing_tags=True)
    if kind == "css":
        return str(rcssmin.cssmin(text))
    if kind in ("js", "mjs"):
        return str(rjsmin.jsmin(text))
    return text


def gzip_bytes(data: bytes, level: int) -> bytes:
    """gzip with a fixed header (mtime 0, no name) so equal input gives equal output."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=level, mtime=0) as stream:
        stream.write(data)
    return buffer.getvalue()


def optimize_text(data: bytes, name: str, settings: TextSettings | None = None) -> TextResult:
    """Minify (if enabled and the kind is known) then precompress; siblings that do not shrink are omitted."""
    settings = settings or TextSettings()
    kind = PurePosixPath(name).suffix.lower().lstrip(".")
    if kind not in TEXT_EXTENSIONS:
        raise OptimizeError(f"{name}: '.{kind}' is not a text type; accepted: {', '.join(sorted(TEXT_EXTENSIONS))}")
    if not data:
        raise OptimizeError(f"{name}: empty file (0 bytes)")
    if len(data) > settings.max_input_bytes:
        raise OptimizeError(f"{name}: {len(data)} bytes exceeds the text limit of {settings.max_input_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OptimizeError(f"{name}: not UTF-8 text (byte {exc.start}); binary file with a text extension?") from exc
    if "\x00" in text:
        raise OptimizeError(f"{name}: contains NUL bytes; binary file with a text extension?")
    body = minify(text, kind).encode("utf-8") if settings.minify else data
    base = PurePosixPath(name).name
    result = TextResult(name=base, source_bytes=len(data), minified_bytes=len(body), content_type=CONTENT_TYPES[kind])
    result.files[base] = body
    compressed = {
        "br": brotli.compress(body, quality=settings.brotli_quality),
        "gzip": gzip_bytes(body, settings.gzip_level),
    }
    for encoding, blob in compressed.items():
        if len(blob) < len(body):
            suffix = ".br" if encoding == "br" else ".gz"
            result.files[base + suffix] = blob
            result.encodings[base + suffix] = encoding
    return result
