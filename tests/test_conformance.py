"""One verdict rule: every package's own claim-judging path gives the kernel's verdict on the same claims and values.

Each case is a claim's per-seed values (a test held >= or <= a margin, a premise held >= a threshold); the
kernel's verdict is ``verdicts.decide`` on each statistic's mean over seeds with its Student-t interval. The
packages are fed through their own entry points: notbugs judges each seed's run (``base.claim_rows``) and
combines the seeds (``running.seeds.combine_claim``); canary-exposure's and factored-eval's ``claims.judge`` take
per-seed values; empathic-dqn's ``claims.judge`` takes runs of both agents, from which it computes its per-seed
statistics.
"""

import math

import pytest

from canary_exposure import claims as canary
from empathic import claims as empathic
from felab import claims as felab
from notbugs.frame.base import Experiment, Verdict, claim_rows
from notbugs.running.seeds import combine_claim
from verdicts import Bound, Claim, Outcome, decide, over_seeds

NAN = math.nan
MET = [0.9, 0.88, 0.92]
CASES = {  # name: (test's per-seed values, premise's per-seed values, the verdict under ">=" 0.1)
    "holds": ([0.3, 0.32, 0.31], MET, Outcome.HOLDS),
    "premise unmet": ([0.3, 0.32, 0.31], [0.2, 0.25, 0.22], Outcome.NOT_TESTABLE),
    "premise straddling": ([0.3, 0.32, 0.31], [0.2, 0.9, 0.5], Outcome.INCONCLUSIVE),
    "premise straddling, test wrong side": ([0.0, 0.02, 0.01], [0.2, 0.9, 0.5], Outcome.INCONCLUSIVE),
    "test straddling": ([0.0, 0.3, 0.2], MET, Outcome.INCONCLUSIVE),
    "test wrong side": ([0.0, 0.02, 0.01], MET, Outcome.FAILS),
    "undefined value": ([0.3, NAN, 0.31], MET, Outcome.NOT_TESTABLE),
    "undefined premise": ([0.3, 0.32, 0.31], [0.9, NAN, 0.9], Outcome.NOT_TESTABLE),
    "one seed holds": ([0.3], [0.9], Outcome.HOLDS),
    "one seed wrong side": ([0.05], [0.9], Outcome.FAILS),
    "one seed, premise unmet": ([0.3], [0.4], Outcome.NOT_TESTABLE),
    "on the margin, no spread": ([0.1, 0.1], MET[:2], Outcome.HOLDS),
}
TEST, PREMISE = "effect", "contrast"


def claim(sense: str) -> Claim:
    return Claim("case", "who", "statement", "published", (Bound(TEST, sense, 0.1),), (Bound(PREMISE, ">=", 0.5),))


def kernel(c: Claim, tests, premises) -> Outcome:
    return decide(c, {TEST: over_seeds(tests), PREMISE: over_seeds(premises)})[0]


def notbugs(c: Claim, tests, premises) -> Outcome:
    experiment = Experiment("case", "", "", "", {}, None, (c,), None, None)
    rows = [claim_rows(experiment, {c.id: Verdict({TEST: t, PREMISE: p}, f"{t}", "")})[0]
            for t, p in zip(tests, premises)]
    return Outcome(combine_claim(rows, list(range(len(rows))))["verdict"])


def canary_exposure(c: Claim, tests, premises) -> Outcome:
    return Outcome(canary.judge(c, [{TEST: t, PREMISE: p} for t, p in zip(tests, premises)])["verdict"])


def empathic_dqn(c: Claim, tests, premises) -> Outcome:
    """The empathic agent's metric is the test's value, the selfish agent's 0 (the statistic is their
    difference); the selfish agent's premise metric is the premise's value."""
    world = empathic.WorldClaim(c.id, c.who, c.statement, c.published, c.tests, c.premises, world="w",
                                metric="m", sign=1, premise_metric="pm")
    runs = [{"world": "w", "beta": beta, "seed": seed, "eval": {"m": m, "pm": pm}}
            for seed, (t, p) in enumerate(zip(tests, premises))
            for beta, m, pm in ((empathic.EMPATHIC_BETA, t, 0.0), (empathic.SELFISH_BETA, 0.0, p))]
    return Outcome(empathic.judge(world, runs)["verdict"])


def factored_eval(c: Claim, tests, premises) -> Outcome:
    return Outcome(felab.judge([c], {i: {TEST: t, PREMISE: p} for i, (t, p) in enumerate(zip(tests, premises))})[0]
                   ["verdict"])


PACKAGES = {"notbugs": notbugs, "canary-exposure": canary_exposure, "empathic-dqn": empathic_dqn,
            "factored-eval": factored_eval}


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("case", CASES)
def test_every_package_gives_the_kernels_verdict(package, case):
    tests, premises, expected = CASES[case]
    assert kernel(claim(">="), tests, premises) == expected  # the table says what the rule says
    for sense in (">=", "<="):
        assert PACKAGES[package](claim(sense), tests, premises) == kernel(claim(sense), tests, premises), sense


def test_no_package_keeps_a_rule_of_its_own():
    """The names of the old copies are gone: the rule and its types come from the kernel alone."""
    import notbugs.frame.base as base

    for module, names in ((base, ("decide_rows", "bound_outcome", "judged_test", "premise_row")),
                          (canary, ("interval", "_outcome", "HOLDS", "FAILS")),
                          (empathic, ("interval", "T975", "_side", "PREMISE_SHARE", "HOLDS"))):
        assert not [n for n in names if n in vars(module)], module.__name__
    assert base.Claim is canary.Claim is Claim and base.Bound is canary.Bound is empathic.Bound is Bound
    assert issubclass(empathic.WorldClaim, Claim)
