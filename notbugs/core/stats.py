"""How far to trust a number: intervals of differences and bootstraps (Wilson and Student-t: ``verdicts``).

An accuracy measured on n test images is a binomial proportion; the Wilson
interval stays inside [0, 1] and behaves near 0 and 1, where the normal
approximation does not (a D_NR robust accuracy of 0 % on 500 images is not
"0 ± 0"). Over seeds, a claim's statistic gets its Student-t interval
(``verdicts.over_seeds``, the rule's own).
"""

from __future__ import annotations

import math

from verdicts import wilson


def newcombe(p1: float, n1: int, p2: float, n2: int) -> list[float]:
    """The 95 % interval of a difference p1 - p2 of two independent proportions (Newcombe 1998, method 10: the
    two Wilson intervals combined). Conservative for proportions measured on the same images."""
    l1, u1 = wilson(p1, n1)
    l2, u2 = wilson(p2, n2)
    d = p1 - p2
    return [d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)]


def newcombe_paired(first, second) -> list[float]:
    """The 95 % interval of p1 - p2 for two proportions measured on the same items (``first[i]`` and
    ``second[i]`` the i-th item's two outcomes): Newcombe's method 10 for paired data (Newcombe 1998, Statistics in
    Medicine 17:2635; as Altman et al., "Statistics with confidence", 2000, compute it), the two Wilson intervals
    combined with the correlation phi of the 2x2 table (its product term shrunk by n/2 towards 0, as Newcombe
    corrects it), so that two models right and wrong on the same images get a narrower interval than
    independent samples would."""
    import numpy as np

    a, b = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    n = len(a)
    if n == 0 or len(b) != n:
        raise ValueError("a paired interval needs two outcomes for each of at least one item")
    both, only_a, only_b = int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum())
    neither = n - both - only_a - only_b
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    l1, u1 = wilson(p1, n)
    l2, u2 = wilson(p2, n)
    margins = (both + only_a) * (neither + only_b) * (both + only_b) * (neither + only_a)
    cross = both * neither - only_a * only_b
    cross = cross - n / 2 if cross > n / 2 else min(cross, 0)
    phi = cross / math.sqrt(margins) if margins else 0.0
    d = p1 - p2
    low = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    high = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    return [d - math.sqrt(max(low, 0.0)), d + math.sqrt(max(high, 0.0))]


def bootstrap(stat, groups: list[list], rounds: int = 2000, seed: int = 0) -> list[float]:
    """The 95 % percentile-bootstrap interval of ``stat(samples)``, resampling each group's values with
    replacement (e.g. the seeds of each architecture) and passing one resampled list per group."""
    import random

    rng = random.Random(seed)
    values = sorted(stat([[rng.choice(g) for _ in g] for g in groups]) for _ in range(rounds))
    return [values[int(0.025 * (rounds - 1))], values[int(0.975 * (rounds - 1))]]


def bootstrap_means(columns, stat, rounds: int = 2000, seed: int = 0) -> list[float]:
    """The 95 % percentile-bootstrap interval of a statistic of column means (a ratio of two means, say),
    resampling the rows (images) together. ``columns``: (n, k); ``stat`` maps an (r, k) array of means to r
    values. Each round draws every row's count at once, so thousands of rows take milliseconds where
    ``bootstrap`` draws one value at a time in Python."""
    import numpy as np

    cols = np.asarray(columns, dtype=float)
    n = len(cols)
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, rounds, 100):
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(100, rounds - start))
        chunks.append(np.asarray(stat(counts @ cols / n), dtype=float))
    values = np.sort(np.concatenate(chunks))
    return [float(values[int(0.025 * (rounds - 1))]), float(values[int(0.975 * (rounds - 1))])]
