"""The bound, the trust gate and the published replicas: calibrated, out-of-sample, the CronJob's own."""

from __future__ import annotations

import math

import numpy as np
import pytest

from functions.predictive_scaler.decision import (
    Fit,
    ForecastBank,
    ForecastSettings,
    Gate,
    decide,
    fit_last,
    replicas_for,
)
from functions.predictive_scaler.forecast import ModelParams, NaiveParams
from functions.predictive_scaler.series import Series
from functions.predictive_scaler.walkforward import Publishing, walk_forward

DAY = 288
MONDAY = 1_709_510_400  # 2024-03-04T00:00:00Z
PUBLISHING = Publishing(target_rps_per_pod=50, min_replicas=2, max_replicas=100)


def sine(days: int, *, noise: float, seed: int = 1) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(days * DAY)
    values = (1000 + 700 * np.sin(2 * np.pi * t / DAY - 2.0)) * (1 + noise * rng.standard_normal(len(t)))
    return Series(MONDAY, 300, np.maximum(values, 0.0))


def office_hours(days: int, *, noise: float, seed: int = 2) -> Series:
    """07:00-21:00 on weekdays, a hump in the middle, nothing at night or at weekends."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * DAY)
    minute = (t % DAY) * 5
    weekday = (t // DAY) % 7 < 5
    open_hours = (minute >= 420) & (minute < 1260)
    hump = np.sin(np.pi * (minute - 420) / 840)
    values = np.where(weekday & open_hours, 2000 * hump * (1 + noise * rng.standard_normal(len(t))), 0.0)
    return Series(MONDAY, 300, np.maximum(values, 0.0))


def test_the_bound_covers_what_it_states_out_of_sample() -> None:
    runs = walk_forward(sine(24, noise=0.05), ForecastSettings(), PUBLISHING, 300)
    assert runs.judged.sum() > 3000
    assert 0.75 <= runs.coverage() <= 0.85
    assert all(0.72 <= c <= 0.88 for c in runs.coverage_per_step())
    stricter = walk_forward(sine(24, noise=0.05), ForecastSettings(confidence=0.95), PUBLISHING, 300)
    assert 0.9 <= stricter.coverage() <= 0.99


def test_office_hours_are_calibrated_on_busy_samples_only() -> None:
    series = office_hours(28, noise=0.08)
    runs = walk_forward(series, ForecastSettings(), PUBLISHING, 300)
    # Nights and weekends (about 70 % of the samples) are covered by any bound and are not counted ...
    assert 0.25 < runs.judged.mean() < 0.45
    # ... so the busy hours get the coverage the bound states, not a night-inflated one.
    assert 0.72 <= runs.coverage() <= 0.88
    assert runs.acted.any()


def test_a_run_and_the_simulator_fit_identically() -> None:
    series = office_hours(24, noise=0.08)
    settings = ForecastSettings()
    whole = ForecastBank(series, settings)
    for origin in (17 * DAY + 100, 21 * DAY + 3, 23 * DAY + 200):
        window = Series(series.start, 300, series.values[origin - 14 * DAY : origin + 1])
        _, alone = fit_last(window, settings)
        inside = whole.fit(origin)
        # Equal up to the rounding of running sums taken over different spans.
        assert alone.params == inside.params and alone.reason == inside.reason
        assert np.allclose(alone.forecast, inside.forecast, rtol=1e-9)
        assert np.allclose(alone.quantiles, inside.quantiles, rtol=1e-9, atol=1e-12)
        for a, b in (
            (alone.coverage, inside.coverage),
            (alone.error_ratio, inside.error_ratio),
            (alone.width, inside.width),
        ):
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_a_fit_uses_only_outcomes_known_at_its_origin() -> None:
    series = sine(16, noise=0.05)
    origin = 15 * DAY
    base = ForecastBank(series, ForecastSettings()).fit(origin)
    changed = series.values.copy()
    changed[origin + 1 :] *= 3.0
    other = ForecastBank(Series(series.start, 300, changed), ForecastSettings()).fit(origin)
    assert np.array_equal(base.upper, other.upper) and base.coverage == other.coverage
    changed[origin - 40 : origin + 1] *= 3.0  # outcomes that were known do count
    moved = ForecastBank(Series(series.start, 300, changed), ForecastSettings()).fit(origin)
    assert not np.array_equal(base.upper, moved.upper)


def test_steady_seasonal_traffic_is_trusted_and_sized_on_the_bound() -> None:
    series = sine(16, noise=0.03)
    bank, fit = fit_last(series, ForecastSettings())
    assert fit.trusted and fit.error_ratio < 0.8 and fit.width < 0.1
    assert np.all(fit.upper >= fit.forecast)
    decision = decide(fit, bank.cover, confidence=0.8, target_rps_per_pod=50, min_replicas=2, max_replicas=100,
                      hpa_tolerance=0.1)  # fmt: skip
    assert bank.cover == 2  # ten minutes of five-minute samples
    assert decision.acted and decision.replicas == decision.bound_replicas
    assert fit.level == 0.8 and decision.upper_rps == pytest.approx(float(fit.upper[:2].max()))
    assert decision.provision_rps == pytest.approx(decision.upper_rps)
    assert decision.replicas == math.ceil(decision.provision_rps * 1.1 / 50 - 1e-9)


def poisson_counts(seed: int = 4) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(16 * DAY)
    counts = rng.poisson(3 + 2 * np.sin(2 * np.pi * t / DAY)).astype(float)  # a handful of events per sample
    return Series(MONDAY, 300, counts)


def test_erratic_traffic_abstains_when_only_the_stated_confidence_may_provision() -> None:
    bank, fit = fit_last(poisson_counts(), ForecastSettings(provision_levels=(0.8,)))
    assert not fit.trusted and ("no better" in fit.reason or "too erratic" in fit.reason)
    decision = decide(fit, bank.cover, confidence=0.8, target_rps_per_pod=1, min_replicas=1, max_replicas=50)
    assert decision.replicas == 0 and not decision.acted and decision.bound_replicas > 0


def test_the_gate_judges_affordability_at_the_chosen_level() -> None:
    series = poisson_counts()
    _, stated = fit_last(series, ForecastSettings(provision_levels=(0.8,)))
    bank, fit = fit_last(series, ForecastSettings())
    assert stated.width > 0.1 and "too erratic" in stated.reason  # the 80 % bound is unaffordable here
    assert fit.level < 0.8 and fit.width <= 0.1 and fit.trusted  # a lower level is affordable and acts
    assert np.all(fit.provision <= fit.upper + 1e-9)
    decision = decide(fit, bank.cover, confidence=0.8, target_rps_per_pod=1, min_replicas=1, max_replicas=50,
                      hpa_tolerance=0.1)  # fmt: skip
    assert decision.acted and decision.provision_rps == pytest.approx(float(fit.provision[:2].max()))
    assert decision.replicas == math.ceil(decision.provision_rps * 1.1 - 1e-9)
    assert decision.provision_rps < decision.upper_rps


def test_a_noisy_service_is_provisioned_from_a_lower_level_than_a_smooth_one() -> None:
    _, smooth = fit_last(sine(16, noise=0.03), ForecastSettings())
    _, noisy = fit_last(sine(16, noise=0.3), ForecastSettings())
    assert smooth.trusted and noisy.trusted
    assert smooth.level == 0.8 and noisy.level < smooth.level


def test_the_reported_bound_does_not_depend_on_the_provisioning_level() -> None:
    series = sine(16, noise=0.3)
    fits = [
        fit_last(series, ForecastSettings(provision_levels=levels))[1]
        for levels in ((0.5,), (0.8,), (0.5, 0.6, 0.7, 0.8))
    ]
    assert [f.level for f in fits[:2]] == [0.5, 0.8]
    for other in fits[1:]:
        assert np.array_equal(other.upper, fits[0].upper) and np.array_equal(other.quantiles, fits[0].quantiles)
        assert other.coverage == fits[0].coverage
    assert not np.array_equal(fits[0].provision, fits[1].provision)
    assert np.array_equal(fits[1].provision, fits[1].upper)  # at the stated level the two bounds are one


def test_the_level_is_priced_by_the_targets_ratio() -> None:
    """Free replicas make the highest level the cheapest; replicas priced far above misses, the lowest."""
    series = sine(16, noise=0.3)
    _, generous = fit_last(series, ForecastSettings(target_extra_cost=100.0, target_reduction=0.01))
    _, frugal = fit_last(series, ForecastSettings(target_extra_cost=0.0))
    assert generous.level == 0.8 and frugal.level == 0.5


def test_levels_stop_at_the_stated_confidence_and_include_it() -> None:
    assert ForecastSettings().levels == (0.5, 0.6, 0.7, 0.8)
    assert ForecastSettings(confidence=0.95).levels == (0.5, 0.6, 0.7, 0.8, 0.95)
    assert ForecastSettings(confidence=0.65).levels == (0.5, 0.6, 0.65)


def test_settings_refuse_levels_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="provision_levels"):
        ForecastSettings(provision_levels=(0.5, 1.0))
    with pytest.raises(ValueError, match="target_reduction"):
        ForecastSettings(target_reduction=0.0)


def test_the_gate_closes_when_traffic_turns_erratic_and_names_why() -> None:
    calm, wild = sine(12, noise=0.02), sine(4, noise=0.3, seed=9)
    series = Series(MONDAY, 300, np.concatenate([calm.values, wild.values]))
    bank = ForecastBank(series, ForecastSettings())
    assert bank.fit(12 * DAY - 1).trusted
    after = bank.fit(14 * DAY)
    assert not after.trusted and after.reason


@pytest.mark.parametrize(
    ("gate", "fragment"),
    [
        (Gate(coverage_tolerance=0.0, max_error_ratio=9, max_width=9), None),
        (Gate(max_width=0.0), "too erratic to provision ahead"),
    ],
)
def test_each_gate_condition_can_close_it(gate: Gate, fragment: str | None) -> None:
    fit = fit_last(sine(16, noise=0.05), ForecastSettings(gate=gate))[1]
    if fragment is None:  # a zero tolerance closes whenever the last days were covered a bit less
        assert fit.trusted == (fit.coverage >= 0.8)
    else:
        assert not fit.trusted and fragment in fit.reason


def test_a_seasonal_model_no_better_than_the_last_value_is_declined() -> None:
    bank = ForecastBank(sine(16, noise=0.05), ForecastSettings())
    assert bank.verdict(0.8, 0.5, 0.05, None) == ""
    assert "no better than what the reactive metrics already see" in bank.verdict(0.8, 0.9, 0.05, None)
    # A persistence model is not held to beating itself: it is judged on the headroom it adds.
    assert bank.verdict(0.8, 1.0, 0.05, 0.5) == ""
    assert "headroom adds nothing" in bank.verdict(0.8, 1.0, 0.05, 0.85)


def test_a_margin_the_seasonal_model_cannot_meet_hands_the_service_to_persistence() -> None:
    fit = fit_last(sine(16, noise=0.05), ForecastSettings(gate=Gate(max_error_ratio=0.01)))[1]
    assert isinstance(fit.params, NaiveParams) and fit.trusted


def test_too_little_history_abstains() -> None:
    bank, fit = fit_last(sine(8, noise=0.03), ForecastSettings())
    assert not fit.trusted and "not enough" in fit.reason
    decision = decide(fit, bank.cover, confidence=0.8, target_rps_per_pod=50, min_replicas=2, max_replicas=40)
    assert decision.replicas == 0 and not decision.acted
    empty = Fit(None, np.empty(0), np.empty(0), np.empty(0), math.nan, math.nan, math.nan, "not enough history")
    assert decide(empty, 2, confidence=0.8, target_rps_per_pod=50, min_replicas=2, max_replicas=40).bound_replicas == 0


def test_settings_refuse_a_history_that_cannot_hold_the_backtest() -> None:
    with pytest.raises(ValueError, match="read at least 10 days"):
        ForecastSettings(history_days=7)
    with pytest.raises(ValueError, match="confidence"):
        ForecastSettings(confidence=1.0)


def test_replicas_clear_the_hpa_dead_band() -> None:
    assert replicas_for(1000, 50, 5, 100) == 20
    assert replicas_for(1000, 50, 5, 100, hpa_tolerance=0.1) == 22
    assert replicas_for(10, 50, 5, 100, hpa_tolerance=0.1) == 5  # min
    assert replicas_for(9000, 50, 5, 100, hpa_tolerance=0.1) == 100  # max


def random_walk(days: int, *, step_sd: float, seed: int = 5, drift: float = 0.0) -> Series:
    """A multiplicative random walk around 1000 req/s: no season, every change unforeseeable."""
    rng = np.random.default_rng(seed)
    steps = drift + step_sd * rng.standard_normal(days * DAY)
    return Series(MONDAY, 300, 1000 * np.exp(np.cumsum(steps)))


def test_persistence_bound_is_calibrated_on_a_random_walk() -> None:
    runs = walk_forward(random_walk(24, step_sd=0.01), ForecastSettings(), PUBLISHING, 300)
    assert runs.judged.sum() > 3000
    assert 0.75 <= runs.coverage() <= 0.85
    assert all(0.72 <= c <= 0.88 for c in runs.coverage_per_step())
    assert runs.models["naive acted"] > 0.9 * len(runs.replicas[runs.judged.any(axis=1)])
    stricter = walk_forward(random_walk(24, step_sd=0.01), ForecastSettings(confidence=0.95), PUBLISHING, 300)
    assert 0.9 <= stricter.coverage() <= 0.99


def test_selection_picks_persistence_without_a_season_and_the_season_where_it_is_strong() -> None:
    _, walk = fit_last(random_walk(16, step_sd=0.01), ForecastSettings())
    assert isinstance(walk.params, NaiveParams) and walk.trusted
    bank, seasonal = fit_last(sine(16, noise=0.03), ForecastSettings())
    assert isinstance(seasonal.params, ModelParams) and seasonal.trusted
    # The trusted persistence bound is what the run publishes: above the last value by its calibrated step.
    decision = decide(walk, bank.cover, confidence=0.8, target_rps_per_pod=50, min_replicas=2, max_replicas=100)
    assert decision.acted and decision.upper_rps > decision.forecast_rps


def test_a_persistence_bound_that_under_covers_is_declined() -> None:
    calm = random_walk(14, step_sd=0.005, seed=6)
    wild = random_walk(2, step_sd=0.05, seed=7, drift=0.01)  # a surge: far larger moves, and upward
    values = np.concatenate([calm.values, calm.values[-1] * wild.values / 1000])
    _, fit = fit_last(Series(MONDAY, 300, values), ForecastSettings())
    assert isinstance(fit.params, NaiveParams)
    assert fit.coverage < 0.55 and not fit.trusted and "not calibrated" in fit.reason


def test_persistence_on_falling_traffic_adds_nothing_and_abstains() -> None:
    _, fit = fit_last(random_walk(16, step_sd=0.002, drift=-0.002), ForecastSettings())
    assert isinstance(fit.params, NaiveParams)
    assert fit.last_value_coverage >= 0.8 and not fit.trusted and "headroom adds nothing" in fit.reason
