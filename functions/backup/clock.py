"""The one place the backup function reads the wall clock.

Backup ids, manifest times, lock expiry, chain age and retention all derive from it, so a test can move
time (days of incrementals, a lifecycle expiry months away) by replacing :func:`now` instead of waiting.
"""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.UTC)
