"""How far to trust a number: Wilson intervals for accuracies, mean and spread over seeds.

An accuracy measured on n test images is a binomial proportion; the Wilson
interval stays inside [0, 1] and behaves near 0 and 1, where the normal
approximation does not (a D_NR robust accuracy of 0 % on 500 images is not
"0 ± 0"). Over seeds, every number that all runs share gets its mean and
sample standard deviation.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the two-sided 95 % normal quantile


def wilson(p: float, n: int, z: float = Z95) -> list[float]:
    """The 95 % Wilson score interval [low, high] of a proportion p observed on n trials."""
    if n <= 0:
        raise ValueError(f"a proportion needs at least one trial, got n={n}")
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(max(p * (1 - p), 0.0) / n + z2 / (4 * n * n))
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return [0.0 if p <= 0 else low, 1.0 if p >= 1 else high]  # exact at the ends, not off by rounding


def with_intervals(d: dict, n: int, *keys: str) -> dict:
    """Puts ``<key>_ci`` beside each named proportion of ``d`` measured on ``n`` images: the 95 % Wilson interval of
    a number, or a dict of them for a dict of numbers (robust accuracy per eps). Returns ``d``."""
    for key in keys:
        v = d[key]
        d[key + "_ci"] = {k: wilson(p, n) for k, p in v.items()} if isinstance(v, dict) else wilson(v, n)
    return d


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1; 0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd


def summarise(trees: list):
    """For results dicts of several seeds: every number all of them hold, as {"mean", "sd", "values"}, at its
    place in the tree; lists of numbers are taken element by element when their lengths agree; anything that is
    not a number everywhere (text, paths, differing shapes) is left out, and so are the per-run intervals
    (``*_ci``): over seeds the spread is the standard deviation."""
    first = trees[0]
    if isinstance(first, bool):
        return None
    if isinstance(first, (int, float)):
        if all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in trees):
            values = [float(t) for t in trees]
            mean, sd = mean_sd(values)
            return {"mean": mean, "sd": sd, "values": values}
        return None
    if isinstance(first, dict):
        out = {}
        for key in first:
            if not str(key).endswith("_ci") and all(isinstance(t, dict) and key in t for t in trees):
                sub = summarise([t[key] for t in trees])
                if sub is not None:
                    out[key] = sub
        return out or None
    if isinstance(first, list) and all(isinstance(t, list) and len(t) == len(first) for t in trees):
        items = [summarise([t[i] for t in trees]) for i in range(len(first))]
        return items if any(item is not None for item in items) else None
    return None
