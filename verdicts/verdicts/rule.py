"""The one verdict rule: a claim, declared before any run, decided from measured values.

A claim names whose it is, its statement, the published number it rests on, the tests that decide it (a
statistic, a sense and a margin) and its premises (what the published claim itself presupposes), each with
its threshold fixed before the run. A package measures only: it hands ``decide`` the value of every test and
premise by name, with an interval where the statistic has one, and the verdict is decided the same way for
every claim of every package:

- not testable, if a premise is not met or a value is undefined (None or NaN);
- inconclusive, if a premise's interval straddles its threshold (the claim's own ground is undecided);
- does not hold, if a test's interval lies wholly on the wrong side of its margin;
- inconclusive, if a test's interval straddles its margin;
- holds, if every test's interval lies on the right side.

A value without an interval (a closed form, a count over all items, a single seed) is decided by its value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .stats import seeds_to_decide
from .values import Outcome, over_seeds

HOLDS, FAILS, NOT_RUN, ERROR = Outcome.HOLDS, Outcome.FAILS, Outcome.NOT_RUN, Outcome.ERROR
INCONCLUSIVE, NOT_TESTABLE = Outcome.INCONCLUSIVE, Outcome.NOT_TESTABLE


@dataclass(frozen=True)
class Bound:
    """A statistic held against a margin: ``name`` ``sense`` ``margin`` (e.g. "D_R - D_NR robust accuracy" >= 0.25).
    ``percent``: a proportion or a difference of proportions, shown in % (points)."""

    name: str
    sense: str  # ">=" or "<="
    margin: float
    percent: bool = True

    def __post_init__(self):
        if self.sense not in (">=", "<="):
            raise ValueError(f"a bound's sense is '>=' or '<=', got {self.sense!r} ({self.name})")

    def passes(self, value: float) -> bool:
        return value >= self.margin if self.sense == ">=" else value <= self.margin

    def text(self) -> str:
        margin = f"{100 * self.margin:g} %" if self.percent else f"{self.margin:g}"
        return f"{self.name} {self.sense} {margin}"


@dataclass(frozen=True)
class Claim:
    """A published claim as this project tests it, declared before the runs that judge it."""

    id: str
    who: str  # whose claim: a paper section or a response's author
    statement: str  # what must hold, with its margin
    published: str  # the published number(s) it rests on
    tests: tuple[Bound, ...] = ()  # all must hold
    premises: tuple[Bound, ...] = ()  # each must hold for the claim to be testable


def _interval(value) -> tuple[float, float] | None:
    ci = getattr(value, "ci", None)
    return tuple(ci) if ci is not None else None


def defined(value) -> bool:
    """A number the rule can decide on: not None and not NaN."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def bound_outcome(bound: Bound, value) -> Outcome:
    """One test: holds, does not hold, or inconclusive when the interval straddles the margin; not testable when
    the value is undefined."""
    if not defined(value):
        return NOT_TESTABLE
    ci = _interval(value)
    if ci is None:
        return HOLDS if bound.passes(value) else FAILS
    lo, hi = ci
    right, wrong = (lo >= bound.margin, hi < bound.margin) if bound.sense == ">=" else \
        (hi <= bound.margin, lo > bound.margin)
    return HOLDS if right else FAILS if wrong else INCONCLUSIVE


def judged_test(bound: Bound, value) -> dict:
    """A test as results keep it: its statistic, interval, margin, outcome and distance to the margin."""
    distance = (value - bound.margin if bound.sense == ">=" else bound.margin - value) if defined(value) else None
    return {"name": bound.name, "value": value, "ci": _interval(value), "sense": bound.sense, "margin": bound.margin,
            "percent": bound.percent, "outcome": bound_outcome(bound, value), "distance": distance}


def premise_row(bound: Bound, value) -> dict:
    """A premise, judged like a test (by its interval where it has one): met, not met, or undecided."""
    outcome = bound_outcome(bound, value)
    return {"name": bound.name, "value": value, "ci": _interval(value), "sense": bound.sense,
            "threshold": bound.margin, "percent": bound.percent, "outcome": outcome, "passed": outcome == HOLDS}


def decide_rows(tests: list[dict], premises: list[dict]) -> tuple[Outcome, list[dict], list[dict]]:
    """The rule on rows already judged one by one (``judged_test``, ``premise_row``): for a run, and for a claim
    over seeds whose rows carry the mean over seeds with its interval."""
    met = [p["outcome"] for p in premises]
    outcomes = [t["outcome"] for t in tests]
    if FAILS in met or NOT_TESTABLE in met or NOT_TESTABLE in outcomes:
        word = NOT_TESTABLE
    elif INCONCLUSIVE in met:  # the claim's own ground is undecided: neither verdict can be signed
        word = INCONCLUSIVE
    elif FAILS in outcomes:
        word = FAILS
    elif INCONCLUSIVE in outcomes:
        word = INCONCLUSIVE
    else:
        word = HOLDS
    return word, tests, premises


def decide(claim: Claim, values: dict) -> tuple[Outcome, list[dict], list[dict]]:
    """The claim's outcome from the measured ``values`` (statistic name -> Estimate, Proportion, float or None),
    and a row per test and premise (value, interval, margin, outcome). A name missing from ``values`` is
    undefined."""
    return decide_rows([judged_test(b, values.get(b.name)) for b in claim.tests],
                       [premise_row(b, values.get(b.name)) for b in claim.premises])


def decide_over_seeds(claim: Claim, values: dict[str, list]) -> tuple[Outcome, list[dict], list[dict]]:
    """``decide`` on each statistic's mean over seeds with its Student-t interval (``values``: statistic name ->
    one value per seed). Each row keeps the seeds' own values, and a test or premise left inconclusive says how
    many seeds its observed spread would need to be decided (``seeds_to_decide``; None where it cannot say)."""
    word, tests, premises = decide(claim, {name: over_seeds(v) for name, v in values.items()})

    def kept(row: dict, margin: str) -> dict:
        seeds = list(values.get(row["name"], []))
        need = seeds_to_decide(seeds, row[margin], row["sense"]) if row["outcome"] == INCONCLUSIVE else None
        return {**row, "values": seeds, "seeds_to_decide": need}

    return word, [kept(t, "margin") for t in tests], [kept(p, "threshold") for p in premises]
