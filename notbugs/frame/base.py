"""What an experiment declares: its question, settings per preset, run, claims and report section.

A claim is declared once, before any run (``verdicts.Claim``: whose it is, its statement, the published number
it rests on, its tests and premises, each a ``verdicts.Bound`` with its margin fixed here). ``judge`` only
measures: it returns the value of every test and premise, with an interval where the statistic has one, and
the kernel's one rule (``verdicts.decide``) gives the verdict, the same way for every claim of every package.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from verdicts import Bound, Claim, Outcome, decide

from . import margins

HOLDS, FAILS, NOT_RUN, ERROR = Outcome.HOLDS, Outcome.FAILS, Outcome.NOT_RUN, Outcome.ERROR
INCONCLUSIVE, NOT_TESTABLE = Outcome.INCONCLUSIVE, Outcome.NOT_TESTABLE

MAX_FEATURE_DISTANCE = 0.10  # an inversion converged when its images' features are this close to their targets


def converged(dataset: str) -> Bound:
    """The premise of every claim that rests on an inverted dataset (D_R, D_NR, from images or noise): the
    inversion reached its target representations, on average within ``MAX_FEATURE_DISTANCE`` (relative)."""
    return Bound(f"mean relative feature distance of {dataset}", "<=", MAX_FEATURE_DISTANCE)


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


def judge_claim(claim: Claim, verdict: Verdict | None) -> tuple[Outcome, list[dict], list[dict]]:
    """One claim's outcome as ``judge`` measured it, and a row per test and premise: not run when the part the
    claim needs did not run, else the kernel's rule on the measured values."""
    if verdict is None or verdict.values is None:
        return NOT_RUN, [], []
    return decide(claim, verdict.values)


def claim_rows(experiment: Experiment, verdicts: dict[str, Verdict] | None, error: str | None = None,
               preset=None) -> list[dict]:
    """Every declared claim as a results.json row, with its verdict (or why it has none); with the run's
    ``preset``, each margin by the rule from that setting's baselines (``margins.for_setting``)."""
    rows = []
    for declared in experiment.claims:
        c, swaps = margins.for_setting(declared, preset)
        v = (verdicts or {}).get(c.id)
        if v is not None and v.values is not None and margins.MEASURED in c.premises:
            v = replace(v, values={**v.values, margins.MEASURED.name: 0})
        if error is not None:
            word, tests, premises, ours, evidence = ERROR, [], [], "–", error
        else:
            word, tests, premises = judge_claim(c, v)
            ours, evidence = (v.ours, v.evidence) if v is not None else ("–", "not run")
        statement = margins.renumbered(v.statement if v is not None and v.statement else c.statement, swaps)
        rows.append({"id": c.id, "who": c.who, "statement": statement,
                     "published": c.published, "ours": ours, "verdict": word,
                     "holds": {HOLDS: True, FAILS: False}.get(word), "evidence": evidence, "tests": tests,
                     "premises": premises})
    return rows
