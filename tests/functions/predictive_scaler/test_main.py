"""The CronJob's CLI end to end: Prometheus stand-in in, Kubernetes API stand-in out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from functions.predictive_scaler.__main__ import main
from functions.predictive_scaler.series import Series, parse_timestamp, write_trace_csv
from tests.functions.predictive_scaler.conftest import FakeServer

NOW = "2024-05-15T07:30:00Z"


def history(days: int = 14, step: int = 300) -> Series:
    end = parse_timestamp(NOW)
    count = days * 86_400 // step + 1
    start = end - (count - 1) * step
    t = start + step * np.arange(count)
    rng = np.random.default_rng(3)
    values = 1000 + 700 * np.sin(2 * np.pi * (t % 86_400) / 86_400 - 2.0) + 20 * rng.standard_normal(count)
    return Series(start, step, values)


def prometheus_reply(series: Series) -> dict[str, object]:
    values = [[int(t), f"{v:.3f}"] for t, v in zip(series.timestamps(), series.values, strict=True)]
    return {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}}


def kube_args(api: FakeServer, tmp_path: Path) -> list[str]:
    token = tmp_path / "token"
    token.write_text("tok", encoding="utf-8")
    return ["--kube-api", api.url, "--namespace", "platform", "--token-file", str(token)]


def test_run_reads_prometheus_and_patches_the_configmap(
    fake_prometheus: FakeServer, fake_api: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prometheus.reply = prometheus_reply(history())
    code = main(
        ["run", "--service", "backend", "--prometheus", fake_prometheus.url, "--now", NOW,
         "--min-replicas", "5", "--max-replicas", "100", "--target-rps-per-pod", "50",
         *kube_args(fake_api, tmp_path)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    [query] = fake_prometheus.requests
    assert query.query["query"] == ['sum(rate(http_requests_total{service="backend"}[5m]))']
    assert query.query["end"] == [str(parse_timestamp(NOW))]
    assert query.query["start"] == [str(parse_timestamp(NOW) - 14 * 86_400)]
    [patch] = fake_api.requests
    assert patch.path == "/api/v1/namespaces/platform/configmaps/predictive-scaler-backend"
    data = json.loads(patch.body)["data"]
    doc = json.loads(data["forecast.json"])
    assert doc["acted"] is True and data["acted"] == "true" and doc["reason"] == "trusted"
    # The next 10 minutes (the run's provisioning window) peak a little above the last value on this rising sine.
    assert 1000 < doc["forecast_rps"] < doc["upper_rps"] < 2000
    assert doc["provision_level"] in (0.5, 0.6, 0.7, 0.8) and doc["provision_rps"] <= doc["upper_rps"]
    assert doc["replicas"] == int(data["replicas"]) >= doc["provision_rps"] * 1.1 / 50
    assert doc["threshold"] == 0.8 and 0.55 <= doc["confidence"] <= 1.0 and doc["generated_at"] == NOW
    assert len(doc["path"]) == 6 and doc["path"][-1]["minutes"] == 30 and doc["cover_minutes"] == 10
    err = capsys.readouterr().err
    assert "backend: acted" in err and "fit " in err


def test_the_live_query_is_read_at_a_two_minute_step_and_its_margin_published(
    fake_prometheus: FakeServer, fake_api: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The stand-in answers both queries with one series: a 1-minute one fills both grids.
    fake_prometheus.reply = prometheus_reply(history(step=60))
    live = 'sum(rate(http_requests_total{namespace="platform",service="backend"}[2m]))'
    code = main(
        ["run", "--service", "backend", "--prometheus", fake_prometheus.url, "--now", NOW,
         "--min-replicas", "5", "--max-replicas", "100", "--target-rps-per-pod", "50",
         "--live-query", live, *kube_args(fake_api, tmp_path)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    history_query, live_query = fake_prometheus.requests
    assert history_query.query["step"] == ["300"]
    assert live_query.query["query"] == [live] and live_query.query["step"] == ["120"]
    end = parse_timestamp(NOW)
    assert live_query.query["end"] == [str(end)] and live_query.query["start"] == [str(end - 9 * 86_400)]
    data = json.loads(fake_api.requests[0].body)["data"]
    doc = json.loads(data["forecast.json"])
    assert float(data["headroom"]) == doc["headroom"]["factor"] >= 1.0
    assert doc["headroom"]["reason"] and "live headroom" in capsys.readouterr().err


def test_a_live_query_that_fails_publishes_the_count_without_a_margin_and_exits_1(
    fake_prometheus: FakeServer, fake_api: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prometheus.reply = prometheus_reply(history())  # 5-minute samples: 60 % missing on the 2-minute grid
    code = main(
        ["run", "--service", "backend", "--prometheus", fake_prometheus.url, "--now", NOW,
         "--live-query", "sum(rate(x[2m]))", *kube_args(fake_api, tmp_path)]
    )  # fmt: skip
    assert code == 1
    data = json.loads(fake_api.requests[0].body)["data"]
    assert data["headroom"] == "1" and int(data["replicas"]) > 0  # the count still stands; the margin is off
    assert "error: live request rate: 60% of the samples are missing" in capsys.readouterr().err


def test_prometheus_down_publishes_an_abstention_and_fails(
    fake_prometheus: FakeServer, fake_api: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prometheus.status = 503
    code = main(
        ["run", "--service", "backend", "--prometheus", fake_prometheus.url, "--now", NOW,
         *kube_args(fake_api, tmp_path)]
    )  # fmt: skip
    assert code == 1
    data = json.loads(fake_api.requests[0].body)["data"]
    assert data["replicas"] == "0" and data["acted"] == "false"
    err = capsys.readouterr().err
    assert "HTTP 503" in err and "abstaining document" in err


def test_offline_history_to_stdout_and_file(
    tmp_path: Path, stack_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "history.csv"
    write_trace_csv(history(days=16), csv)
    stack = ["--stack", str(stack_file)]
    assert main(["run", "--service", "backend", *stack, "--history", str(csv), "--publish", "stdout"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"replicas", "confidence", "forecast_rps", "generated_at", "headroom"}
    # A 5-minute history is too coarse for the 2-minute live margin: none, and the reason says why.
    assert doc["headroom"]["factor"] == 1.0 and "does not divide" in doc["headroom"]["reason"]
    assert doc["generated_at"] == NOW and 5 <= doc["replicas"] <= 100
    out = tmp_path / "forecast.json"
    args = ["run", "--service", "backend", "--history", str(csv), "--publish", "file", "--output", str(out)]
    assert main([*args, "--confidence-threshold", "0.95"]) == 0
    strict = json.loads(out.read_text())
    assert strict["threshold"] == 0.95 and strict["upper_rps"] > doc["upper_rps"]
    assert main([*args, "--max-width", "0"]) == 0  # a gate nothing passes: abstain, but say what it wanted
    closed = json.loads(out.read_text())
    assert closed["replicas"] == 0 and not closed["acted"] and closed["forecast_replicas"] > 0
    assert "too erratic" in closed["reason"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--publish", "file"], "--output: required with --publish file"),
        (["--min-replicas", "10", "--max-replicas", "5"], "--max-replicas 5 is below --min-replicas 10"),
        (["--now", "soon"], "--now: 'soon' is not an ISO 8601 timestamp"),
        (["--stack", "STACK", "--service", "nope"], "'nope' is not a service in"),
        (["--stack", "nowhere"], "Pulumi.nowhere.yaml does not exist"),
        (["--history-days", "7"], "read at least 10 days"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, stack_file: Path, capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str
) -> None:
    extra = [str(stack_file) if e == "STACK" else e for e in extra]
    csv = tmp_path / "history.csv"
    write_trace_csv(history(days=3), csv)
    args = ["run", "--service", "backend", "--history", str(csv), "--publish", "stdout"]
    if "--service" in extra:
        args = args[:1] + args[3:]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_bad_history_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "history.csv"
    csv.write_text("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,-1\n", encoding="utf-8")
    assert main(["run", "--service", "backend", "--history", str(csv), "--publish", "stdout"]) == 2
    assert f"{csv}:3: value -1 is negative" in capsys.readouterr().err


def test_bad_flag_values_are_argparse_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["run", "--service", "b", "--history", "x.csv", "--confidence-threshold", "1.5"])
    assert caught.value.code == 2
    assert "'1.5' must be between" in capsys.readouterr().err


def test_the_scale_down_window_comes_from_the_flag_else_the_stack_else_kubernetes(stack_file: Path) -> None:
    from functions.predictive_scaler.__main__ import build_parser, resolve_settings

    base = ["run", "--service", "backend", "--prometheus", "http://prometheus:9090"]
    parse = build_parser().parse_args
    assert resolve_settings(parse(base)).scale_down_window_seconds == 300
    from_stack = resolve_settings(parse([*base, "--stack", str(stack_file)])).scale_down_window_seconds
    assert from_stack == 600  # the stack file's backend keeps the platform's 600 s window
    assert resolve_settings(parse([*base, "--scale-down-window-seconds", "0"])).scale_down_window_seconds == 0
