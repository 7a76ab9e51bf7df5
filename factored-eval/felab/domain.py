"""The lab's records: documents, questions, quote segments, speeches, judgments, turns and games.

Plain frozen dataclasses (no ORM, no pydantic) so every layer above (engine, views, agents, store, web) shares one
vocabulary. Every record round-trips through JSON (``to_dict``/``from_dict``; ``Game.to_json``/``from_json``) with
no code executed on load. Character spans are ``(begin, end)`` offsets into ``Document.text``, end exclusive.

Conventions kept everywhere:
- ``Judgment.probs`` is in the order of ``Question.options`` (the record's order), never the order a judge saw;
  ``Game.order`` says which option was shown first (``order[d]`` is the option index displayed at position d).
- A quote ``Segment`` is *verified* only when it carries a span whose text the lab checked against the document
  (``felab.text``); an unverified quote keeps its words and is shown to judges marked as unverified.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

SCHEMA = 1  # bumped when a stored game's JSON changes shape


class BadInput(ValueError):
    """Input the lab refuses (a quote outside the document, a malformed record); the CLI prints it on one line
    and exits 2."""


Span = tuple[int, int]
_SPAN_FIELDS = ("support", "decoys", "refutations", "distractor_support")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str
    source: str = ""
    license: str = ""

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> Document:
        return cls(**_only(cls, d))


@dataclass(frozen=True)
class Question:
    """A two-option question about one document. ``correct_index`` is None where there is no gold.

    Optional gold evidence (synthetic worlds record it; imported data may not): ``support`` are the sentence spans
    that establish the correct option; ``decoys`` the spans that back the best distractor when read alone, and
    ``refutations[i]`` the span elsewhere in the text that neutralises ``decoys[i]``; ``distractor_support`` true
    sentences the distractor's case also leans on (where the decoy's person moved, say). ``decomposition`` is how a
    judge could split the question (templates; ``{0}``, ``{1}`` stand for earlier sub-answers) and
    ``subquestions`` are the sub-questions the world can answer, with their own gold."""

    id: str
    document_id: str
    text: str
    options: tuple[str, str]
    correct_index: int | None = None
    support: tuple[Span, ...] = ()
    decoys: tuple[Span, ...] = ()
    refutations: tuple[Span, ...] = ()
    decomposition: tuple[str, ...] = ()
    subquestions: tuple[Question, ...] = ()
    distractor_support: tuple[Span, ...] = ()

    def __post_init__(self):
        if len(self.options) != 2:
            raise BadInput(f"question {self.id}: needs exactly two options, got {len(self.options)}")
        if self.correct_index not in (None, 0, 1):
            raise BadInput(f"question {self.id}: correct_index must be 0, 1 or null, got {self.correct_index!r}")

    def subquestion(self, text: str) -> Question | None:
        """The recorded sub-question with this text (compared without case or surrounding space), if any."""
        key = " ".join(text.split()).lower()
        return next((q for q in self.subquestions if " ".join(q.text.split()).lower() == key), None)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["options"] = list(self.options)
        for k in _SPAN_FIELDS:
            d[k] = [list(s) for s in d[k]]
        d["decomposition"] = list(self.decomposition)
        d["subquestions"] = [q.to_dict() for q in self.subquestions]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Question:
        d = _only(cls, d)
        d["options"] = tuple(d["options"])
        for k in _SPAN_FIELDS:
            d[k] = tuple(tuple(s) for s in d.get(k, ()))
        d["decomposition"] = tuple(d.get("decomposition", ()))
        d["subquestions"] = tuple(Question.from_dict(q) for q in d.get("subquestions", ()))
        return cls(**d)


@dataclass(frozen=True)
class Segment:
    """Part of a speech: plain text, or a quote. A verified quote has ``span`` and its ``text`` equals the
    document's characters there; ``similarity`` is a diagnostic for unverified quotes only (never a verdict)."""

    text: str
    quote: bool = False
    span: Span | None = None
    verified: bool = False
    similarity: float | None = None

    def to_dict(self) -> dict:
        d = {"text": self.text}
        if self.quote:
            d.update(quote=True, verified=self.verified)
            if self.span is not None:
                d["span"] = list(self.span)
            if self.similarity is not None:
                d["similarity"] = self.similarity
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Segment:
        d = _only(cls, d)
        if d.get("span") is not None:
            d["span"] = tuple(d["span"])
        return cls(**d)


@dataclass(frozen=True)
class Speech:
    """What an expert says in one turn. ``answer`` is the answer it stands for (an option's text, or its own
    answer to a sub-question); ``target`` names the claim it addresses in a claim tree (0 = root)."""

    segments: tuple[Segment, ...] = ()
    answer: str | None = None
    target: int | None = None

    @property
    def quotes(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.quote)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"segments": [s.to_dict() for s in self.segments]}
        if self.answer is not None:
            d["answer"] = self.answer
        if self.target is not None:
            d["target"] = self.target
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Speech:
        return cls(tuple(Segment.from_dict(s) for s in d.get("segments", ())), d.get("answer"), d.get("target"))


@dataclass(frozen=True)
class Judgment:
    """A judge's credence over the options (record order, summing to 1), whether it ends the game, optional
    free-text reasons, and sub-questions it asks before deciding (factored evaluation)."""

    probs: tuple[float, float]
    end: bool = True
    explanation: str = ""
    subquestions: tuple[str, ...] = ()

    def __post_init__(self):
        p = self.probs
        if len(p) != 2 or min(p) < 0 or abs(sum(p) - 1) > 1e-6:
            raise BadInput(f"a judgment's probabilities must be two non-negative numbers summing to 1, got {p}")

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"probs": list(self.probs), "end": self.end}
        if self.explanation:
            d["explanation"] = self.explanation
        if self.subquestions:
            d["subquestions"] = list(self.subquestions)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Judgment:
        return cls(tuple(d["probs"]), d.get("end", True), d.get("explanation", ""), tuple(d.get("subquestions", ())))


