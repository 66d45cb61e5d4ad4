"""The CronJob's run against a real Prometheus (Debian's ``prometheus`` 2.42, ``promtool`` to backfill).

The stand-in in conftest answers whatever it is told; this proves what the real server does with the two
range queries a run makes: 15 days of a request counter are backfilled as TSDB blocks (``promtool tsdb
create-blocks-from openmetrics``), Prometheus serves them, and the CLI reads the history (14 days at 300 s,
4,033 points) and the live 2-minute rate (9 days at 120 s, 6,481 points, under Prometheus' 11,000-point
limit) and publishes its count and live margin to the Kubernetes API stand-in. The live rate Prometheus
computes is checked against the rate the counter was generated from, so the margin is calibrated on what
KEDA's ``rate(...[2m])`` trigger really reads.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from functions.predictive_scaler.__main__ import main
from functions.predictive_scaler.headroom import LIVE_STEP_SECONDS
from functions.predictive_scaler.prometheus import query_range
from functions.predictive_scaler.series import format_timestamp
from tests.functions.backup.conftest import free_port, running, wait_until
from tests.functions.predictive_scaler.conftest import FakeServer
from tests.functions.predictive_scaler.test_main import kube_args

pytestmark = pytest.mark.real

DAYS_STORED = 15
SCRAPE_SECONDS = 30
SCRAPE_OFFSET = 7
"""Scrapes are not aligned with the query grid, as in a cluster: ``rate`` has to extrapolate at both ends."""
SERIES = 'http_requests_total{namespace="platform",service="backend"}'
RAMPS_SERIES = 'http_requests_total{namespace="platform",service="ramps"}'
RAMPS_LIVE_QUERY = 'sum(rate(http_requests_total{namespace="platform",service="ramps"}[2m]))'
HISTORY_QUERY = 'sum(rate(http_requests_total{service="backend"}[5m]))'  # prediction.query's default
LIVE_QUERY = 'sum(rate(http_requests_total{namespace="platform",service="backend"}[2m]))'  # as the platform renders
HISTORY_STEP, HISTORY_DAYS = 300, 14
LIVE_DAYS = 9  # calibration_days 7 + gate_days 2, the CLI's defaults
HISTORY_POINTS = HISTORY_DAYS * 86_400 // HISTORY_STEP + 1
LIVE_POINTS = LIVE_DAYS * 86_400 // LIVE_STEP_SECONDS + 1
RATE_TOLERANCE = 0.05
"""How far Prometheus' 2-minute rate may sit from the generated mean rate of the same window."""


@dataclass(frozen=True)
class Stored:
    """A Prometheus serving the backfilled counter, and the truth it was generated from."""

    url: str
    now: int
    """The run's time: a 5-minute boundary a few minutes before the wall clock; the last scrape precedes it."""
    scrapes: npt.NDArray[np.int64]
    """Scrape times; interval k covers (scrapes[k - 1], scrapes[k]] at ``rates[k]`` requests per second."""
    rates: npt.NDArray[np.float64]
    setup_seconds: float


