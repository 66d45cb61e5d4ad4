"""Request-rate series on a fixed grid, and the offline CSV trace format.

Everything downstream (the forecaster's seasonal lags, the simulator's clock) indexes samples by
position, so a series is only valid on a fixed step with no gaps: the CSV reader refuses anything else
with a message naming the file and line, instead of silently shifting a day's seasonality.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

HEADER = ("timestamp", "value")


class TraceError(ValueError):
    """A trace or history that cannot be used; the message names the source (and line) and the fix."""


@dataclass(frozen=True)
class Series:
    """Samples ``values[i]`` (requests/s) at ``start + i * step_seconds`` (UTC epoch seconds)."""

    start: int
    step_seconds: int
    values: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        if self.step_seconds <= 0:
            raise TraceError(f"step must be positive, got {self.step_seconds} s")

    def __len__(self) -> int:
        return len(self.values)

    @property
    def end(self) -> int:
        """Timestamp of the last sample."""
        return self.start + (len(self.values) - 1) * self.step_seconds

    def timestamps(self) -> npt.NDArray[np.int64]:
        return self.start + self.step_seconds * np.arange(len(self.values), dtype=np.int64)

    def tail(self, count: int) -> Series:
        """The last ``count`` samples (all of them if there are fewer)."""
        if count >= len(self.values):
            return self
        skipped = len(self.values) - count
        return Series(self.start + skipped * self.step_seconds, self.step_seconds, self.values[skipped:])


def parse_timestamp(text: str) -> int:
    """Epoch seconds of an ISO 8601 timestamp; a timestamp without an offset is taken as UTC."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp())


def format_timestamp(epoch: int | float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


def read_trace_csv(path: Path) -> Series:
    """Read a ``timestamp,value`` CSV: ISO 8601 timestamps, increasing, on a fixed interval, values >= 0."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise TraceError(f"{path}: cannot read trace: {exc.strerror or exc}") from None
    with handle:
        rows = list(csv.reader(handle))
    return parse_trace_rows(rows, str(path))


def _parse_row(row: Sequence[str], where: str) -> tuple[int, float]:
    """One ``timestamp,value`` row as (epoch seconds, requests/s); the error names ``where``."""
    if len(row) != 2:
        raise TraceError(f"{where}: expected 2 columns (timestamp,value), got {len(row)}")
    try:
        stamp = parse_timestamp(row[0])
    except ValueError:
        raise TraceError(f"{where}: {row[0]!r} is not an ISO 8601 timestamp (e.g. 2024-01-01T08:00:00Z)") from None
    try:
        value = float(row[1])
    except ValueError:
        raise TraceError(f"{where}: value {row[1]!r} is not a number (requests/s)") from None
    if not math.isfinite(value):
        raise TraceError(f"{where}: value {row[1]!r} is not a finite number")
    if value < 0:
        raise TraceError(f"{where}: value {value:g} is negative; a request rate is >= 0")
    return stamp, value


def _check_interval(delta: int, step: int | None, where: str, text: str) -> int:
    """The trace's fixed interval, after checking this row keeps it."""
    if delta <= 0:
        raise TraceError(
            f"{where}: timestamp {text.strip()} is not after the previous one; "
            "the trace must be sorted by time without duplicates"
        )
    if step is not None and delta != step:
        raise TraceError(
            f"{where}: {delta} s after the previous sample, but the trace's interval is {step} s "
            "(a gap or an irregular sample); resample the trace to a fixed interval"
        )
    return delta


def parse_trace_rows(rows: Sequence[Sequence[str]], source: str) -> Series:
    if not rows:
        raise TraceError(f"{source}: empty file; expected a header 'timestamp,value' and one row per sample")
    header = tuple(cell.strip().lower() for cell in rows[0])
    if header != HEADER:
        raise TraceError(f"{source}:1: expected the header 'timestamp,value', got {','.join(rows[0])!r}")
    stamps: list[int] = []
    values: list[float] = []
    step: int | None = None
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{source}:{number}"
        stamp, value = _parse_row(row, where)
        if stamps:
            step = _check_interval(stamp - stamps[-1], step, where, row[0])
        stamps.append(stamp)
        values.append(value)
    if len(stamps) < 2 or step is None:
        raise TraceError(f"{source}: needs at least 2 samples after the header, found {len(stamps)}")
    return Series(stamps[0], step, np.asarray(values, dtype=np.float64))


def write_trace_csv(series: Series, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for stamp, value in zip(series.timestamps().tolist(), series.values.tolist(), strict=True):
            writer.writerow((format_timestamp(stamp), f"{value:.6g}"))


def resample_mean(series: Series, step_seconds: int) -> Series:
    """Trailing means over ``step_seconds`` of a finer series (what Prometheus' ``rate(...[step])`` reports).

    The sample at ``t`` averages ``(t - step, t]`` so it only uses what had happened by ``t``.
    """
    if step_seconds % series.step_seconds:
        raise TraceError(f"step {step_seconds} s is not a multiple of the series' {series.step_seconds} s")
    factor = step_seconds // series.step_seconds
    usable = (len(series.values) - 1) // factor * factor
    if usable <= 0:
        raise TraceError(f"series of {len(series.values)} samples is shorter than one {step_seconds} s step")
    blocks = series.values[1 : usable + 1].reshape(-1, factor).mean(axis=1)
    return Series(series.start + step_seconds, step_seconds, blocks)
