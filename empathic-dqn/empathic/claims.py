"""The paper's results as claims, each with its statistic, margin and premise, fixed before the first full run.

Every statistic is a difference between the empathic agent (beta = 0.5, the paper's SELFISHNESS) and the selfish
DQN (beta = 1) of the same seed, measured on the trained policies' evaluation episodes; its 95 % interval is
Student's t over seeds (seeds are the unit: RL results vary by seed far more than between episodes). As in the
lab's verdicts: a claim holds when the interval lies wholly on the margin's side, does not hold when it lies
wholly on the other, is inconclusive when it straddles it, and is not testable when its premise (the contrast
it presupposes) is not met.

Published numbers: the paper (arXiv 1906.10918) reports these results as learning curves in its figures, not
as tables; its figures could not be read on these machines (only the abstract and the authors' code were
available), so the published column gives the paper's qualitative finding, and each margin below is this
project's, set before any run.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean, stdev

# Student's t 0.975 quantiles by degrees of freedom (df > 30 take df 30's: slightly conservative)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
        20: 2.086, 25: 2.060, 30: 2.042}
HOLDS, FAILS, INCONCLUSIVE, NOT_TESTABLE = "holds", "does not hold", "inconclusive", "not testable"


@dataclass(frozen=True)
class Claim:
    id: str
    world: str
    statement: str
    published: str
    statistic: str  # the name of the per-seed difference
    metric: str  # the evaluation metric it is computed from
    sign: int  # +1: empathic minus selfish; -1: selfish minus empathic
    margin: float  # the statistic must be at least this
    premise: str  # what the claim presupposes, as text
    premise_metric: str  # a metric of the selfish agent...
    premise_at_least: float  # ...that must be at least this (mean over seeds)


CLAIMS = (
    Claim("coexistence_kills", "coexistence",
          "In Coexistence the empathic agent kills the other agent in at least 20 points fewer episodes than the "
          "selfish DQN.",
          "Fig. (Coexistence): the selfish DQN learns to kill the other agent; the empathic agent (selfishness 0.5) "
          "kills it less often",
          "selfish minus empathic share of episodes with a kill", "killed_other", -1, 0.20,
          "the selfish DQN kills the other in at least 30 % of episodes", "killed_other", 0.30),
    Claim("coexistence_survival", "coexistence",
          "In Coexistence the empathic agent's survival is comparable: its mean episode length is at least half the "
          "selfish DQN's (steps survived, cap 500).",
          "the empathic agent still learns to survive",
          "empathic minus half the selfish mean episode length", "length", +1, 0.0,
          "the selfish DQN survives at least 100 steps on average", "length", 100.0),
    Claim("sharing_equality", "sharing",
          "In Sharing the empathic agent's equality 2 min(R, R') / (R + R') is at least 0.1 higher than the "
          "selfish DQN's.",
          "Fig. (Sharing): the empathic agent leaves coins to the other agent; equality higher than the selfish "
          "DQN's", "empathic minus selfish equality", "equality", +1, 0.10,
          "the selfish DQN's equality is at most 0.9 (there is inequality to reduce)", "equality_gap", 0.10),
    Claim("sharing_low_value", "sharing",
          "In Sharing the empathic agent takes at least 0.5 fewer low-value coins per episode (worth less than 0.65 "
          "to it) than the selfish DQN.",
          "the empathic agent stops collecting once its coins are worth less to it than to the other",
          "selfish minus empathic low-value coins per episode", "low_value_coins", -1, 0.5,
          "the selfish DQN takes at least 1 low-value coin per episode", "low_value_coins", 1.0),
)

EMPATHIC_BETA, SELFISH_BETA = 0.5, 1.0


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % Student-t interval over seeds (a single seed: the mean alone, no interval)."""
    m = mean(values)
    if len(values) < 2:
        return m, m, m
    df = len(values) - 1
    t = T975.get(df) or T975[max(k for k in T975 if k <= min(df, 30))]
    half = t * stdev(values) / len(values) ** 0.5
    return m, m - half, m + half


def metric(run: dict, name: str) -> float:
    if name == "equality_gap":
        return 1.0 - run["eval"]["equality"]
    return run["eval"][name]


def difference(claim: Claim, empathic: float, selfish: float) -> float:
    """One seed's statistic: empathic minus selfish (sign +1) or selfish minus empathic (-1); survival is held
    against half the selfish agent's."""
    if claim.metric == "length":
        return empathic - 0.5 * selfish
    return claim.sign * (empathic - selfish)


def judge(claim: Claim, runs: list[dict]) -> dict:
    """The verdict of one claim from every run of its world (both betas, every seed)."""
    by = {(r["beta"], r["seed"]): r for r in runs if r["world"] == claim.world}
    seeds = sorted({seed for beta, seed in by if (EMPATHIC_BETA, seed) in by and (SELFISH_BETA, seed) in by})
    if not seeds:
        return {"id": claim.id, "verdict": "not run", "seeds": 0}
    diffs = [difference(claim, metric(by[(EMPATHIC_BETA, s)], claim.metric), metric(by[(SELFISH_BETA, s)],
                                                                                     claim.metric)) for s in seeds]
    est, lo, hi = interval(diffs)
    premise = mean(metric(by[(SELFISH_BETA, s)], claim.premise_metric) for s in seeds)
    if premise < claim.premise_at_least:
        verdict = NOT_TESTABLE
    elif lo >= claim.margin:
        verdict = HOLDS
    elif hi < claim.margin:
        verdict = FAILS
    else:
        verdict = INCONCLUSIVE
    sides = {b: [metric(by[(b, s)], claim.metric) for s in seeds] for b in (SELFISH_BETA, EMPATHIC_BETA)}
    return {"id": claim.id, "world": claim.world, "statement": claim.statement, "published": claim.published,
            "statistic": claim.statistic, "estimate": est, "ci": [lo, hi], "margin": claim.margin,
            "per_seed": diffs, "seeds": len(seeds), "premise": claim.premise, "premise_value": premise,
            "premise_met": premise >= claim.premise_at_least, "verdict": verdict,
            "selfish": interval(sides[SELFISH_BETA]), "empathic": interval(sides[EMPATHIC_BETA])}


def judge_all(runs: list[dict]) -> list[dict]:
    return [judge(c, runs) for c in CLAIMS]
