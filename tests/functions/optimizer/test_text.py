"""Text: minified output still parses (node --check, tinycss2), compression is reproducible."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import brotli
import pytest
import tinycss2

from functions.optimizer.errors import OptimizeError
from functions.optimizer.settings import TextSettings
from functions.optimizer.text import optimize_text

JS = (
    """
{
// a small module with the constructs minifiers get wrong
const pattern = /\\/\\*not a comment\\*\\//g;
function total(items, { tax = 0.2 } = {}) {
  let sum = 0;
  for (const item of items) { sum += item.price * (1 + tax); }
  return `total: ${sum.toFixed(2)}`; /* block comment */
}
const a = 1
+ 2
console.log(total([{ price: 10 }]), pattern.test("/*not a comment*/"), a);
}
"""
    * 20
)

CSS = (
    """
/* theme */
:root { --main: #ff0000; }
body { color : var(--main) ; margin : 0px 0px ; }
@media (max-width: 600px) { .card > a:hover::after { content: "a { b }"; } }
"""
    * 20
)

HTML = (
    """<!DOCTYPE html>
<html lang="en">
  <head>
    <title>  Demo  </title>
    <style> body { margin : 0 ; } </style>
  </head>
  <body>
    <!-- comment -->
    <p class="x">  Hello   <b>world</b> </p>
    <script> const  x = 1 ;  console.log( x ) ; </script>
  </body>
</html>
"""
    * 5
)


@pytest.mark.real
def test_minified_js_still_parses_with_node(tmp_path: Path) -> None:
    result = optimize_text(JS.encode(), "app.js")
    minified = result.files["app.js"]
    assert len(minified) < len(JS.encode()) * 0.8
    script = tmp_path / "app.min.js"
    script.write_bytes(minified)
    node = shutil.which("node")
    assert node, "node is part of the CI image"
    checked = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    ran = subprocess.run([node, str(script)], capture_output=True, text=True, check=False)
    assert ran.stdout.splitlines()[0] == "total: 12.00 true 3"


def test_minified_css_parses_with_tinycss2() -> None:
    minified = optimize_text(CSS.encode(), "site.css").files["site.css"].decode()
    assert len(minified) < len(CSS) * 0.8
    rules = tinycss2.parse_stylesheet(minified, skip_comments=True, skip_whitespace=True)
    assert not [r for r in rules if r.type == "error"]
    assert sum(1 for r in rules if r.type == "qualified-rule") == 40
    assert 'content:"a { b }"' in minified


def test_html_minified_and_compressed_siblings_round_trip() -> None:
    result = optimize_text(HTML.encode(), "index.html")
    body = result.files["index.html"]
    assert b"<!-- comment -->" not in body and b"Hello" in body
    assert gzip.decompress(result.files["index.html.gz"]) == body
    assert brotli.decompress(result.files["index.html.br"]) == body
    assert result.encodings == {"index.html.br": "br", "index.html.gz": "gzip"}
    assert len(result.files["index.html.br"]) < len(result.files["index.html.gz"]) < len(body)


def test_output_is_byte_identical_on_rerun_and_gzip_header_is_fixed() -> None:
    first = optimize_text(JS.encode(), "app.js", TextSettings(gzip_level=6, brotli_quality=5))
    second = optimize_text(JS.encode(), "app.js", TextSettings(gzip_level=6, brotli_quality=5))
    assert first.files == second.files
    header = first.files["app.js.gz"][:10]
    assert header[3] == 0, "no FNAME flag"
    assert header[4:8] == b"\0\0\0\0", "mtime 0"


def test_levels_are_configurable() -> None:
    fast = optimize_text(JS.encode(), "app.js", TextSettings(gzip_level=1, brotli_quality=1))
    best = optimize_text(JS.encode(), "app.js", TextSettings())
    assert len(best.files["app.js.br"]) < len(fast.files["app.js.br"])
    assert len(best.files["app.js.gz"]) <= len(fast.files["app.js.gz"])


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [("app.js", b"", "empty"), ("app.js", b"\xff\xfe\x00binary", "not UTF-8"), ("x.exe", b"MZ", "not a text type")],
)
def test_bad_text_inputs(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(OptimizeError, match=reason):
        optimize_text(data, name)
