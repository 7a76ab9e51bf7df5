"""What an experiment declares: its question, settings per preset, run, claims and report section.

A claim is declared once, before any run: whose it is, its statement, the
published number it rests on, the tests that decide it (a statistic, a sense
and a margin) and its premises (what the published claim itself presupposes:
the construction converged, the effect it contrasts against exists), each
with its threshold fixed here. ``judge`` only measures: it returns the value of
every test and premise, with an interval where the statistic has one, and this
module decides the verdict the same way for every claim:

- not testable, if a premise fails (its number is shown), by its interval where it has one;
- inconclusive, if a premise's interval straddles its threshold;
- does not hold, if a test's interval lies wholly on the wrong side of its margin;
- inconclusive, if a test's interval straddles its margin;
- holds, if every test's interval lies on the right side.

A statistic without an interval (a closed form, a count over all images of a
deterministic construction) is decided by its value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.values import Outcome

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

    def passes(self, value: float) -> bool:
        return value >= self.margin if self.sense == ">=" else value <= self.margin

    def text(self) -> str:
        margin = f"{100 * self.margin:g} %" if self.percent else f"{self.margin:g}"
        return f"{self.name} {self.sense} {margin}"


MAX_FEATURE_DISTANCE = 0.10  # an inversion converged when its images' features are this close to their targets


def converged(dataset: str) -> Bound:
    """The premise of every claim that rests on an inverted dataset (D_R, D_NR, from images or noise): the
    inversion reached its target representations, on average within ``MAX_FEATURE_DISTANCE`` (relative)."""
    return Bound(f"mean relative feature distance of {dataset}", "<=", MAX_FEATURE_DISTANCE)


@dataclass(frozen=True)
class Claim:
    id: str
    who: str  # whose claim: a paper section or a response's author
    statement: str  # what must hold, with its margin
    published: str  # the published number(s) it rests on
    tests: tuple[Bound, ...] = ()  # all must hold
    premises: tuple[Bound, ...] = ()  # each must hold for the claim to be testable


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str  # the paper section or response it reproduces
    question: str  # the one-line question it answers
    method: str  # two or three sentences for the report
    settings: dict[str, Callable[[Any], Any]]  # preset name -> its settings (a dataclass), given the lab's Preset
    run: Callable[..., dict]  # run(settings, lab) -> results
    claims: tuple[Claim, ...]
    judge: Callable[[dict, Any], dict[str, "Verdict"]]  # (results, settings) -> claim id -> verdict
    section: Callable[[dict], str]  # the report's HTML for one entry of results.json's experiments
    cost: dict[str, float] = field(default_factory=dict)  # measured seconds per preset, added to a run of `all`
    unsupported: Callable[[Any], str | None] = lambda data: None  # why it cannot run on a dataset, or None
    extra_data: Callable[[Any], list[str]] = lambda settings: []  # other datasets some of its parts need
    reference: dict[str, Any] = field(default_factory=dict)  # the published tables it compares against, by name


@dataclass
class Verdict:
    """What ``judge`` measured for one claim. ``values`` holds every test's and premise's statistic by its name
    (a Proportion or Estimate carries its interval; None for a number that is undefined); ``values=None`` means
    the part the claim needs did not run. ``statement`` is the claim's text with this run's settings."""

    values: dict[str, Any] | None
    ours: str  # our number(s), short, for the argument map
    evidence: str  # the numbers behind the verdict
    statement: str | None = None


def _interval(value) -> tuple[float, float] | None:
    ci = getattr(value, "ci", None)
    return tuple(ci) if ci is not None else None


def _defined(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def bound_outcome(bound: Bound, value) -> Outcome:
    """One test: holds, does not hold, or inconclusive when the interval straddles the margin."""
    if not _defined(value):
        return NOT_TESTABLE
    ci = _interval(value)
    if ci is None:
        return HOLDS if bound.passes(value) else FAILS
    lo, hi = ci
    right, wrong = (lo >= bound.margin, hi < bound.margin) if bound.sense == ">=" else \
        (hi <= bound.margin, lo > bound.margin)
    return HOLDS if right else FAILS if wrong else INCONCLUSIVE


def decide(claim: Claim, verdict: Verdict | None) -> tuple[Outcome, list[dict], list[dict]]:
    """The claim's outcome, and a row per test and premise (value, interval, margin, outcome)."""
    if verdict is None or verdict.values is None:
        return NOT_RUN, [], []
    values = verdict.values
    return decide_rows([judged_test(b, values.get(b.name)) for b in claim.tests],
                       [premise_row(b, values.get(b.name)) for b in claim.premises])


def judged_test(bound: Bound, value) -> dict:
    """A test as results.json keeps it: its statistic, interval, margin, outcome and distance to the margin."""
    distance = (value - bound.margin if bound.sense == ">=" else bound.margin - value) if _defined(value) else None
    return {"name": bound.name, "value": value, "ci": _interval(value), "sense": bound.sense, "margin": bound.margin,
            "percent": bound.percent, "outcome": bound_outcome(bound, value), "distance": distance}


def premise_row(bound: Bound, value) -> dict:
    """A premise, judged like a test (by its interval where it has one): met, not met, or undecided."""
    outcome = bound_outcome(bound, value)
    return {"name": bound.name, "value": value, "ci": _interval(value), "sense": bound.sense,
            "threshold": bound.margin, "percent": bound.percent, "outcome": outcome, "passed": outcome == HOLDS}


def decide_rows(tests: list[dict], premises: list[dict]) -> tuple[Outcome, list[dict], list[dict]]:
    """The one rule, for a run and for a claim over seeds: a premise not met (or undefined) makes the claim not
    testable; a premise whose interval straddles its threshold makes it inconclusive; then the tests decide."""
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


def claim_rows(experiment: Experiment, verdicts: dict[str, Verdict] | None, error: str | None = None) -> list[dict]:
    """Every declared claim as a results.json row, with its verdict (or why it has none)."""
    rows = []
    for c in experiment.claims:
        v = (verdicts or {}).get(c.id)
        if error is not None:
            word, tests, premises, ours, evidence = ERROR, [], [], "–", error
        else:
            word, tests, premises = decide(c, v)
            ours, evidence = (v.ours, v.evidence) if v is not None else ("–", "not run")
        rows.append({"id": c.id, "who": c.who, "statement": (v.statement if v is not None and v.statement else
                                                             c.statement),
                     "published": c.published, "ours": ours, "verdict": word,
                     "holds": {HOLDS: True, FAILS: False}.get(word), "evidence": evidence, "tests": tests,
                     "premises": premises})
    return rows
