"""The paper's results as claims, each with its statistic, margin and premise, fixed before the first full run.

Every statistic is a difference between the empathic agent (beta = 0.5, the paper's SELFISHNESS) and the selfish
DQN (beta = 1) of the same seed, measured on the trained policies' evaluation episodes; its 95 % interval is
Student's t over seeds (seeds are the unit: RL results vary by seed far more than between episodes). As in the
lab's verdicts: a claim holds when the interval lies wholly on the margin's side, does not hold when it lies
wholly on the other, is inconclusive when it straddles it, and is not testable when its premise (the contrast
it presupposes) is not met.

Premises are judged per seed, not on the mean: a claim is testable when its selfish agent shows the behaviour
contrasted against in at least 80 % of the seeds (a mean can hide seeds that never learned it). The statistic
is over all seeds, so no seed is dropped after the fact. A claim may carry a second test (``also``): it holds
only when both hold, does not hold when either does not. These rules and every margin were fixed (commit of
issue 32's margins) before the 10-seed runs; the margins are minimum effects this project calls meaningful,
since the paper gives no numbers to scale.

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
    premise_above: float  # ...that must exceed this, per seed, in PREMISE_SHARE of the seeds
    also: tuple[str, str, float] | None = None  # (description, metric of the empathic agent, lower bound >= this)


PREMISE_SHARE = 0.8


CLAIMS = (
    Claim("coexistence_kills", "coexistence",
          "In Coexistence the empathic agent kills the other agent in at least 20 points fewer episodes than the "
          "selfish DQN.",
          "Fig. (Coexistence): the selfish DQN learns to kill the other agent; the empathic agent (selfishness 0.5) "
          "kills it less often",
          "selfish minus empathic share of episodes with a kill", "killed_other", -1, 0.20,
          "the selfish DQN kills the other in most episodes (> 50 %)", "killed_other", 0.50),
    Claim("coexistence_survival", "coexistence",
          "In Coexistence the empathic agent's survival is comparable: its mean episode length is at least half the "
          "selfish DQN's (steps survived, cap 500).",
          "the empathic agent still learns to survive",
          "empathic minus half the selfish mean episode length", "length", +1, 0.0,
          "the selfish DQN survives more than 100 steps on average", "length", 100.0),
    Claim("sharing_equality", "sharing",
          "In Sharing the empathic agent's equality 2 min(R, R') / (R + R') is at least 0.1 higher than the "
          "selfish DQN's.",
          "Fig. (Sharing): the empathic agent leaves coins to the other agent; equality higher than the selfish "
          "DQN's", "empathic minus selfish equality", "equality", +1, 0.10,
          "the selfish DQN takes most coins (more than half of those collected)", "coin_share", 0.50),
    Claim("sharing_low_value", "sharing",
          "In Sharing the empathic agent takes at least 0.5 fewer low-value coins per episode (worth less than 0.65 "
          "to it) than the selfish DQN.",
          "the empathic agent stops collecting once its coins are worth less to it than to the other",
          "selfish minus empathic low-value coins per episode", "low_value_coins", -1, 0.5,
          "the selfish DQN takes more than 1 low-value coin per episode", "low_value_coins", 1.0,
          also=("and the empathic agent still collects a fair share: at least 40 % of the coins collected (an "
                "equal split is 50 %), so that fewer low-value coins is not just fewer coins", "coin_share", 0.40)),
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
    return run["eval"][name]


def difference(claim: Claim, empathic: float, selfish: float) -> float:
    """One seed's statistic: empathic minus selfish (sign +1) or selfish minus empathic (-1); survival is held
    against half the selfish agent's."""
    if claim.metric == "length":
        return empathic - 0.5 * selfish
    return claim.sign * (empathic - selfish)


def judge(claim: Claim, runs: list[dict]) -> dict:
    """The verdict of one claim from the runs of its world (both betas, every seed; runs of one set of rules)."""
    by = {(r["beta"], r["seed"]): r for r in runs if r["world"] == claim.world}
    seeds = sorted({seed for beta, seed in by if (EMPATHIC_BETA, seed) in by and (SELFISH_BETA, seed) in by})
    if not seeds:
        return {"id": claim.id, "verdict": "not run", "seeds": 0}
    diffs = [difference(claim, metric(by[(EMPATHIC_BETA, s)], claim.metric), metric(by[(SELFISH_BETA, s)],
                                                                                     claim.metric)) for s in seeds]
    est, lo, hi = interval(diffs)
    verdicts = [_side(lo, hi, claim.margin)]
    extra = None
    if claim.also is not None:
        extra = interval([metric(by[(EMPATHIC_BETA, s)], claim.also[1]) for s in seeds])
        verdicts.append(_side(extra[1], extra[2], claim.also[2]))
    met = [metric(by[(SELFISH_BETA, s)], claim.premise_metric) > claim.premise_above for s in seeds]
    premise_met = sum(met) >= PREMISE_SHARE * len(seeds)
    if not premise_met:
        verdict = NOT_TESTABLE
    elif FAILS in verdicts:
        verdict = FAILS
    elif INCONCLUSIVE in verdicts:
        verdict = INCONCLUSIVE
    else:
        verdict = HOLDS
    sides = {b: [metric(by[(b, s)], claim.metric) for s in seeds] for b in (SELFISH_BETA, EMPATHIC_BETA)}
    return {"id": claim.id, "world": claim.world, "statement": claim.statement, "published": claim.published,
            "statistic": claim.statistic, "estimate": est, "ci": [lo, hi], "margin": claim.margin,
            "per_seed": diffs, "seeds": len(seeds), "premise": claim.premise,
            "premise_value": mean(metric(by[(SELFISH_BETA, s)], claim.premise_metric) for s in seeds),
            "premise_seeds": f"{sum(met)}/{len(seeds)}", "premise_met": premise_met, "verdict": verdict,
            "also": None if extra is None else {"test": claim.also[0], "estimate": extra[0], "ci": [extra[1],
                                                extra[2]], "margin": claim.also[2], "verdict": verdicts[1]},
            "selfish": interval(sides[SELFISH_BETA]), "empathic": interval(sides[EMPATHIC_BETA])}


def _side(lo: float, hi: float, margin: float) -> str:
    return HOLDS if lo >= margin else FAILS if hi < margin else INCONCLUSIVE


def judge_all(runs: list[dict]) -> list[dict]:
    return [judge(c, runs) for c in CLAIMS]
