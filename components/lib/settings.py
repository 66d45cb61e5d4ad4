"""Shared building blocks for the typed stack configuration.

Every section model derives from :class:`Settings` (frozen, unknown keys rejected) so that a typo in a
stack file is an error that names the key instead of a silently ignored setting. Cross-field checks
collect *all* their problems and raise them together through :func:`raise_problems`, so a user fixes
a broken stack file in one round instead of one error per `pulumi up`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

#: Separator between problems inside one ValueError raised by a model validator; the config loader
#: splits on it and prefixes each problem with the model's YAML path.
PROBLEM_SEPARATOR = "\n"

#: AWS region names (us-east-1, eu-west-2, us-gov-west-1): shared by the cloud and DR sections.
AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")


class Settings(BaseModel):
    """Base of every config section: immutable, and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def raise_problems(problems: Iterable[str]) -> None:
    """Raise one ValueError carrying every problem (``"field: message"`` lines), if there are any."""
    found = [p for p in problems if p]
    if found:
        raise ValueError(PROBLEM_SEPARATOR.join(found))


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lowercase letters, digits and '-', 1-63 chars, "
            "starting and ending with a letter or digit)"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
"""A Kubernetes object name / DNS label; used for service, job and namespace names."""


# --- Kubernetes resource quantities ---------------------------------------------------------------

_MEMORY_SUFFIXES = {
    "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]{0,2})$")


def memory_bytes(quantity: str) -> int:
    """Bytes in a Kubernetes memory quantity such as ``512Mi`` or ``2G``."""
    match = _QUANTITY.match(quantity.strip())
    if not match or match.group(2) not in _MEMORY_SUFFIXES:
        raise ValueError(
            f"{quantity!r} is not a memory quantity (a number with one of the suffixes "
            "Ki, Mi, Gi, Ti, k, M, G, T, e.g. '512Mi')"
        )
    return int(Decimal(match.group(1)) * _MEMORY_SUFFIXES[match.group(2)])


def cpu_millicores(quantity: str) -> int:
    """Millicores in a Kubernetes CPU quantity such as ``250m`` or ``1.5``."""
    text = quantity.strip()
    try:
        if text.endswith("m"):
            value = Decimal(text[:-1])
            millis = value
        else:
            value = Decimal(text)
            millis = value * 1000
    except InvalidOperation:
        raise ValueError(
            f"{quantity!r} is not a CPU quantity (cores such as '1.5' or millicores such as '250m')"
        ) from None
    if millis <= 0:
        raise ValueError(f"{quantity!r} must be greater than zero")
    return int(millis)


def _memory_quantity(value: str) -> str:
    if memory_bytes(value) <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return value


def _cpu_quantity(value: str) -> str:
    cpu_millicores(value)
    return value


MemoryQuantity = Annotated[str, AfterValidator(_memory_quantity)]
CpuQuantity = Annotated[str, AfterValidator(_cpu_quantity)]


# --- schedules ------------------------------------------------------------------------------------


def _cron(value: str) -> str:
    from croniter import croniter

    fields = value.split()
    if len(fields) != 5 or not croniter.is_valid(value):
        raise ValueError(
            f"{value!r} is not a 5-field cron expression (minute hour day-of-month month day-of-week, e.g. '0 2 * * *')"
        )
    return value


CronExpression = Annotated[str, AfterValidator(_cron)]
"""A standard 5-field cron expression, checked with croniter (what Kubernetes CronJob accepts)."""

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _clock_time(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time of day in 24-hour HH:MM form, e.g. '08:00'")
    return value


ClockTime = Annotated[str, AfterValidator(_clock_time)]


def minutes_of_day(value: str) -> int:
    """Minutes since midnight of an ``HH:MM`` string."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


_IMAGE = re.compile(
    r"^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9._-]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)


def _pinned_image(value: str) -> str:
    has_digest = "@sha256:" in value
    name = value.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    if not _IMAGE.match(value):
        raise ValueError(f"{value!r} is not a container image reference (registry/name:tag or name@sha256:digest)")
    if not has_digest and (tag is None or tag == "latest"):
        raise ValueError(
            f"{value!r} must be pinned to a version tag or a digest; 'latest' or no tag makes rollouts unrepeatable"
        )
    return value


PinnedImage = Annotated[str, AfterValidator(_pinned_image)]
"""A container image pinned to a tag other than ``latest`` or to a digest."""
