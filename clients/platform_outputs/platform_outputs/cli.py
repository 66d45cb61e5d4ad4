"""``python -m platform_outputs``: the contract from any language, through JSON.

``check FILE|-``
    Reads ``pulumi stack output --json`` (with or without ``--show-secrets``; the offline plan's
    ``outputs.json`` also works) and says whether it fits the contract. Exit 0 with a one-line summary when it
    does, 1 with one line per field that does not, 2 when the input cannot be read.
``compat OLD NEW``
    Compares two contract schemas; exit 1 when NEW breaks readers of OLD (each change named), 0 otherwise.
``version``
    The contract version and schema fingerprint this client was generated from.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from platform_outputs import compat
from platform_outputs.contract import check
from platform_outputs.models import CONTRACT_VERSION, SCHEMA_ID, SCHEMA_SHA256, __version__
from platform_outputs.outputs import PlatformOutputs

EXIT_FITS, EXIT_DOES_NOT_FIT, EXIT_UNREADABLE = 0, 1, 2
# The offline plan wraps the outputs: {"stack": ..., "outputs": {...}, "secretOutputs": [...]}.
_PLAN_KEYS = {"stack", "outputs", "secretOutputs"}


class InputError(Exception):
    """Input that is not a JSON object of stack outputs (exit 2)."""


def read_outputs(source: str, stdin: TextIO) -> dict[str, Any]:
    """The stack outputs in FILE (``-``: standard input)."""
    name = "standard input" if source == "-" else source
    try:
        text = stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text ({exc.reason})") from exc
    if not text.strip():
        raise InputError(f"{name}: empty; expected the JSON of `pulumi stack output --json`")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if isinstance(data, Mapping) and set(data) == _PLAN_KEYS and isinstance(data["outputs"], Mapping):
        data = data["outputs"]
    if not isinstance(data, dict):
        raise InputError(f"{name}: expected a JSON object of stack outputs, got {type(data).__name__}")
    return data


def _sections(values: list[str]) -> list[str]:
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def run_check(args: argparse.Namespace, stdout: TextIO, stderr: TextIO, stdin: TextIO) -> int:
    try:
        outputs = read_outputs(args.file, stdin)
        report = check(outputs, require=_sections(args.require), model=PlatformOutputs)
    except (InputError, ValueError) as exc:
        print(f"platform-outputs: {exc}", file=stderr)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(report.to_json(), indent=2), file=stdout)
    else:
        print(report.summary(), file=stdout)
        for problem in report.problems:
            print(f"  {problem}", file=stdout)
    return EXIT_FITS if report.ok else EXIT_DOES_NOT_FIT


def _read_schema(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON Schema object")
    return data


def run_compat(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    try:
        changes = compat.compare(_read_schema(args.old), _read_schema(args.new))
    except (InputError, ValueError) as exc:
        print(f"platform-outputs: {exc}", file=stderr)
        return EXIT_UNREADABLE
    broken = compat.breaking(changes)
    if args.json:
        rows = [{"path": c.path, "kind": c.kind, "detail": c.detail, "breaking": c.breaking} for c in changes]
        print(json.dumps({"breaking": bool(broken), "changes": rows}, indent=2), file=stdout)
    else:
        added = len(changes) - len(broken)
        verdict = f"{len(broken)} breaking change(s)" if broken else "compatible"
        print(f"{args.new} against {args.old}: {verdict}, {added} optional addition(s)", file=stdout)
        for change in changes:
            print(f"  {'BREAKING ' if change.breaking else ''}{change}", file=stdout)
    return EXIT_DOES_NOT_FIT if broken else EXIT_FITS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m platform_outputs",
        description=f"Platform stack outputs, contract v{CONTRACT_VERSION} (platform-outputs {__version__}).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check_cmd = commands.add_parser("check", help="does `pulumi stack output --json` fit the contract?")
    check_cmd.add_argument("file", metavar="FILE|-", help="JSON of `pulumi stack output --json` (- = stdin)")
    check_cmd.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="SECTION",
        help="a section this consumer needs (repeat or comma-separate): absent is then a failure",
    )
    check_cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    compat_cmd = commands.add_parser("compat", help="does contract schema NEW break readers of OLD?")
    compat_cmd.add_argument("old", metavar="OLD", help="JSON Schema of the contract a consumer was built against")
    compat_cmd.add_argument("new", metavar="NEW", help="JSON Schema of the contract now published")
    compat_cmd.add_argument("--json", action="store_true", help="print the changes as JSON")
    commands.add_parser("version", help="contract version and schema fingerprint of this client")
    return parser


def main(
    argv: list[str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    out, err, inp = stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return run_check(args, out, err, inp)
    if args.command == "compat":
        return run_compat(args, out, err)
    print(
        f"platform-outputs {__version__}: contract v{CONTRACT_VERSION} ({SCHEMA_ID}, sha256 {SCHEMA_SHA256})", file=out
    )
    return EXIT_FITS
