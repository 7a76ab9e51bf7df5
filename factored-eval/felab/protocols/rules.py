"""Protocols as data: a protocol is a JSON file of rounds, limits and seat rules, read into a ``Protocol``.

After NYU's ``DebateRules`` (fixed opening, a repeating structure, a fixed closing; round types with character
and quote limits) extended with factored evaluation's and claim trees' rounds. A new protocol is a new file; the
engine (``engine.py``) knows only the round types below. Unknown round types or keys are refused on load with one
line naming the file and what to fix (the CLI turns that into exit 2).

Round types:
  judge         the judge reports beliefs; ``can_end`` lets it end the game; in factored evaluation it may ask
                sub-questions instead of deciding (``subquestions`` in the protocol)
  simultaneous  every expert speaks; speeches are revealed only once all of the round are in (NYU)
  sequential    the experts speak in ``speakers`` order, each revealed at once
  challenge     factored evaluation's malicious expert gives a wrong but plausible answer or declines; a decline
                settles the node on the honest answer (Mosaic's 'Decline to Challenge!')
  claims        a claim-tree author writes the root claim and sub-claims with quotes (Ought 2020)
  rebuttals     a second expert adds rebuttal quotes to claims
  steps         each step of the claim tree goes to a fresh judge who sees that step only
Seat rules (``experts``): none (blind, oracle), consultant (one expert, correct side with probability 1/2),
trusted (one expert, always the correct side), debate (one expert per option), honest_malicious (factored
evaluation: expert0 honest, expert1 malicious), author_rebutter (claim trees: the author's side is a coin flip,
the rebutter takes the other).
Other keys: ``judge_budget`` (characters a judge reads, Ought's 650), ``subquestions`` ({"max", "max_depth"}),
``scoring`` ({"rule": "log2", "turn_penalty": 0.05}), ``aggregate`` (claim trees: min, product or mean),
``swap_order`` (coin-flip the order the judge sees), ``quote_mode`` (span or free: how a person's or a model's
quotes are entered; the engine verifies both the same way), ``answer_char_limit``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..domain import BadInput

ROUND_TYPES = ("judge", "simultaneous", "sequential", "challenge", "claims", "rebuttals", "steps")
SEAT_RULES = ("none", "consultant", "trusted", "debate", "honest_malicious", "author_rebutter")
_ROUND_KEYS = {"type", "char_limit", "quote_limit", "speakers", "can_end", "report_beliefs"}
_KEYS = {"name", "title", "description", "experts", "judge_reads_document", "quote_mode", "judge_budget",
         "rounds", "repeat", "max_repeats", "closing", "scoring", "subquestions", "aggregate", "swap_order",
         "answer_char_limit"}


class ProtocolError(BadInput):
    """A protocol file the engine cannot run."""


@dataclass(frozen=True)
class Round:
    type: str
    char_limit: int | None = None
    quote_limit: int | None = None
    speakers: tuple[str, ...] = ()
    can_end: bool = False
    report_beliefs: bool = True


@dataclass(frozen=True)
class Protocol:
    """A protocol's rules. ``judge_budget`` is the judge's reading budget in characters (Ought: 650), None for
    unlimited; ``max_subquestions``/``max_depth`` bound factored evaluation's recursion (Ought: 6 questions)."""

    name: str
    experts: str
    rounds: tuple[Round, ...]
    repeat: tuple[Round, ...] = ()
    max_repeats: int = 0
    closing: tuple[Round, ...] = ()
    title: str = ""
    description: str = ""
    judge_reads_document: bool = False
    quote_mode: str = "span"
    judge_budget: int | None = None
    score_rule: str = "log2"
    turn_penalty: float = 0.05
    max_subquestions: int = 0
    max_depth: int = 0
    aggregate: str = "min"
    swap_order: bool = True
    answer_char_limit: int = 200
    source: dict = field(default_factory=dict, compare=False)

    def round(self, i: int) -> Round | None:
        """The i-th round of the expanded schedule (opening, repeats, closing), None past the end."""
        n_open, n_rep = len(self.rounds), len(self.repeat) * self.max_repeats
        if i < n_open:
            return self.rounds[i]
        if i < n_open + n_rep:
            return self.repeat[(i - n_open) % len(self.repeat)]
        j = i - n_open - n_rep
        return self.closing[j] if j < len(self.closing) else None

    @property
    def length(self) -> int:
        return len(self.rounds) + len(self.repeat) * self.max_repeats + len(self.closing)

    @property
    def factored(self) -> bool:
        return self.max_subquestions > 0

    def summary(self) -> str:
        """The rules in one paragraph, shown to every seat (NYU issue #30: rules shown in the room)."""
        return self.description or self.title or self.name

    def to_dict(self) -> dict:
        return dict(self.source)


def _round(d, where: str) -> Round:
    if not isinstance(d, dict) or "type" not in d:
        raise ProtocolError(f"{where}: each round must be an object with a 'type'")
    if d["type"] not in ROUND_TYPES:
        raise ProtocolError(f"{where}: unknown round type {d['type']!r}; use one of {', '.join(ROUND_TYPES)}")
    extra = set(d) - _ROUND_KEYS
    if extra:
        raise ProtocolError(f"{where}: unknown round key(s) {', '.join(sorted(extra))}; "
                            f"allowed: {', '.join(sorted(_ROUND_KEYS))}")
    for k in ("char_limit", "quote_limit"):
        if d.get(k) is not None and (not isinstance(d[k], int) or d[k] < 0):
            raise ProtocolError(f"{where}: {k} must be a whole number >= 0 or null")
    return Round(d["type"], d.get("char_limit"), d.get("quote_limit"), tuple(d.get("speakers", ())),
                 bool(d.get("can_end", False)), bool(d.get("report_beliefs", True)))


