"""The image installs the versions requirements.txt pins, and the package imports nothing from components/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "functions/dr"


def _pins(text: str) -> dict[str, str]:
    return {m[0].lower(): m[1] for m in re.findall(r"([A-Za-z0-9_.-]+)(?:\[[a-z,]+\])?==([0-9][0-9A-Za-z.]*)", text)}


def test_image_pins_match_requirements() -> None:
    image = _pins((PACKAGE / "Dockerfile").read_text())
    required = _pins((REPO / "requirements.txt").read_text())
    assert image, "the Dockerfile pins nothing"
    assert {name: required.get(name) for name in image} == image


def test_no_import_of_components() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert files
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "components" or n.startswith("components.") for n in names), path
