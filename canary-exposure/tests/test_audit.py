"""The one-run audit's epsilon lower bound (Steinke, Nasr & Jagielski 2023) against closed forms."""

import math
import random

import numpy as np
import pytest
from scipy.stats import binom

from canary_exposure.audit import audit, draw, epsilon_lower_bound


def test_all_guesses_right_gives_the_closed_form():
    # P[Binomial(r, p) >= r] = p^r = beta at the bound: p = beta^(1/r), epsilon = log(p / (1 - p))
    for r in (20, 100):
        p = 0.05 ** (1 / r)
        assert epsilon_lower_bound(r, r) == pytest.approx(math.log(p / (1 - p)), rel=1e-6)
    assert epsilon_lower_bound(4, 4) == 0.0  # 0.5^4 > 0.05: four right guesses are chance at beta 0.05


def test_the_bound_is_where_the_binomial_tail_reaches_beta():
    eps = epsilon_lower_bound(70, 100, beta=0.05)
    p = 1 / (1 + math.exp(-eps))
    assert binom.sf(69, 100, p) == pytest.approx(0.05, rel=1e-4)
    assert epsilon_lower_bound(50, 100) == 0.0  # chance explains half right
    assert epsilon_lower_bound(80, 100) > eps > epsilon_lower_bound(60, 100)


def test_guesses_come_from_log_perplexity_and_chance_gives_no_bound():
    rng = random.Random(0)
    coins = draw(200, rng)
    memorised = np.array([0.0 if c else 10.0 for c in coins]) + np.array([rng.random() for _ in coins])
    out = audit(memorised, coins)
    assert out["guesses"] == 80 and out["correct"] == 80
    assert out["epsilon_lower_bound"] == pytest.approx(epsilon_lower_bound(80, 80))
    noise = np.array([rng.random() for _ in coins])
    assert audit(noise, coins)["epsilon_lower_bound"] < 1.0