def parse(d: dict, origin: str = "protocol") -> Protocol:
    """A ``Protocol`` from its JSON object; ``origin`` names the file in error messages."""
    if not isinstance(d, dict):
        raise ProtocolError(f"{origin}: a protocol is a JSON object")
    extra = set(d) - _KEYS
    if extra:
        raise ProtocolError(f"{origin}: unknown key(s) {', '.join(sorted(extra))}; allowed: {', '.join(sorted(_KEYS))}")
    for k in ("name", "experts", "rounds"):
        if k not in d:
            raise ProtocolError(f"{origin}: missing '{k}'")
    if d["experts"] not in SEAT_RULES:
        raise ProtocolError(f"{origin}: unknown experts rule {d['experts']!r}; use one of {', '.join(SEAT_RULES)}")
    rounds = tuple(_round(r, f"{origin}: rounds[{i}]") for i, r in enumerate(d["rounds"]))
    repeat = tuple(_round(r, f"{origin}: repeat[{i}]") for i, r in enumerate(d.get("repeat", ())))
    closing = tuple(_round(r, f"{origin}: closing[{i}]") for i, r in enumerate(d.get("closing", ())))
    if repeat and not d.get("max_repeats"):
        raise ProtocolError(f"{origin}: a 'repeat' needs 'max_repeats' (how often it may run at most)")
    scoring = d.get("scoring", {})
    sub = d.get("subquestions", {})
    p = Protocol(name=str(d["name"]), experts=d["experts"], rounds=rounds, repeat=repeat,
                 max_repeats=int(d.get("max_repeats", 0)), closing=closing, title=d.get("title", ""),
                 description=d.get("description", ""), judge_reads_document=bool(d.get("judge_reads_document")),
                 quote_mode=d.get("quote_mode", "span"), judge_budget=d.get("judge_budget"),
                 score_rule=scoring.get("rule", "log2"), turn_penalty=float(scoring.get("turn_penalty", 0.05)),
                 max_subquestions=int(sub.get("max", 0)), max_depth=int(sub.get("max_depth", 0)),
                 aggregate=d.get("aggregate", "min"), swap_order=bool(d.get("swap_order", True)),
                 answer_char_limit=int(d.get("answer_char_limit", 200)), source=d)
    _check(p, origin)
    return p


def _check(p: Protocol, origin: str) -> None:
    types = [p.round(i).type for i in range(p.length)]
    if not types or types[-1] not in ("judge", "steps"):
        raise ProtocolError(f"{origin}: the last round must be a 'judge' (or 'steps') round, so every game ends "
                            "with a decision")
    needs_experts = {"simultaneous", "sequential", "challenge", "claims", "rebuttals"}
    if p.experts == "none" and needs_experts & set(types):
        raise ProtocolError(f"{origin}: experts 'none' cannot have speaking rounds")
    if ("claims" in types) != (p.experts == "author_rebutter"):
        raise ProtocolError(f"{origin}: claim trees need experts 'author_rebutter' and a 'claims' round")
    if "challenge" in types and p.experts != "honest_malicious":
        raise ProtocolError(f"{origin}: a 'challenge' round needs experts 'honest_malicious'")
    if p.aggregate not in ("min", "product", "mean"):
        raise ProtocolError(f"{origin}: aggregate must be min, product or mean")
    if p.judge_budget is not None and (not isinstance(p.judge_budget, int) or p.judge_budget < 1):
        raise ProtocolError(f"{origin}: judge_budget must be a whole number of characters >= 1 or null")
    if p.quote_mode not in ("span", "free"):
        raise ProtocolError(f"{origin}: quote_mode must be span (quotes chosen in the text) or free (free-text quotes "
                            "verified by matching)")
    if p.score_rule != "log2":
        raise ProtocolError(f"{origin}: the scoring rule must be log2 (NYU's judge score: log2 p(correct) minus "
                            "turn_penalty per extra turn)")


def presets() -> list[str]:
    """The names of the shipped protocol files."""
    return sorted(f.name[:-5] for f in resources.files(__package__).iterdir() if f.name.endswith(".json"))


def load(name_or_path: str | Path) -> Protocol:
    """A shipped preset by name (e.g. 'debate_sequential') or a protocol JSON file by path."""
    path = Path(name_or_path)
    if path.suffix != ".json" and not path.exists():
        if str(name_or_path) not in presets():
            raise ProtocolError(f"no protocol named {name_or_path!r}; shipped: {', '.join(presets())}, "
                                "or give a path to a .json file")
        text, origin = resources.files(__package__).joinpath(f"{name_or_path}.json").read_text(), str(name_or_path)
    else:
        try:
            text, origin = path.read_text(), str(path)
        except OSError as e:
            raise ProtocolError(f"cannot read protocol file {path}: {e.strerror}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProtocolError(f"{origin}: not JSON ({e.msg}, line {e.lineno})") from None
    return parse(d, origin)
