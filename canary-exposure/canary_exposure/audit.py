"""An empirical lower bound on epsilon from canaries in one training run (Steinke, Nasr & Jagielski, "Privacy
auditing with one (1) training run", NeurIPS 2023; after Jagielski, Ullman & Oprea 2020, who audit with many).

m audit canaries are drawn; each is inserted (``insertions`` times) with probability 1/2, independently, and the
coins are kept. After training, the auditor guesses "in" for the ``guesses``/2 canaries the model finds most
likely (lowest log-perplexity) and "out" for the ``guesses``/2 it finds least likely, and abstains on the rest.
If training is epsilon-DP per record, the number of correct guesses is stochastically dominated by
Binomial(guesses, e^eps / (1 + e^eps)) (their Theorem 1 with delta = 0); the lower bound is the smallest epsilon
under which as many correct guesses have probability at least ``beta``: with confidence 1 - beta, the training
run is not epsilon-DP for any smaller epsilon.

Departures, and why: the bound is the delta = 0 form; with the accountant's delta = 1e-5 and a few hundred
canaries their delta term changes it by less than the binomial's granularity here. The number of guesses is
fixed in advance (a fifth of the canaries on each side), not optimised after seeing the scores, which would
need a correction for the choice. A canary inserted k times is a group of k records: its bound is on k epsilon.
"""

from __future__ import annotations

import math
import random

import numpy as np
from scipy.stats import binom

from .canaries import CanaryFormat
from .errors import ExposureError


def draw(m: int, rng: random.Random) -> list[bool]:
    """Which of ``m`` audit canaries are inserted: a fair coin each, independent of everything else."""
    return [rng.random() < 0.5 for _ in range(m)]


def plan(fmt: CanaryFormat, m: int, insertions: int, seed: int, inserted: dict[str, int],
         references: list[str]) -> tuple[list[str], list[bool], dict[str, int]]:
    """A seed's ``m`` audit canaries (none of its other canaries) and their coins, from a generator of their own,
    so the other canaries of the seed are the same with or without an audit; and every secret planted in the
    training data with its insertions: ``inserted`` and the audit canaries whose coin came up, ``insertions``
    times each."""
    if not m:
        return [], [], dict(inserted)
    rng = random.Random(20_000 + seed)
    audited, coins = fmt.draw(m, rng, exclude=set(inserted) | set(references)), draw(m, rng)
    return audited, coins, {**inserted, **{x: insertions for x, c in zip(audited, coins) if c}}


def epsilon_lower_bound(correct: int, guesses: int, beta: float = 0.05) -> float:
    """The smallest epsilon under which ``correct`` or more right guesses of ``guesses`` has probability >= beta
    (0 where chance alone explains them)."""
    if not 0 <= correct <= guesses or not 0 < beta < 1:
        raise ExposureError("the audit needs 0 <= correct <= guesses and 0 < beta < 1")
    if guesses == 0:
        return 0.0

    def tail(eps: float) -> float:
        return float(binom.sf(correct - 1, guesses, 1 / (1 + math.exp(-eps))))

    if tail(0.0) >= beta:
        return 0.0
    lo, hi = 0.0, 1.0
    while tail(hi) < beta:
        hi *= 2
    for _ in range(60):  # bisection: tail rises with epsilon
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if tail(mid) < beta else (lo, mid)
    return hi


def audit(log_perplexities: np.ndarray, included: list[bool], beta: float = 0.05,
          share: float = 0.2) -> dict:
    """Guess membership from each audit canary's log-perplexity (most likely: in; least likely: out; ``share``
    of the canaries each) and bound epsilon from the right guesses."""
    m = len(included)
    if m != len(log_perplexities) or m < 2:
        raise ExposureError("the audit needs a log-perplexity for each of at least 2 audit canaries")
    side = max(1, int(share * m))
    order = np.argsort(np.asarray(log_perplexities), kind="stable")
    right = sum(included[i] for i in order[:side]) + sum(not included[i] for i in order[-side:])
    return {"canaries": m, "included": int(sum(included)), "guesses": 2 * side, "correct": int(right),
            "beta": beta, "epsilon_lower_bound": epsilon_lower_bound(int(right), 2 * side, beta)}


def group_privacy(epsilon: float, delta: float, k: int) -> dict:
    """The (epsilon, delta) that holds for k records at once (a canary inserted k times) given a per-record
    (epsilon, delta) guarantee: (k epsilon, k e^((k-1) epsilon) delta) (Dwork & Roth, Theorem 2.2's extension)."""
    log_delta = math.log(k) + (k - 1) * epsilon + math.log(delta)
    return {"k": k, "epsilon": k * epsilon, "delta": math.exp(log_delta) if log_delta < 700 else math.inf}
