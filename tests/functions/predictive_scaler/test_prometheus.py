"""Reading the request-rate history from a local stand-in for Prometheus' query_range API."""

from __future__ import annotations

import json

import pytest

from functions.predictive_scaler.prometheus import PrometheusError, parse_matrix, query_range
from tests.functions.predictive_scaler.conftest import FakeServer


def matrix(points: list[tuple[int, str]], series: int = 1) -> dict[str, object]:
    result = [{"metric": {}, "values": [[t, v] for t, v in points]} for _ in range(series)]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def test_query_range_request_and_gap_filling(fake_prometheus: FakeServer) -> None:
    # Samples at 0..6000 s every 300 s, with 900 and 1200 missing and one NaN.
    points = [(t, str(10 + t / 300)) for t in range(0, 6001, 300) if t not in (900, 1200)]
    points[5] = (points[5][0], "NaN")
    fake_prometheus.reply = matrix(points)
    series = query_range(fake_prometheus.url, 'sum(rate(x{service="a"}[5m]))', start=0, end=6000, step=300)
    [request] = fake_prometheus.requests
    assert request.path == "/api/v1/query_range"
    assert request.query == {
        "query": ['sum(rate(x{service="a"}[5m]))'],
        "start": ["0"],
        "end": ["6000"],
        "step": ["300"],
    }
    assert series.start == 0 and series.step_seconds == 300 and len(series) == 21
    # A straight line: gaps are filled back onto it.
    assert series.values.tolist() == pytest.approx([10 + i for i in range(21)])


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (matrix([(0, "1"), (300, "2")], series=2), "returned 2 series; it must aggregate to exactly one"),
        (matrix([], series=0), "returned 0 series"),
        ({"status": "error", "errorType": "bad_data", "error": "parse error"}, "bad_data: parse error"),
        (matrix([(0, "1")]), "fewer than 2 samples"),
        (matrix([(0, "1"), (3000, "2")]), "of the samples are missing"),
    ],
)
def test_unusable_answers(reply: dict[str, object], fragment: str) -> None:
    with pytest.raises(PrometheusError, match=fragment):
        parse_matrix(json.dumps(reply).encode(), "q", start=0, end=3000, step=300)


def test_http_errors_and_unreachable(fake_prometheus: FakeServer) -> None:
    fake_prometheus.status = 503
    fake_prometheus.reply = {"status": "error"}
    with pytest.raises(PrometheusError, match="answered HTTP 503"):
        query_range(fake_prometheus.url, "q", start=0, end=3000, step=300)
    with pytest.raises(PrometheusError, match="cannot reach Prometheus"):
        query_range("http://127.0.0.1:9", "q", start=0, end=3000, step=300, timeout=2)


def test_too_many_points_is_refused_before_asking() -> None:
    with pytest.raises(PrometheusError, match="exceed Prometheus' limit of 11000"):
        query_range("http://127.0.0.1:9", "q", start=0, end=14 * 86_400, step=60)
