"""Binomial proportions with their 95% Wilson score interval.

Wilson rather than the normal ("Wald") interval because the groups a report splits letters
into are often small and their rates near 0 or 1 (a drug overturned 0 times in 4), where Wald
gives zero-width or out-of-range intervals and Wilson stays honest (Brown, Cai & DasGupta 2001,
"Interval Estimation for a Binomial Proportion"). Written out rather than called from scipy so a
report of a million items computes thousands of intervals without scipy's per-call overhead;
tests check it against `scipy.stats.binomtest(...).proportion_ci(method="wilson")`.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The (low, high) Wilson score interval of successes/trials; (0.0, 1.0) when there are no trials."""
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError("successes must be between 0 and trials")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)