def generated(now: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Scrape times over DAYS_STORED days up to ``now`` and the request rate behind each interval: a daily
    cycle between about 300 and 1,900 req/s (a smooth weekly swing of +-10 % on 1,000 +- 700) and 3 % noise."""
    first = now - DAYS_STORED * 86_400 + SCRAPE_OFFSET
    scrapes = np.arange(first, now + 1, SCRAPE_SECONDS, dtype=np.int64)
    t = scrapes.astype(np.float64)
    daily = 1000 + 700 * np.sin(2 * np.pi * (t % 86_400) / 86_400 - 2.0)
    weekly = 1 + 0.1 * np.sin(2 * np.pi * t / (7 * 86_400))
    noise = 1 + 0.03 * np.random.default_rng(7).standard_normal(len(t))
    return scrapes, np.maximum(daily * weekly * noise, 1.0)


def ramps(scrapes: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """A service with no clock: ramps from 500 to 2,000 req/s of random length (40-140 minutes), each
    dropping back at once, 3 % noise. No daily or weekly lag lines up with it, so no seasonal count is
    trusted; the rate keeps climbing past what the HPA holds, so a margin is."""
    t = scrapes.astype(np.float64)
    rng = np.random.default_rng(11)
    lengths = rng.uniform(40 * 60, 140 * 60, int((t[-1] - t[0]) // (40 * 60)) + 2)
    ends = t[0] + np.cumsum(lengths)
    index = np.searchsorted(ends, t)
    phase = (t - np.concatenate([[t[0]], ends])[index]) / lengths[index]
    return (500 + 1500 * phase) * (1 + 0.03 * rng.standard_normal(len(t)))


def openmetrics(scrapes: npt.NDArray[np.int64], rates: dict[str, npt.NDArray[np.float64]]) -> str:
    """The counters' samples as promtool's backfill reads them (one series after the other, seconds,
    ``# EOF`` last)."""
    lines = ["# TYPE http_requests counter"]
    for series, per_second in rates.items():
        counter = np.cumsum(per_second * SCRAPE_SECONDS)
        counter -= counter[0]
        lines += [
            f"{series} {value:.3f} {stamp}" for stamp, value in zip(scrapes.tolist(), counter.tolist(), strict=True)
        ]
    return "\n".join(lines) + "\n# EOF\n"


def window_means(
    scrapes: npt.NDArray[np.int64], rates: npt.NDArray[np.float64], ends: npt.NDArray[np.int64], width: int
) -> npt.NDArray[np.float64]:
    """The generated mean rate over each window (end - width, end]: requests served in it over its length
    (up to the last scrape: the counter says nothing about the seconds after it)."""
    served = np.concatenate([[0.0], np.cumsum(rates[1:] * np.diff(scrapes))])
    stops = np.minimum(ends, scrapes[-1]).astype(np.float64)
    starts = (ends - width).astype(np.float64)
    known = scrapes.astype(np.float64)
    return (np.interp(stops, known, served) - np.interp(starts, known, served)) / (stops - starts)


def _instant_has_data(url: str, at: int) -> bool:
    params = urllib.parse.urlencode({"query": SERIES, "time": at})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=10) as response:
            payload = json.loads(response.read())
    except OSError:
        return False
    return payload.get("status") == "success" and len(payload["data"]["result"]) == 1


def raw_points(url: str, query: str, start: int, end: int, step: int) -> list[list[object]]:
    """The matrix exactly as Prometheus answered (query_range fills gaps; this shows there were none)."""
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{params}", timeout=60) as response:
        payload = json.loads(response.read())
    assert payload["status"] == "success", payload
    [series] = payload["data"]["result"]
    return series["values"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not (prometheus and promtool):
        pytest.skip("prometheus and promtool (Debian package prometheus, .ci/apt-packages.txt) are needed")
    began = time.perf_counter()
    now = (int(time.time()) - 180) // HISTORY_STEP * HISTORY_STEP
    scrapes, rates = generated(now)
    root = tmp_path_factory.mktemp("prometheus")
    samples = root / "samples.om"
    samples.write_text(openmetrics(scrapes, {SERIES: rates, RAMPS_SERIES: ramps(scrapes)}), encoding="utf-8")
    data = root / "data"
    backfill = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(samples), str(data)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert backfill.returncode == 0, f"promtool backfill failed: {backfill.stdout}{backfill.stderr}"
    samples.unlink()
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 30s\n", encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=30d",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with running(argv, root, port):
        # Blocks load before the API answers; the condition is a query over the oldest and newest data.
        for at in (int(scrapes[0]) + 60, now):
            wait_until(lambda at=at: _instant_has_data(url, at), f"Prometheus answering with the sample at {at}")
        yield Stored(url, now, scrapes, rates, time.perf_counter() - began)


def test_a_run_reads_both_ranges_from_prometheus_and_publishes_the_live_margin(
    stored: Stored, fake_api: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = format_timestamp(stored.now)
    started = time.perf_counter()
    code = main(
        ["run", "--service", "backend", "--prometheus", stored.url, "--now", now, "--live-query", LIVE_QUERY,
         "--scale-down-window-seconds", "600", "--min-replicas", "5", "--max-replicas", "100",
         "--target-rps-per-pod", "50", "--timeout", "120", *kube_args(fake_api, tmp_path)]
    )  # fmt: skip
    wall = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"on {HISTORY_POINTS} samples" in err  # the fit saw the whole 14-day history
    [patch] = fake_api.requests
    assert patch.method == "PATCH" and patch.path.endswith("/configmaps/predictive-scaler-backend")
    data = json.loads(patch.body)["data"]
    doc = json.loads(data["forecast.json"])
    headroom = doc["headroom"]
    assert float(data["headroom"]) == headroom["factor"] >= 1.0
    assert headroom["reason"] == "trusted" or headroom["reason"].strip(), headroom
    assert headroom["trusted"] == (headroom["reason"] == "trusted")
    assert "not enough" not in headroom["reason"], headroom  # 9 days of 2-minute rates came back whole
    assert isinstance(headroom["coverage"], float) and 0.0 <= headroom["coverage"] <= 1.0, headroom
    assert isinstance(headroom["multiple"], float) and headroom["multiple"] >= 1.0, headroom  # the margin was fitted
    assert int(data["replicas"]) == doc["replicas"] and data["acted"] == str(doc["acted"]).lower()
    if doc["acted"]:
        assert 5 <= doc["replicas"] <= 100
    assert doc["generated_at"] == now

    # The same two queries, as the run made them (start, end and step derived the way __main__ does).
    history_end = stored.now - stored.now % HISTORY_STEP
    history_start = history_end - HISTORY_DAYS * 86_400
    live_end = stored.now - stored.now % LIVE_STEP_SECONDS
    live_start = live_end - LIVE_DAYS * 86_400
    clock = time.perf_counter()
    history = query_range(stored.url, HISTORY_QUERY, start=history_start, end=history_end, step=HISTORY_STEP)
    history_seconds, clock = time.perf_counter() - clock, time.perf_counter()
    live = query_range(stored.url, LIVE_QUERY, start=live_start, end=live_end, step=LIVE_STEP_SECONDS)
    live_seconds = time.perf_counter() - clock
    assert (history.start, len(history), history.step_seconds) == (history_start, HISTORY_POINTS, HISTORY_STEP)
    assert (live.start, len(live), live.step_seconds) == (live_start, LIVE_POINTS, LIVE_STEP_SECONDS)
    assert np.isfinite(history.values).all() and np.isfinite(live.values).all()
    # Nothing was filled in: Prometheus itself answered every point of both grids.
    raw_history = raw_points(stored.url, HISTORY_QUERY, history_start, history_end, HISTORY_STEP)
    raw_live = raw_points(stored.url, LIVE_QUERY, live_start, live_end, LIVE_STEP_SECONDS)
    assert [len(raw_history), len(raw_live)] == [HISTORY_POINTS, LIVE_POINTS]
    assert all(math.isfinite(float(str(value))) for _, value in raw_history + raw_live)

    with capsys.disabled():
        print(
            f"\nreal Prometheus: setup (generate, backfill, start) {stored.setup_seconds:.1f} s; run {wall:.2f} s wall; "
            f"history {len(raw_history)} points at {HISTORY_STEP} s ({history_seconds:.2f} s), live {len(raw_live)} "
            f"points at {LIVE_STEP_SECONDS} s ({live_seconds:.2f} s); published replicas {doc['replicas']} (acted {doc['acted']}), headroom "
            f"{data['headroom']} ({headroom['reason']}; fitted multiple {headroom['multiple']}, coverage {headroom['coverage']})"
        )


def test_the_live_rate_prometheus_computes_is_the_generated_rate(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    live_end = stored.now - stored.now % LIVE_STEP_SECONDS
    live_start = live_end - LIVE_DAYS * 86_400
    live = query_range(stored.url, LIVE_QUERY, start=live_start, end=live_end, step=LIVE_STEP_SECONDS)
    ends = live.timestamps().astype(np.int64)
    truth = window_means(stored.scrapes, stored.rates, ends, LIVE_STEP_SECONDS)
    errors = np.abs(live.values / truth - 1)
    assert len(errors) == LIVE_POINTS
    # A few instants by name (the daily trough and peak of the last day, and the run itself), then every one.
    last_day = (ends >= live_end - 86_400) & (ends <= live_end)
    instants = [int(np.argmin(np.where(last_day, truth, np.inf))), int(np.argmax(np.where(last_day, truth, -np.inf)))]
    instants.append(len(ends) - 1)
    for index in instants:
        assert errors[index] <= RATE_TOLERANCE, (format_timestamp(int(ends[index])), live.values[index], truth[index])
    # Every point: the 3 % scrape noise makes single windows wander (rate sees the scrapes inside the window,
    # the truth weighs the partial intervals at its edges too), never the bulk.
    worst = int(np.argmax(errors))
    assert float(np.quantile(errors, 0.99)) <= RATE_TOLERANCE / 2 and float(np.median(errors)) <= 0.01
    with capsys.disabled():
        print(
            f"\nlive rate[2m] vs generated: median error {np.median(errors):.2%}, p99 {np.quantile(errors, 0.99):.2%}, worst {errors[worst]:.2%} over "
            f"{len(errors)} points; trough {live.values[instants[0]]:.0f} vs {truth[instants[0]]:.0f} req/s, "
            f"peak {live.values[instants[1]]:.0f} vs {truth[instants[1]]:.0f} req/s"
        )


def test_traffic_without_a_clock_gets_a_margin_and_the_minimum_as_its_count(
    stored: Stored, fake_api: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other branch of one mechanism per run, end to end: no seasonal count is trusted, the live margin
    is, so the run publishes the margin (above the dead band's 1.1) and the service's minimum as its count
    (acting to the formula, no floor of its own)."""
    now = format_timestamp(stored.now)
    code = main(
        ["run", "--service", "ramps", "--prometheus", stored.url, "--now", now,
         "--live-query", RAMPS_LIVE_QUERY,  # the history query is prediction.query's default for "ramps"
         "--scale-down-window-seconds", "600", "--min-replicas", "5", "--max-replicas", "100",
         "--target-rps-per-pod", "50", "--timeout", "120", *kube_args(fake_api, tmp_path)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    [patch] = fake_api.requests
    data = json.loads(patch.body)["data"]
    doc = json.loads(data["forecast.json"])
    headroom = doc["headroom"]
    assert headroom["trusted"] and headroom["reason"] == "trusted", headroom
    assert 1.1 < float(data["headroom"]) == headroom["factor"] <= 1.1 * 1.1 + 1e-9  # within max_width
    assert not (doc["model"] or "").startswith("days="), doc["model"]  # no seasonal count stands
    assert data["replicas"] == "5", (doc["reason"], doc["model"])
    with capsys.disabled():
        print(
            f"\nreal Prometheus, clockless ramps: model {doc['model']} ({doc['reason']}); published replicas "
            f"{data['replicas']}, headroom {data['headroom']} (level {headroom['level']}, multiple "
            f"{headroom['multiple']}, coverage {headroom['coverage']}, rate alone {headroom['last_value_coverage']})"
        )
