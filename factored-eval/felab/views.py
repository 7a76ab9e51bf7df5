"""What each seat may see. ``judge_view`` is the only way a judge (scripted agent, model or person) sees a game.

A judge's view is built from the game record alone, never from the document (except for a protocol whose judge
reads the document by design, the oracle baseline). So it holds of the hidden text only the verified quotes the
engine let through, within each speech's quote limit and within the judge's reading budget; the tests prove it
for every shipped protocol at every depth (no 8-word run of the document outside verified quotes).

Choices, after the anchors:
- Speakers are named by the option they argue for as the judge sees it ("Debater A", "Expert for A2"), never by
  seat or honesty; speeches of a simultaneous round appear only once every speaker is in (NYU #17). No
  timestamps reach the judge.
- A sub-game's judge sees the sub-game only: its question, options and speeches, nothing of the parent.
- Reading budget (Ought's 650 characters): the question and options are free; the judge's own sub-questions and
  their answers are read first, then each speaker's speeches in order, the rest of the budget split fairly
  among the speakers. What does not fit is withheld and counted (``withheld``), so the judge knows it may ask
  sub-questions instead (Mosaic's pointers that cost budget to expand, simplified to a fixed reading order).
"""

from __future__ import annotations

from dataclasses import dataclass

from .domain import Game, Judgment, Segment
from .protocols.engine import Act, GameState, next_turn

LETTERS = ("A", "B")


@dataclass(frozen=True)
class Entry:
    """One visible item of a transcript. ``stands_for`` is the displayed position (0 = A) of the answer the
    speaker argues for; ``probs`` a judge's earlier credence in displayed order."""

    label: str
    kind: str
    segments: tuple[Segment, ...] = ()
    stands_for: int | None = None
    answer: str | None = None
    probs: tuple[float, float] | None = None
    round: int = 0

    @property
    def chars(self) -> int:
        return sum(len(s.text) for s in self.segments) + len(self.answer or "")


@dataclass(frozen=True)
class JudgeView:
    """Everything a judge may know. ``options`` are in displayed order and a judgment answers in that order.
    ``document`` is None except in a protocol whose judge reads the document. ``hints`` is the data's suggested
    decomposition of the question (factored evaluation only; written from the question alone, so it reveals
    nothing of the text), which a scripted judge uses for its sub-questions; ``{0}`` stands for the first
    sub-answer."""

    protocol: str
    rules: str
    question: str
    options: tuple[str, str]
    entries: tuple[Entry, ...]
    round: int = 0
    can_end: bool = True
    subquestions_left: int = 0
    step: int | None = None
    depth: int = 0
    budget: int | None = None
    withheld: int = 0
    document: str | None = None
    game_id: str = ""
    hints: tuple[str, ...] = ()

    def text(self) -> str:
        """Every character the view shows, one item per line (what a leak test searches)."""
        parts = [self.rules, self.question, *self.options, *self.hints]
        for e in self.entries:
            parts.append(e.label)
            parts.append(e.answer or "")
            parts.extend(s.text for s in e.segments)
        if self.document is not None:
            parts.append(self.document)
        return "\n".join(parts)


@dataclass(frozen=True)
class ExpertView:
    """An expert's view: the document, the full question record (with gold where the data have it: in
    simulation the experts know the answer), its side, the round's limits and the transcript as far as it is
    revealed (its own unrevealed speech included)."""

    protocol: str
    rules: str
    role: str
    document: str
    question: object
    side: int | None
    honest: bool | None
    turns: tuple
    spec: Act
    depth: int = 0
    game_id: str = ""
    seed: int = 0


def _shown(game: Game, side: int | None) -> int | None:
    return None if side is None else game.order.index(side)


def _speaker_label(game: Game, role: str, protocol_experts: str) -> tuple[str, int | None]:
    seat = game.seat(role)
    pos = _shown(game, seat.side if seat else None)
    letter = LETTERS[pos] if pos is not None else "?"
    if protocol_experts in ("consultant", "trusted"):
        return f"Consultant (for {letter})", pos
    if protocol_experts == "honest_malicious":
        return f"Expert for A{pos + 1 if pos is not None else '?'}", pos
    if protocol_experts == "author_rebutter":
        return ("Author" if role == "expert0" else "Rebutter"), pos
    return f"Debater {letter}", pos


def _displayed(game: Game, j: Judgment) -> tuple[float, float]:
    return j.probs[game.order[0]], j.probs[game.order[1]]


def _cut(entry: Entry, room: int) -> Entry:
    """An entry cut to ``room`` characters: answer first, then segments in order (a verified quote is shortened
    together with its span)."""
    answer = (entry.answer or "")[:room] if entry.answer is not None else None
    room -= len(answer or "")
    segs = []
    for s in entry.segments:
        if room <= 0:
            break
        if len(s.text) > room:
            s = (Segment(s.text[:room], True, (s.span[0], s.span[0] + room), True) if s.verified
                 else Segment(s.text[:room], s.quote, None, False, s.similarity))
        segs.append(s)
        room -= len(s.text)
    return Entry(entry.label, entry.kind, tuple(segs), entry.stands_for, answer, entry.probs, entry.round)


def _shares(totals: dict[str, int], room: int) -> dict[str, int]:
    """Split ``room`` characters fairly among speakers (water-filling: a speaker who needs less than an equal
    share gets what it needs, the rest is shared among the others)."""
    out, left, todo = {}, room, sorted(totals, key=lambda k: totals[k])
    while todo:
        share = left // len(todo)
        k = todo.pop(0)
        out[k] = min(totals[k], share)
        left -= out[k]
    return out


