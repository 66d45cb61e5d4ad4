"""Regenerate ``schema/stack-outputs.v1.json`` from the contract models (``make schema``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from components.platform.outputs import json_schema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "stack-outputs.v1.json"


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    SCHEMA_PATH.write_text(render())
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
