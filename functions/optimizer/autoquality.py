"""Per-image quality ("autoquality", as imgproxy Pro does): the lowest codec quality that reaches a target SSIM.

Why: a fixed number per codec spends too many bytes on easy images (smooth skies, soft focus) and too few on
hard ones (fine texture, noise). The target is what the named level means on that image: the SSIM that a
libjpeg-turbo JPEG at the seed's number has on it at the probe width (``images.level_target``); the search
runs on the small probe width only, where an encode plus SSIM costs a few milliseconds, and the quality it
finds is used for every width of that image.

The search is a bracketed secant search over integer qualities, not a plain bisection: SSIM is smooth and
nearly linear in the quality over a few steps, so starting from the calibrated table value it usually ends in
3-5 encodes instead of 7 (extrapolate along the local slope until the target is bracketed, then interpolate;
a step that does not halve the bracket is followed by a bisection step, so it cannot crawl and never takes
more encodes than a bisection would need plus a few). It stays inside ``[low, high]`` (the whole 1-100 range
in the optimizer; the target, not a bound, keeps the levels ordered: a q90 JPEG scores higher than a q75 one
on the same image).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

_FIRST_STEP = 8  # quality step when only one side of the target is known and no slope is measured or given
# Per codec, the SSIM per quality step the optimizer's searches assume until they have measured two points
# (None: the fixed first step). Chosen on the probe SSIM curves (every quality 1-100) of the tuning photos at
# the three levels, 30 searches per codec: mean encodes per search AVIF 4.47 -> 3.73, JPEG 3.90 -> 3.17 with
# 0.002, each search ending on the quality the exhaustive scan finds; WebP gained nothing (4.57 -> 4.87 with
# 0.002; 0.0009-0.0015 saved 0.1 encodes but missed the exhaustive answer once, on a curve that is not
# monotone), so it keeps the fixed step. The slopes measured near the answers are 0.0005-0.0022 (quartiles).
PRIOR_SLOPE: dict[str, float | None] = {"avif": 0.002, "webp": None, "jpeg": 0.002}


@dataclass(frozen=True)
class SearchResult:
    """The chosen quality, its encoded probe and SSIM; ``reached`` is False when ``high`` was not enough."""

    quality: int
    blob: bytes
    ssim: float
    encodes: int
    reached: bool


def _local_slope(seen: dict[int, tuple[bytes, float]], near: int) -> float | None:
    """SSIM gained per quality step between ``near`` and the evaluated quality closest to it (None if flat)."""
    others = [q for q in seen if q != near]
    if not others:
        return None
    other = min(others, key=lambda q: abs(q - near))
    slope = (seen[near][1] - seen[other][1]) / (near - other)
    return slope if slope > 0 else None


def _next_guess(
    seen: dict[int, tuple[bytes, float]],
    target: float,
    *,
    fail: int,
    ok: int,
    low: int,
    high: int,
    bisect: bool,
    prior_slope: float | None = None,
) -> int:
    """Next quality to try, strictly inside the bracket (fail, ok)."""
    if fail >= low and ok <= high:  # both sides measured: interpolate between them (or bisect if told to)
        s_fail, s_ok = seen[fail][1], seen[ok][1]
        if bisect or s_ok <= s_fail:
            return (fail + ok) // 2
        estimate = fail + (target - s_fail) * (ok - fail) / (s_ok - s_fail)
        return min(max(math.ceil(estimate - 1e-9), fail + 1), ok - 1)
    going_down = fail < low  # only passes so far: look lower; only failures: look higher
    nearest = ok if going_down else fail
    slope = _local_slope(seen, nearest) or prior_slope
    reach = max(_FIRST_STEP, 2 * max(abs(q - nearest) for q in seen))  # at most double the distance so far
    if slope is None:
        guess = nearest - _FIRST_STEP if going_down else nearest + _FIRST_STEP
    else:
        # extrapolate along the local slope; going down, one step further so the probe most likely fails
        estimate = nearest + (target - seen[nearest][1]) / slope
        guess = math.floor(estimate) - 1 if going_down else math.ceil(estimate)
    guess = max(guess, nearest - reach) if going_down else min(guess, nearest + reach)
    return min(max(guess, fail + 1), ok - 1)


def lowest_quality_reaching(
    measure: Callable[[int], tuple[bytes, float]],
    target: float,
    start: int,
    low: int,
    high: int,
    *,
    prior_slope: float | None = None,
) -> SearchResult:
    """Lowest quality in [low, high] whose SSIM is >= target, assuming SSIM grows with quality.

    ``measure(q)`` encodes at quality q and returns (bytes, SSIM). If even ``high`` misses the target, ``high``
    is returned with ``reached=False`` (the caller keeps it: the bound is part of the level's meaning).
    """
    if not 1 <= low <= high <= 100:
        msg = f"quality bounds must satisfy 1 <= low <= high <= 100, got low={low} high={high}"
        raise ValueError(msg)
    seen: dict[int, tuple[bytes, float]] = {}
    fail, ok = low - 1, high + 1  # invariant: fail < answer <= ok; the ends are virtual until measured
    quality = min(max(start, low), high)
    span = high - low + 2
    bisect = False
    while True:
        seen[quality] = measure(quality)
        if seen[quality][1] >= target:
            ok = quality
        else:
            fail = quality
        if ok - fail <= 1:
            break
        # Dekker's safeguard: once bracketed, a step that did not halve the bracket is followed by a bisection
        bisect = fail >= low and ok <= high and 2 * (ok - fail) > span
        span = ok - fail
        quality = _next_guess(
            seen, target, fail=fail, ok=ok, low=low, high=high, bisect=bisect, prior_slope=prior_slope
        )
    if ok > high:
        blob, score = seen[high]
        return SearchResult(high, blob, score, len(seen), reached=False)
    blob, score = seen[ok]
    return SearchResult(ok, blob, score, len(seen), reached=True)
