"""Publish the outputs contract from the models (``make schema``): ``schema/stack-outputs.v<N>.json``.

N is the models' ``CONTRACT_VERSION``. Over a file already published for N, only a compatible change is
written (the gate of ``platform_outputs.compat``: adding optional fields); a removed, renamed or retyped field,
or one made required, stops it with the field named and exit 1, and nothing is written. The way out is a new
major version: bump ``CONTRACT_VERSION`` and the next file is written beside the old one, which stays as
published for the consumers still reading it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from components.platform.outputs import CONTRACT_VERSION, json_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schema"
SCHEMA_PATH = SCHEMA_DIR / f"stack-outputs.v{CONTRACT_VERSION}.json"
# The gate lives in the consumer package (stdlib only) so consumers run the same comparison; this repository
# does not install that package, so it is imported from its source directory.
_CLIENT = str(ROOT / "clients" / "platform_outputs")
if _CLIENT not in sys.path:
    sys.path.append(_CLIENT)

from platform_outputs import compat  # noqa: E402


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def gate_problems() -> list[str]:
    """Why the models may not be published as they are (empty: they may)."""
    published = compat.published_versions(SCHEMA_DIR)
    latest = max(published, default=None)
    if latest is not None and int(CONTRACT_VERSION) < latest:
        return [f"CONTRACT_VERSION {CONTRACT_VERSION} is older than the published v{latest}"]
    if latest is None or int(CONTRACT_VERSION) > latest:
        return []  # a new major version: its own file, nothing to stay compatible with
    path = published[latest]
    return compat.gate(json.loads(path.read_text()), json_schema(), published_name=f"schema/{path.name}")


def main() -> int:
    problems = gate_problems()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"not written: {SCHEMA_PATH}", file=sys.stderr)
        return 1
    text = render()
    if SCHEMA_PATH.exists() and SCHEMA_PATH.read_text() == text:
        print(f"{SCHEMA_PATH} is up to date")
        return 0
    SCHEMA_PATH.write_text(text)
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
