"""How far to trust a number: the Wilson interval of a proportion, the Student-t interval of a mean over seeds,
and how many seeds the observed spread says a claim needs.

Seeds are the unit a claim is judged over: a per-run interval over test items does not cover the seed-to-seed
spread, so a claim over seeds rests on the mean and its t interval (scipy's quantile, never a hand table: a
hand table in this repository once fell back to 2.0 past 10 degrees of freedom).
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the two-sided 95 % normal quantile


def wilson(p: float, n: int, z: float = Z95) -> list[float]:
    """The 95 % Wilson score interval [low, high] of a proportion p observed on n trials (stays inside [0, 1]
    and behaves near 0 and 1, where the normal approximation does not)."""
    if n <= 0:
        raise ValueError(f"a proportion needs at least one trial, got n={n}")
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(max(p * (1 - p), 0.0) / n + z2 / (4 * n * n))
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return [0.0 if p <= 0 else low, 1.0 if p >= 1 else high]  # exact at the ends, not off by rounding


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1; 0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd


def _undefined(v) -> bool:
    return v is None or math.isnan(float(v))


def _t(n: int, confidence: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, n - 1))


def t_interval(values: list[float], confidence: float = 0.95) -> list[float] | None:
    """The Student-t interval of the mean of values over seeds (None for fewer than two, or an undefined value)."""
    if len(values) < 2 or any(_undefined(v) for v in values):
        return None
    mean, sd = mean_sd([float(v) for v in values])
    half = _t(len(values), confidence) * sd / math.sqrt(len(values))
    return [mean - half, mean + half]


def seeds_to_decide(values: list[float], margin: float, sense: str = ">=", confidence: float = 0.95,
                    most: int = 10**6) -> int | None:
    """How many seeds would put the interval wholly on one side of ``margin`` if the mean and spread stayed as
    observed: the least n >= 2 with t(n - 1) * sd / sqrt(n) below |mean - margin|. None when it cannot be said
    (fewer than two defined values, the mean on the margin, or more than ``most`` seeds). ``sense`` only names
    the side that would hold; the count is the same either way."""
    if sense not in (">=", "<="):
        raise ValueError(f"sense is '>=' or '<=', got {sense!r}")
    if len(values) < 2 or any(_undefined(v) for v in values):
        return None
    mean, sd = mean_sd([float(v) for v in values])
    gap = abs(mean - margin)
    if gap == 0:
        return None
    if sd == 0:
        return 2

    def decided(n: int) -> bool:
        return _t(n, confidence) * sd / math.sqrt(n) < gap

    if not decided(most):
        return None
    lo, hi = 2, most  # decided(hi) holds; the half-width falls with n, so bisect for the first n that decides
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if decided(mid) else (mid + 1, hi)
    return lo