@dataclass(frozen=True)
class Decline:
    """The malicious expert of factored evaluation declines to challenge (Mosaic: 'Decline to Challenge!')."""


@dataclass(frozen=True)
class ClaimTree:
    """A claim-tree author's move (Ought 2020): the root claim (``claims[0]``) and its sub-claims, each a speech
    whose text states the claim and whose quotes support it."""

    claims: tuple[Speech, ...]


@dataclass(frozen=True)
class Rebuttals:
    """A rebutter's move on a claim tree: quotes against some claims (``Speech.target`` is the claim's index)."""

    speeches: tuple[Speech, ...]


Action = Speech | Judgment | Decline | ClaimTree | Rebuttals


@dataclass(frozen=True)
class Seat:
    """Who sits where: ``role`` ('judge', 'expert0', 'expert1'), the agent's name, the option index the expert
    argues for (``side``) and whether that is the correct one (``honest``; None without gold)."""

    role: str
    agent: str
    side: int | None = None
    honest: bool | None = None

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> Seat:
        return cls(**_only(cls, d))


TURN_KINDS = ("speech", "judgment", "decline", "subquestion", "subanswer", "claim", "rebuttal", "note")


@dataclass(frozen=True)
class Turn:
    """One recorded move. ``round`` indexes the protocol's round; ``revealed`` is False while a simultaneous
    round still waits for another speaker (such turns are never shown to a judge)."""

    round: int
    role: str
    kind: str
    speech: Speech | None = None
    judgment: Judgment | None = None
    text: str = ""
    revealed: bool = True

    def __post_init__(self):
        if self.kind not in TURN_KINDS:
            raise BadInput(f"unknown turn kind {self.kind!r}; one of {', '.join(TURN_KINDS)}")

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"round": self.round, "role": self.role, "kind": self.kind}
        if self.speech is not None:
            d["speech"] = self.speech.to_dict()
        if self.judgment is not None:
            d["judgment"] = self.judgment.to_dict()
        if self.text:
            d["text"] = self.text
        if not self.revealed:
            d["revealed"] = False
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Turn:
        return cls(d["round"], d["role"], d["kind"],
                   Speech.from_dict(d["speech"]) if d.get("speech") is not None else None,
                   Judgment.from_dict(d["judgment"]) if d.get("judgment") is not None else None,
                   d.get("text", ""), d.get("revealed", True))


@dataclass(frozen=True)
class Game:
    """One played game (a transcript). In factored evaluation each sub-question is a child game with its own
    judge; ``accepted`` is the option index the game settled on (None while running or without a decision);
    ``outcome`` is the deciding judgment (None for a declined node, where the honest answer stands)."""

    id: str
    protocol: str
    question: Question
    seats: tuple[Seat, ...]
    order: tuple[int, int] = (0, 1)
    turns: tuple[Turn, ...] = ()
    children: tuple[Game, ...] = ()
    depth: int = 0
    outcome: Judgment | None = None
    accepted: int | None = None
    seed: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def document_id(self) -> str:
        return self.question.document_id

    def seat(self, role: str) -> Seat | None:
        return next((s for s in self.seats if s.role == role), None)

    @property
    def correct(self) -> bool | None:
        """Whether the game settled on the correct option (None without gold or decision)."""
        q = self.question
        if q.correct_index is None or self.accepted is None:
            return None
        return self.accepted == q.correct_index

    def with_(self, **changes) -> Game:
        return replace(self, **changes)

    def walk(self):
        """This game and every sub-game, depth first."""
        yield self
        for c in self.children:
            yield from c.walk()

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "id": self.id, "protocol": self.protocol, "question": self.question.to_dict(),
                "seats": [s.to_dict() for s in self.seats], "order": list(self.order),
                "turns": [t.to_dict() for t in self.turns], "children": [c.to_dict() for c in self.children],
                "depth": self.depth, "outcome": self.outcome.to_dict() if self.outcome else None,
                "accepted": self.accepted, "seed": self.seed, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict) -> Game:
        if d.get("schema", SCHEMA) != SCHEMA:
            raise BadInput(f"game {d.get('id')}: stored with schema {d.get('schema')}, this felab reads {SCHEMA}")
        try:
            return cls(d["id"], d["protocol"], Question.from_dict(d["question"]),
                       tuple(Seat.from_dict(s) for s in d["seats"]), tuple(d.get("order", (0, 1))),
                       tuple(Turn.from_dict(t) for t in d.get("turns", ())),
                       tuple(Game.from_dict(c) for c in d.get("children", ())), d.get("depth", 0),
                       Judgment.from_dict(d["outcome"]) if d.get("outcome") else None, d.get("accepted"),
                       d.get("seed", 0), dict(d.get("meta", {})))
        except (KeyError, TypeError) as e:
            raise BadInput(f"game {d.get('id', '?')}: malformed record ({e!r})") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Game:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as e:
            raise BadInput(f"a stored game is not JSON ({e.msg} at character {e.pos})") from None


def _only(cls, d: dict) -> dict:
    """The keys of ``d`` that are fields of ``cls``; a missing required field is a BadInput naming it."""
    names = {f.name for f in fields(cls)}
    out = {k: v for k, v in d.items() if k in names}
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    missing = [k for k in required if k not in out]
    if missing:
        raise BadInput(f"{cls.__name__.lower()} record is missing {', '.join(missing)}")
    return out

