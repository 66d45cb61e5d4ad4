"""The scaling benchmark's verdicts: each target beside its measured value, and which traces run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scaling", ROOT / "bench" / "scaling.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_scaling", module)
    spec.loader.exec_module(module)
    return module


bench = _bench()


def _summary(reduction: float, extra: float, coverage: float | None, scale_up: float) -> dict[str, Any]:
    return {
        "comparison": {
            "underprovisioned_reduction": reduction,
            "replica_hours_increase": extra,
            "interval_coverage": coverage,
        },
        "predictive": {"time_to_scale_up": {"p95_s": scale_up}},
    }


def test_every_target_met_at_its_edges() -> None:
    verdict = bench.targets_of(_summary(0.60, 0.15, 0.75, 60.0), 0.8)
    assert verdict["all"] and all(verdict["met"].values())
    row = verdict["per_target"]["replica_hours_increase"]
    assert row == {"value": 0.15, "target": "<= 0.15", "met": True}


@pytest.mark.parametrize(
    ("summary", "missed"),
    [
        (_summary(0.599, 0.10, 0.80, 0.0), "underprovisioned_reduction"),
        (_summary(0.90, 0.154, 0.80, 0.0), "replica_hours_increase"),
        (_summary(0.90, 0.10, 0.749, 0.0), "interval_coverage"),
        (_summary(0.90, 0.10, None, 0.0), "interval_coverage"),
        (_summary(0.90, 0.10, 0.80, 75.0), "time_to_scale_up"),
    ],
)
def test_one_missed_target_is_named_and_fails_the_trace(summary: dict[str, Any], missed: str) -> None:
    verdict = bench.targets_of(summary, 0.8)
    assert not verdict["all"]
    assert [name for name, ok in verdict["met"].items() if not ok] == [missed]
    assert verdict["per_target"][missed]["met"] is False


def test_sets_pick_their_traces_and_names_win() -> None:
    fresh = bench.select_traces(None, ["fresh"])
    assert fresh == list(bench.FRESH) and len(fresh) >= 3
    assert bench.select_traces(None, ["fresh2"]) == list(bench.FRESH2) and len(bench.FRESH2) >= 3
    assert bench.select_traces(None, ["fresh3"]) == list(bench.FRESH3) and len(bench.FRESH3) >= 3
    assert bench.select_traces(None, ["fresh4"]) == list(bench.FRESH4) and len(bench.FRESH4) >= 3
    assert bench.select_traces(None, ["fresh5"]) == list(bench.FRESH5) and len(bench.FRESH5) >= 3
    everything = bench.select_traces(None, ["tuning", "evaluation", "fresh", "fresh2", "fresh3", "fresh4", "fresh5"])
    assert everything == [
        *bench.TUNING,
        *bench.EVALUATION,
        *bench.FRESH,
        *bench.FRESH2,
        *bench.FRESH3,
        *bench.FRESH4,
        *bench.FRESH5,
    ]
    assert bench.select_traces(["taylor", "taylor", "flights"], ["fresh"]) == ["taylor", "flights"]
