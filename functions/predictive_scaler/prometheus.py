"""Request-rate history from Prometheus' HTTP API (``/api/v1/query_range``), with urllib only.

The CronJob image stays small and the code path is the one we test: a plain GET, JSON, one series.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from functions.predictive_scaler.series import Series, TraceError

MAX_POINTS = 11_000
"""Prometheus refuses range queries with more points per series than this."""
MAX_MISSING_FRACTION = 0.2
"""More missing samples than this and the seasonal profile would be guesswork: refuse."""


class PrometheusError(RuntimeError):
    """Prometheus could not be asked, or its answer is not one usable series."""


def query_range(
    base_url: str,
    query: str,
    *,
    start: int,
    end: int,
    step: int,
    timeout: float = 30.0,
    bearer_token: str | None = None,
) -> Series:
    """The query's single series on the grid ``start, start + step, ..., end`` (epoch seconds).

    Missing samples inside the range (scrape gaps) are filled linearly; leading ones are dropped.
    """
    points = (end - start) // step + 1
    if points > MAX_POINTS:
        raise PrometheusError(
            f"{points} points per series exceed Prometheus' limit of {MAX_POINTS}; use a larger --step or fewer days"
        )
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step})
    url = f"{base_url.rstrip('/')}/api/v1/query_range?{params}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if bearer_token:
        request.add_header("Authorization", f"Bearer {bearer_token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise PrometheusError(f"{base_url}: query_range answered HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PrometheusError(f"{base_url}: cannot reach Prometheus: {reason}") from None
    return parse_matrix(body, query, start=start, end=end, step=step)


def parse_matrix(body: bytes, query: str, *, start: int, end: int, step: int) -> Series:
    try:
        payload = json.loads(body)
    except ValueError:
        raise PrometheusError("query_range answer is not JSON") from None
    if payload.get("status") != "success":
        raise PrometheusError(f"query failed: {payload.get('errorType', '?')}: {payload.get('error', '?')}")
    data = payload.get("data", {})
    if data.get("resultType") != "matrix":
        raise PrometheusError(f"expected a matrix result, got {data.get('resultType')!r}")
    result = data.get("result", [])
    if len(result) != 1:
        raise PrometheusError(
            f"query {query!r} returned {len(result)} series; it must aggregate to exactly one (e.g. sum(rate(...)))"
        )
    count = (end - start) // step + 1
    values = np.full(count, np.nan)
    for stamp, text in result[0].get("values", []):
        index = round((float(stamp) - start) / step)
        try:
            value = float(text)
        except (TypeError, ValueError):
            continue
        if 0 <= index < count and math.isfinite(value) and value >= 0:
            values[index] = value
    known = np.flatnonzero(np.isfinite(values))
    if len(known) < 2:
        raise PrometheusError(f"query {query!r} returned fewer than 2 samples in the range")
    values = values[known[0] :]
    first = start + int(known[0]) * step
    missing = float(np.isnan(values).mean())
    if missing > MAX_MISSING_FRACTION:
        raise PrometheusError(f"{missing:.0%} of the samples are missing (more than {MAX_MISSING_FRACTION:.0%})")
    if missing:
        positions = np.arange(len(values))
        ok = np.isfinite(values)
        values = np.interp(positions, positions[ok], values[ok])
    try:
        return Series(first, step, values)
    except TraceError as exc:
        raise PrometheusError(str(exc)) from None
