"""Deployment contract: the environment variables ``components/content_optimizer`` sets on the Lambda and the Jobs.

Why a module of its own: the Lambda, the queue Job and the CLI must read the same variables the same way,
and a bad value must be refused *before* any object is written (a half-applied configuration would put
outputs with the wrong quality or Cache-Control on the CDN origin). Every error names the variable, the
value and what is allowed. Formats are exactly what ``content_optimizer_policies.function_environment``
writes: comma-separated lists, ``true``/``false``, decimal integers, and a JSON object for Cache-Control.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

from functions.optimizer.settings import IMAGE_FORMATS, QUALITY_LEVELS, ImageFormat, OptimizerSettings, QualityLevel

DEST_BUCKET_ENV = "OPTIMIZED_BUCKET"
DEST_PREFIX_ENV = "OPTIMIZED_PREFIX"
UPLOAD_PREFIX_ENV = "OPTIMIZER_UPLOAD_PREFIX"
QUALITY_ENV = "OPTIMIZER_QUALITY"
WIDTHS_ENV = "OPTIMIZER_WIDTHS"
FORMATS_ENV = "OPTIMIZER_FORMATS"
GZIP_LEVEL_ENV = "OPTIMIZER_GZIP_LEVEL"
BROTLI_QUALITY_ENV = "OPTIMIZER_BROTLI_QUALITY"
MINIFY_ENV = "OPTIMIZER_MINIFY"
CACHE_CONTROL_ENV = "OPTIMIZER_CACHE_CONTROL"

_PREFIX = re.compile(r"^(?:[^/]+/)*$")
_EXTENSION = re.compile(r"^[a-z0-9]+$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e]+$")


class EnvironmentConfigError(ValueError):
    """A deployment variable has a value the optimizer cannot use (fix the stack config, then redeploy)."""


@dataclass(frozen=True)
class Deployment:
    """Everything the environment says, parsed: settings, key mapping and Cache-Control per extension."""

    settings: OptimizerSettings
    upload_prefix: str = ""
    """Stripped from upload keys to form output keys (``uploads/a/b.jpg`` -> ``a/b/...``); '' strips nothing."""
    dest_bucket: str | None = None
    dest_prefix: str = ""
    cache_control: Mapping[str, str] | None = None
    """Extension (lowercase, no dot) -> Cache-Control; None when unset (built-in defaults apply)."""


def _bad(name: str, value: str, allowed: str) -> EnvironmentConfigError:
    return EnvironmentConfigError(f"environment variable {name}={value!r}: {allowed}")


def _int_in(name: str, value: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[0-9]+", value.strip()) or not low <= int(value) <= high:
        raise _bad(name, value, f"must be an integer from {low} to {high}")
    return int(value)


def _prefix(name: str, value: str) -> str:
    if not _PREFIX.match(value):
        raise _bad(name, value, "must be '' or path segments each ending with '/', e.g. 'uploads/'")
    return value


def parse_widths(value: str) -> tuple[int, ...]:
    parts = [p.strip() for p in value.split(",")]
    if not all(re.fullmatch(r"[0-9]+", p) for p in parts):
        raise _bad(WIDTHS_ENV, value, "must be comma-separated positive integers, e.g. 320,640,1024,1920")
    widths = tuple(int(p) for p in parts)
    if any(w <= 0 for w in widths) or list(widths) != sorted(set(widths)):
        raise _bad(WIDTHS_ENV, value, "widths must be positive and strictly ascending, e.g. 320,640,1024,1920")
    return widths


def parse_formats(value: str) -> tuple[ImageFormat, ...]:
    chosen = [p.strip() for p in value.split(",")]
    unknown = [f for f in chosen if f not in IMAGE_FORMATS]
    if unknown or len(set(chosen)) != len(chosen):
        raise _bad(FORMATS_ENV, value, f"must be distinct formats among {','.join(IMAGE_FORMATS)}")
    return tuple(f for f in IMAGE_FORMATS if f in chosen)  # best-first order, as the encoder expects


def parse_quality(value: str) -> QualityLevel:
    for level in QUALITY_LEVELS:
        if value == level:
            return level
    raise _bad(QUALITY_ENV, value, f"must be one of {', '.join(QUALITY_LEVELS)}")


def parse_minify(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise _bad(MINIFY_ENV, value, "must be true or false")
    return value.lower() == "true"


@lru_cache(maxsize=8)
def parse_cache_control(value: str) -> Mapping[str, str]:
    """The ``OPTIMIZER_CACHE_CONTROL`` JSON object, validated (cached: it is consulted once per output)."""
    try:
        table = json.loads(value)
    except json.JSONDecodeError as exc:
        raise _bad(CACHE_CONTROL_ENV, value[:80], f"is not JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(table, dict) or not table:
        raise _bad(CACHE_CONTROL_ENV, value[:80], 'must be a non-empty JSON object {"jpg": "public, max-age=..."}')
    for ext, control in table.items():
        if not _EXTENSION.match(ext):
            raise _bad(CACHE_CONTROL_ENV, value[:80], f"key {ext!r} is not a lowercase extension without a dot")
        if not isinstance(control, str) or not _HEADER_VALUE.match(control):
            raise _bad(CACHE_CONTROL_ENV, value[:80], f"value of {ext!r} must be a non-empty printable ASCII string")
    return dict(table)


def cache_control_table(env: Mapping[str, str] | None = None) -> Mapping[str, str] | None:
    """The Cache-Control map of the environment, or None when the variable is unset."""
    value = (os.environ if env is None else env).get(CACHE_CONTROL_ENV)
    return None if value is None else parse_cache_control(value)


def settings_from_environment(env: Mapping[str, str], base: OptimizerSettings | None = None) -> OptimizerSettings:
    """``base`` (seed defaults) with every variable that is set applied; unset variables keep the default."""
    settings = base or OptimizerSettings()
    image, text = settings.image, settings.text
    if (value := env.get(QUALITY_ENV)) is not None:
        image = replace(image, quality=parse_quality(value))
    if (value := env.get(WIDTHS_ENV)) is not None:
        image = replace(image, widths=parse_widths(value))
    if (value := env.get(FORMATS_ENV)) is not None:
        image = replace(image, formats=parse_formats(value))
    if (value := env.get(GZIP_LEVEL_ENV)) is not None:
        text = replace(text, gzip_level=_int_in(GZIP_LEVEL_ENV, value, 1, 9))
    if (value := env.get(BROTLI_QUALITY_ENV)) is not None:
        text = replace(text, brotli_quality=_int_in(BROTLI_QUALITY_ENV, value, 0, 11))
    if (value := env.get(MINIFY_ENV)) is not None:
        text = replace(text, minify=parse_minify(value))
    return replace(settings, image=image, text=text)


def load(env: Mapping[str, str] | None = None, base: OptimizerSettings | None = None) -> Deployment:
    """Parse and validate every variable at once (raises EnvironmentConfigError naming the first bad one)."""
    env = os.environ if env is None else env
    return Deployment(
        settings=settings_from_environment(env, base),
        upload_prefix=_prefix(UPLOAD_PREFIX_ENV, env.get(UPLOAD_PREFIX_ENV, "")),
        dest_bucket=env.get(DEST_BUCKET_ENV) or None,
        dest_prefix=env.get(DEST_PREFIX_ENV, ""),
        cache_control=cache_control_table(env),
    )


def output_folder(key: str, upload_prefix: str) -> str:
    """The folder (relative to the destination) that an upload's outputs go to: its key's folder, prefix removed.

    ``uploads/a/b.jpg`` with prefix ``uploads/`` -> ``a`` (the image then adds its own ``b/`` folder).
    A key outside the prefix keeps its whole folder: nothing is dropped that would make two uploads collide.
    """
    relative = key[len(upload_prefix) :] if upload_prefix and key.startswith(upload_prefix) else key
    folder, _, _ = relative.rpartition("/")
    return folder
