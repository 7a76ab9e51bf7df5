"""What an experiment declares: its question, settings per preset, run, claims and report section.

A claim is declared once, with its margin in the statement and the published
number it rests on, so the argument map can list it even when its
experiment did not run. ``judge`` turns an experiment's results into one
verdict per declared claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..values import Outcome

HOLDS, FAILS, NOT_RUN, ERROR = Outcome.HOLDS, Outcome.FAILS, Outcome.NOT_RUN, Outcome.ERROR


@dataclass(frozen=True)
class Claim:
    id: str
    who: str  # whose claim: a paper section or a response's author
    statement: str  # what must hold, with its margin
    published: str  # the published number(s) it rests on


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


@dataclass
class Verdict:
    holds: bool | None  # None: the part this claim needs did not run
    ours: str  # our number(s), short, for the argument map
    evidence: str  # the numbers behind the verdict

    @property
    def word(self) -> Outcome:
        return NOT_RUN if self.holds is None else HOLDS if self.holds else FAILS


def claim_rows(experiment: Experiment, verdicts: dict[str, Verdict] | None, error: str | None = None) -> list[dict]:
    """Every declared claim as a results.json row, with its verdict (or why it has none)."""
    rows = []
    for c in experiment.claims:
        v = (verdicts or {}).get(c.id)
        if error is not None:
            word, holds, ours, evidence = ERROR, None, "–", error
        elif v is None:
            word, holds, ours, evidence = NOT_RUN, None, "–", "not run"
        else:
            word, holds, ours, evidence = v.word, v.holds, v.ours, v.evidence
        rows.append({"id": c.id, "who": c.who, "statement": c.statement, "published": c.published,
                     "ours": ours, "holds": holds, "verdict": word, "evidence": evidence})
    return rows
