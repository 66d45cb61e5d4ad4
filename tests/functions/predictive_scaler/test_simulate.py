"""The simulator: accounting on hand-checked cases, KEDA's max() of triggers, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from functions.predictive_scaler.profile import Scaling, ServiceProfile, Window
from functions.predictive_scaler.series import Series, parse_timestamp, write_trace_csv
from functions.predictive_scaler.simulate import SimulationOptions, main, run_scenario, simulate

MIDNIGHT = parse_timestamp("2024-03-04T00:00:00Z")  # a Monday


def simple_scaling(**overrides: object) -> Scaling:
    values: dict[str, object] = {
        "min_replicas": 1,
        "max_replicas": 10,
        "target_cpu_utilization": 60,
        "target_memory_utilization": None,
        "target_rps_per_pod": None,
        "scale_up": {"stabilization_window_seconds": 300, "policies": [{"type": "Pods", "value": 10}]},
        "scale_down": {"stabilization_window_seconds": 600, "policies": [{"type": "Percent", "value": 10}]},
    }
    values.update(overrides)
    return Scaling.model_validate(values)


def test_step_up_is_under_provisioned_for_stabilization_plus_startup() -> None:
    # 100 req/s on 2 pods (at capacity, CPU on its 60 % target), then 200 req/s from t = 600 s.
    demand = Series(MIDNIGHT, 15, np.array([100.0] * 40 + [200.0] * 80))
    options = SimulationOptions(per_pod_rps=50, pod_startup_seconds=90, cpu_at_capacity_percent=60)
    result = run_scenario(simple_scaling(), demand, [], options)
    # Recommendations of 2 leave the 300 s scale-up window at t = 600 + 285; the 2 new pods are ready
    # 90 s later: 375 s = 25 syncs of 15 s under capacity.
    assert result.underprovisioned_minutes == pytest.approx(6.25)
    assert result.scale_events == 1
    assert result.replicas[40 + 18].item() == 2 and result.replicas[40 + 19].item() == 4
    assert result.ready[40 + 19 + 5].item() == 2 and result.ready[40 + 19 + 6].item() == 4
    assert result.replica_hours == pytest.approx((59 * 2 + 61 * 4) * 15 / 3600)
    assert result.unserved_fraction == pytest.approx(25 * 100 / (40 * 100 + 80 * 200))
    # Demand crossed what 2 pods carry (beyond the HPA's 10 % tolerance) at t = 600; more pods were
    # requested 285 s later: the stabilization window is the whole delay.
    assert result.time_to_scale_up.seconds == (285.0,)
    assert result.time_from_capacity.seconds == (285.0,)


def test_without_a_scale_up_window_new_replicas_are_requested_at_the_next_sync() -> None:
    demand = Series(MIDNIGHT, 15, np.array([100.0] * 40 + [200.0] * 80))
    options = SimulationOptions(per_pod_rps=50, pod_startup_seconds=90, cpu_at_capacity_percent=60)
    scaling = simple_scaling(scale_up={"stabilization_window_seconds": 0, "policies": [{"type": "Pods", "value": 10}]})
    result = run_scenario(scaling, demand, [], options)
    assert result.time_to_scale_up.seconds == (0.0,)
    assert result.replicas[40].item() == 4
    assert result.underprovisioned_minutes == pytest.approx(6 * 15 / 60)  # only the 90 s pod start-up


def test_a_slow_ramp_sits_in_the_dead_band_before_the_hpa_acts() -> None:
    # 2 pods carry 100 req/s; demand climbs 0.7 req/s per 15 s sync from 90: it passes 100 (plain
    # capacity) at 100.5, 14 syncs before 110.3 (past the HPA's action point of 110), where more
    # replicas are requested at once.
    ramp = np.concatenate([np.full(20, 90.0), 90.0 + 0.7 * np.arange(1, 61)])
    scaling = simple_scaling(scale_up={"stabilization_window_seconds": 0, "policies": [{"type": "Pods", "value": 10}]})
    options = SimulationOptions(per_pod_rps=50, pod_startup_seconds=90, cpu_at_capacity_percent=60)
    result = run_scenario(scaling, Series(MIDNIGHT, 15, ramp), [], options)
    assert result.time_to_scale_up.seconds == (0.0,)
    assert result.time_from_capacity.seconds == (14 * 15.0,)


def test_cron_trigger_lifts_replicas_through_the_same_hpa() -> None:
    scaling = simple_scaling(
        max_replicas=20,
        baseline_replicas=4,
        schedules=(Window(name="peak", start="08:00", end="10:00", factor=2.0),),
    )
    service = ServiceProfile(name="web", scaling=scaling)
    # A flat 50 req/s day at 5-minute samples: the reactive HPA keeps one pod.
    trace = Series(MIDNIGHT, 300, np.full(288 + 1, 50.0))
    options = SimulationOptions(per_pod_rps=50, pod_startup_seconds=90, cpu_at_capacity_percent=60)
    sim = simulate(trace, service, options)
    reactive, scheduled = sim.results["reactive"], sim.results["scheduled"]
    assert set(reactive.replicas.tolist()) == {1}
    at = {h: (h * 3600) // 15 for h in (8, 9, 10, 11)}
    assert scheduled.replicas[at[8]].item() == 1  # the scale-up window still holds the 1s
    assert scheduled.replicas[at[9]].item() == 8  # ceil(4 x 2.0) from 08:04:45 on
    # After 10:00 the cron metric is 1; the last 8 (09:59:45) leaves the 600 s window at 10:09:45,
    # then 10 % a minute: int(8 x 0.9) = 7.
    assert scheduled.replicas[at[10] + 38].item() == 8
    assert scheduled.replicas[at[10] + 39].item() == 7
    assert scheduled.replicas[at[11]].item() < 8
    assert scheduled.underprovisioned_minutes == reactive.underprovisioned_minutes == 0
    assert scheduled.replica_hours > reactive.replica_hours
    # Prediction is off for this service: the third set-up equals the second.
    assert sim.results["predictive"].replica_hours == scheduled.replica_hours


def sine_trace(days: int) -> Series:
    t = np.arange(days * 288 + 1)
    rng = np.random.default_rng(5)
    values = 2000 + 1500 * np.sin(2 * np.pi * t / 288 - 2.0) * (1 + 0.02 * rng.standard_normal(len(t)))
    return Series(MIDNIGHT, 300, values)


def test_cli_json_and_plot(tmp_path: Path, stack_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.csv"
    write_trace_csv(sine_trace(14), trace)
    png = tmp_path / "plot.png"
    args = ["--trace", str(trace), "--stack", str(stack_file), "--json", "--plot", str(png)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    for name in ("reactive", "scheduled", "predictive"):
        assert {"underprovisioned_minutes", "replica_hours", "scale_events"} <= set(out[name])
    # The default service is the first with prediction enabled (backend, not frontend).
    comparison = out["comparison"]
    assert comparison["predictive_acted_fraction"] > 0.3
    assert 0.7 <= comparison["interval_coverage"] <= 0.9
    # The platform's default behaviour has no scale-up window: more replicas at the sync that needs them.
    for name in ("reactive", "predictive"):
        delays = out[name]["time_to_scale_up"]
        assert delays["episodes"] > 0 and delays["p95_s"] <= 60, (name, delays)
    assert out["predictive"]["underprovisioned_minutes"] < out["reactive"]["underprovisioned_minutes"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert main(["--trace", str(trace), "--stack", str(stack_file), "--service", "frontend"]) == 0
    table = capsys.readouterr().out
    assert "reactive" in table and "predictive vs reactive" in table


def test_cli_bad_trace_and_bad_config(tmp_path: Path, stack_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:00Z,2\n", encoding="utf-8")
    assert main(["--trace", str(trace), "--stack", str(stack_file)]) == 2
    assert f"{trace}:3: timestamp" in capsys.readouterr().err
    assert main(["--trace", str(tmp_path / "none.csv"), "--stack", str(stack_file)]) == 2
    assert "none.csv: cannot read trace" in capsys.readouterr().err
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text(stack_file.read_text().replace("max_replicas: 100", "max_replicas: 3"), encoding="utf-8")
    assert main(["--trace", str(trace), "--stack", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: invalid services" in err and "max_replicas 3 is below min_replicas 5" in err


def test_under_provisioning_splits_into_pod_start_up_and_too_few_requested() -> None:
    # Same step without a window: the 90 s start-up is all of it, with enough replicas requested.
    demand = Series(MIDNIGHT, 15, np.array([100.0] * 40 + [200.0] * 80))
    options = SimulationOptions(per_pod_rps=50, pod_startup_seconds=90, cpu_at_capacity_percent=60)
    scaling = simple_scaling(scale_up={"stabilization_window_seconds": 0, "policies": [{"type": "Pods", "value": 10}]})
    result = run_scenario(scaling, demand, [], options)
    assert result.underprovisioned_minutes_starting == result.underprovisioned_minutes == pytest.approx(1.5)
    # With the 300 s window, the 285 s before the HPA asks had too few requested; only the start-up remains.
    windowed = run_scenario(simple_scaling(), demand, [], options)
    assert windowed.underprovisioned_minutes == pytest.approx(6.25)
    assert windowed.underprovisioned_minutes_starting == pytest.approx(1.5)


def test_a_published_forecast_stands_in_for_the_windows_only_while_it_acts() -> None:
    from functions.predictive_scaler.simulate import yield_to_forecast

    window = np.array([15.0, 15.0, 15.0, 1.0])
    published = np.array([0.0, 8.0, 0.0, 9.0])
    [floor] = yield_to_forecast([window], published)
    assert floor.tolist() == [15.0, 1.0, 15.0, 1.0]  # abstaining runs keep the window's 15


def test_simulate_lets_the_forecast_replace_the_windows_when_the_profile_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import functions.predictive_scaler.simulate as simulate_module

    # Quiet demand all day; a 08:00-10:00 window worth 8 replicas; the forecaster publishes 2 from 08:30.
    demand = Series(MIDNIGHT, 900, np.full(24 * 4, 20.0))
    fine = simulate_module.fine_demand(demand, 15)
    published = np.where(fine.timestamps() >= MIDNIGHT + 8.5 * 3600, 2.0, 0.0)
    monkeypatch.setattr(
        simulate_module, "predictive_values", lambda *_: simulate_module.PredictiveTrace(published, None)
    )
    window = {"name": "morning", "start": "08:00", "end": "10:00", "factor": 8.0}
    options = SimulationOptions(per_pod_rps=50, pod_startup_seconds=0, cpu_at_capacity_percent=60)

    def predictive_hours(replaces: bool) -> float:
        scaling = simple_scaling(
            baseline_replicas=1,
            schedules=[window],
            prediction={"enabled": True, "replaces_schedules": replaces},
        )
        result = simulate(demand, ServiceProfile(name="web", scaling=scaling), options)
        return result.results["predictive"].replica_hours

    # Kept: 8 replicas for the window's two hours (then scale-down); replaced: 8 only until 08:30.
    assert predictive_hours(True) < predictive_hours(False) - 1.0


def test_the_live_margin_term_is_the_request_rate_times_the_clamped_margin() -> None:
    from functions.predictive_scaler.simulate import live_headroom_values

    demand = Series(MIDNIGHT, 15, np.array([100.0, 200.0, 200.0]))
    scaling = simple_scaling(target_rps_per_pod=50.0)
    values = live_headroom_values(scaling, demand, np.array([0.5, 3.0, 1.2]))
    assert values.tolist() == pytest.approx([2.0, 8.0, 4.8])  # below 1 never cuts; above 2 is the formula's ceiling


def test_the_live_margin_removes_under_provisioning_a_reactive_target_leaves() -> None:
    rng = np.random.default_rng(4)
    logs = np.zeros(20 * 288)
    for i in range(1, len(logs)):
        logs[i] = 0.97 * logs[i - 1] + rng.normal(0.0, 0.05)
    demand = Series(MIDNIGHT, 300, 1500.0 * np.exp(logs))
    options = SimulationOptions(per_pod_rps=50, pod_startup_seconds=90, cpu_at_capacity_percent=60)

    def run(live: bool) -> dict[str, object]:
        scaling = simple_scaling(
            max_replicas=200,
            target_rps_per_pod=50.0,
            target_cpu_utilization=None,
            scale_up={"stabilization_window_seconds": 0, "policies": [{"type": "Percent", "value": 100}]},
            prediction={"enabled": True, "live_headroom": live},
        )
        return simulate(demand, ServiceProfile(name="web", scaling=scaling), options).summary()

    with_margin, without = run(True), run(False)
    live = with_margin["comparison"]["live_headroom"]  # type: ignore[index]
    assert live["published_fraction"] > 0.2 and live["mean_factor_when_published"] >= 1.1
    assert "live_headroom" not in without["comparison"]  # type: ignore[operator]
    under = [r["predictive"]["underprovisioned_minutes"] for r in (with_margin, without)]  # type: ignore[index]
    assert under[0] < 0.7 * under[1]


def test_a_metrics_delay_ages_what_the_hpa_sees_not_the_demand() -> None:
    from functions.predictive_scaler.simulate import delayed

    demand = Series(MIDNIGHT, 15, np.array([100.0] * 40 + [200.0] * 80))
    assert delayed(demand, 30).values[40:43].tolist() == [100.0, 100.0, 200.0]
    scaling = simple_scaling(scale_up={"stabilization_window_seconds": 0, "policies": [{"type": "Pods", "value": 10}]})
    fresh = SimulationOptions(per_pod_rps=50, pod_startup_seconds=90, cpu_at_capacity_percent=60)
    late = SimulationOptions(
        per_pod_rps=50, pod_startup_seconds=90, cpu_at_capacity_percent=60, metrics_delay_seconds=60
    )
    # The step is seen 60 s late, so the pods are ready 60 s later: 1.5 + 1 under-provisioned minutes.
    assert run_scenario(scaling, demand, [], late).underprovisioned_minutes == pytest.approx(
        run_scenario(scaling, demand, [], fresh).underprovisioned_minutes + 1.0
    )
    with pytest.raises(ValueError, match="not a multiple of the 15 s sync period"):
        delayed(demand, 20)
