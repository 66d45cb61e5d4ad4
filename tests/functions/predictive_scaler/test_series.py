"""Trace CSV reading: good input round-trips, bad input names the file and the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from functions.predictive_scaler.series import Series, TraceError, read_trace_csv, resample_mean, write_trace_csv


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_and_offsets(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timestamp,value\n2024-01-01T00:00:00Z,10\n2024-01-01T01:30:00+01:00,12.5\n2024-01-01T01:00:00,0\n",
    )
    series = read_trace_csv(path)
    assert series.step_seconds == 1800  # 01:30+01:00 is 00:30Z; 01:00 without offset is UTC
    assert series.values.tolist() == [10.0, 12.5, 0.0]
    copy = tmp_path / "copy.csv"
    write_trace_csv(series, copy)
    again = read_trace_csv(copy)
    assert again.start == series.start and again.values.tolist() == series.values.tolist()


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", None, "empty file"),
        ("timestamp,value\n", None, "at least 2 samples"),
        ("time,requests\n2024-01-01T00:00:00Z,1\n", 1, "expected the header 'timestamp,value'"),
        ("2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,1\n", 1, "expected the header"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,abc\n", 3, "'abc' is not a number"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,-3\n", 3, "negative"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,nan\n", 3, "not a finite number"),
        ("timestamp,value\nyesterday,1\n", 2, "not an ISO 8601 timestamp"),
        ("timestamp,value\n2024-01-01T00:05:00Z,1\n2024-01-01T00:00:00Z,1\n", 3, "not after the previous one"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:00Z,1\n", 3, "without duplicates"),
        (
            "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,1\n2024-01-01T00:15:00Z,1\n",
            4,
            "600 s after the previous sample, but the trace's interval is 300 s",
        ),
        ("timestamp,value\n2024-01-01T00:00:00Z,1,2\n", 2, "expected 2 columns"),
    ],
)
def test_bad_traces_name_file_and_line(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TraceError) as caught:
        read_trace_csv(path)
    message = str(caught.value)
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert message.startswith(where), message
    assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"missing\.csv: cannot read trace"):
        read_trace_csv(tmp_path / "missing.csv")


def test_resample_mean_only_uses_the_past() -> None:
    fine = Series(0, 60, np.arange(11, dtype=np.float64))  # 0..10 at one-minute steps
    coarse = resample_mean(fine, 300)
    assert coarse.start == 300 and coarse.step_seconds == 300
    assert coarse.values.tolist() == [3.0, 8.0]  # mean of minutes 1-5, then 6-10
