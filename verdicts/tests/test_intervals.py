"""Intervals over seeds and the seeds a claim needs, against scipy and brute force."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from verdicts import Estimate, over_seeds, seeds_to_decide, t_interval, wilson


def test_over_seeds_is_scipys_t_interval_of_the_mean():
    values = [0.31, 0.12, 0.25, 0.4, 0.22, 0.18, 0.3, 0.27, 0.35, 0.2, 0.15, 0.33]  # 11 df: past any short table
    low, high = scipy_stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values))
    e = over_seeds(values)
    assert isinstance(e, Estimate) and math.isclose(e, np.mean(values))
    assert np.allclose(e.ci, (low, high)) and np.allclose(t_interval(values), (low, high))
    assert np.allclose(over_seeds(values, confidence=0.9).ci, scipy_stats.t.interval(
        0.9, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)))


def test_one_seed_has_no_interval_and_an_undefined_seed_no_value():
    assert over_seeds([0.4]).ci is None and over_seeds([0.4]) == 0.4
    assert over_seeds([0.4, None]) is None and over_seeds([0.4, float("nan")]) is None and over_seeds([]) is None


@pytest.mark.parametrize("values, margin", [([0.3, 0.1, 0.25, 0.05], 0.1), ([1.0, 3.0, 2.5], 1.5),
                                            ([-0.2, 0.1, 0.0, -0.1, 0.05], 0.2)])
def test_seeds_to_decide_is_the_first_n_whose_interval_clears_the_margin(values, margin):
    mean, sd = np.mean(values), np.std(values, ddof=1)
    n = seeds_to_decide(values, margin, ">=")

    def half(k):
        return scipy_stats.t.ppf(0.975, k - 1) * sd / math.sqrt(k)
    assert n >= 2 and half(n) < abs(mean - margin) and (n == 2 or half(n - 1) >= abs(mean - margin))
    assert seeds_to_decide(values, margin, "<=") == n


def test_seeds_to_decide_cannot_say_on_the_margin_or_from_one_seed():
    assert seeds_to_decide([0.1, 0.3], 0.2) is None  # the mean sits on the margin
    assert seeds_to_decide([0.3], 0.2) is None and seeds_to_decide([0.3, None], 0.2) is None
    assert seeds_to_decide([0.3, 0.3], 0.2) == 2  # no spread: two seeds decide


def test_wilson_matches_the_closed_form():
    lo, hi = wilson(0.5, 100)  # centre 0.5, half-width z/(1+z^2/n) * sqrt(1/400 + z^2/40000)
    z = 1.959963984540054
    half = z / (1 + z * z / 100) * math.sqrt(0.25 / 100 + z * z / 40000)
    assert lo == pytest.approx(0.5 - half) and hi == pytest.approx(0.5 + half)
    assert (round(lo, 4), round(hi, 4)) == (0.4038, 0.5962)
    lo, hi = wilson(0.0, 10)  # at 0 the interval is [0, z^2 / (n + z^2)], not a degenerate point
    assert lo == 0.0 and hi == pytest.approx(z * z / (10 + z * z))
    assert wilson(1.0, 10)[1] == 1.0 and wilson(1.0, 10)[0] == pytest.approx(10 / (10 + z * z))
    assert wilson(0.9, 10000)[1] - wilson(0.9, 10000)[0] < wilson(0.9, 500)[1] - wilson(0.9, 500)[0]
    with pytest.raises(ValueError):
        wilson(0.5, 0)


def test_t_interval_by_hand():
    lo, hi = t_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2) = 4.302653
    assert math.isclose(hi - 2.0, 4.302653 / math.sqrt(3), rel_tol=1e-6) and math.isclose(lo + hi, 4.0)
    assert t_interval([1.0]) is None and t_interval([1.0, float("nan")]) is None