def _budgeted(entries: list[Entry], budget: int | None) -> tuple[list[Entry], int]:
    """The entries a judge reads within ``budget``: its own sub-questions and their answers first, then each
    speaker's speeches in order, the budget split fairly among speakers so that who spoke first is not who
    gets read (an equal share each, unused shares passed on)."""
    if budget is None:
        return entries, 0
    used = 0
    keep: dict[int, Entry] = {}
    for i, e in enumerate(entries):
        if e.kind in ("subquestion", "subanswer"):
            keep[i] = e if e.chars <= budget - used else _cut(e, max(budget - used, 0))
            used += keep[i].chars
    totals: dict[str, int] = {}
    for e in entries:
        if e.kind not in ("subquestion", "subanswer"):
            totals[e.label] = totals.get(e.label, 0) + e.chars
    shares = _shares(totals, max(budget - used, 0))
    for i, e in enumerate(entries):
        if i in keep:
            continue
        room = shares[e.label]
        keep[i] = e if e.chars <= room else _cut(e, room)
        shares[e.label] -= keep[i].chars
    shown = [keep[i] for i in range(len(entries)) if keep[i].chars or not entries[i].chars]
    withheld = sum(e.chars for e in entries) - sum(e.chars for e in shown)
    return shown, withheld


def _entries(game: Game, experts: str) -> list[Entry]:
    out: list[Entry] = []
    for t in game.turns:
        if not t.revealed:
            continue
        if t.kind in ("speech", "decline", "claim", "rebuttal"):
            label, pos = _speaker_label(game, t.role, experts)
            if t.kind == "decline":
                out.append(Entry(label, "decline", (Segment("I decline to challenge."),), pos, round=t.round))
                continue
            answer = None
            if t.speech.answer is not None and pos is not None:
                answer = game.question.options[game.order[pos]] or t.speech.answer
            out.append(Entry(label, t.kind, t.speech.segments, pos, answer, round=t.round))
        elif t.kind == "judgment" and not t.text.startswith("step "):
            out.append(Entry("Judge", "judgment", (), probs=_displayed(game, t.judgment), round=t.round))
        elif t.kind == "subquestion":
            out.append(Entry("Judge asks", "subquestion", (Segment(t.text),), round=t.round))
        elif t.kind == "subanswer":
            out.append(Entry("Accepted answer", "subanswer", (Segment(t.text),), round=t.round))
    return out


def _step_view(state: GameState, spec: Act) -> tuple[str, tuple[str, str], list[Entry]]:
    """A claim-tree step, alone: step 0 is the root claim with its sub-claims' statements (no quotes); step k is
    sub-claim k with its quotes and the rebuttals against it."""
    game = state.game
    claims = [t for t in game.turns if t.kind == "claim"]
    if spec.step == 0:
        root = claims[0].speech
        entries = [Entry("Claim", "claim", tuple(s for s in root.segments if not s.quote))]
        entries += [Entry(f"Sub-claim {k}", "claim", tuple(s for s in c.speech.segments if not s.quote))
                    for k, c in enumerate(claims[1:], 1)]
        question = "Do these sub-claims, if true, establish the claim?"
    else:
        c = claims[spec.step].speech
        entries = [Entry("Claim", "claim", c.segments)]
        entries += [Entry("Rebuttal", "rebuttal", t.speech.segments) for t in game.turns
                    if t.kind == "rebuttal" and t.speech.target == spec.step]
        question = "Do these quotes, with the rebuttals, support the claim?"
    return question, ("The step holds", "It does not"), entries


def judge_view(state: GameState) -> JudgeView:
    """The judge's view of the game now: question, options in displayed order, the revealed transcript within
    the reading budget. Raises if it is not the judge's turn (a view is made for a move)."""
    spec = next_turn(state)
    if not isinstance(spec, Act) or spec.role != "judge":
        raise ValueError(f"judge_view: it is not the judge's turn ({spec})")
    p, game = state.protocol, state.game
    if spec.type == "steps":
        question, options, entries = _step_view(state, spec)
        entries, withheld = _budgeted(entries, p.judge_budget)
        return JudgeView(p.name, p.summary(), question, options, tuple(entries), spec.round, True, 0, spec.step,
                         game.depth, p.judge_budget, withheld, None, game.id)
    q = game.question
    options = (q.options[game.order[0]], q.options[game.order[1]])
    question = q.text
    if p.experts == "honest_malicious":
        question = f"Which is a better answer to '{q.text}': A1 or A2?"
    entries, withheld = _budgeted(_entries(game, p.experts), p.judge_budget)
    doc = state.document.text if p.judge_reads_document else None
    hints = q.decomposition if p.factored else ()
    return JudgeView(p.name, p.summary(), question, options, tuple(entries), spec.round, spec.can_end,
                     spec.subquestions_left, None, game.depth, p.judge_budget, withheld, doc, game.id, hints)


def expert_view(state: GameState) -> ExpertView:
    """The acting expert's view. Experts read the document; a speech of the current simultaneous round by
    another expert stays hidden until the round is complete."""
    spec = next_turn(state)
    if not isinstance(spec, Act) or not spec.role.startswith("expert"):
        raise ValueError(f"expert_view: it is not an expert's turn ({spec})")
    game = state.game
    seat = game.seat(spec.role)
    turns = tuple(t for t in game.turns if t.revealed or t.role == spec.role)
    return ExpertView(state.protocol.name, state.protocol.summary(), spec.role, state.document.text, game.question,
                      seat.side, seat.honest, turns, spec, game.depth, game.id, game.seed)


def view_for(state: GameState) -> JudgeView | ExpertView:
    """The view for whoever acts next."""
    spec = next_turn(state)
    return judge_view(state) if spec.role == "judge" else expert_view(state)
