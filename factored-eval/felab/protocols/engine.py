"""The rules engine: a pure state machine over a ``Protocol``. No I/O, no agents, no clocks.

    state = start(protocol, document, question, seed=3, agents={"judge": "weigher", "expert0": "honest"})
    while not isinstance(spec := next_turn(state), Done):
        if isinstance(spec, SubGame):        # factored evaluation: play a child game, then hand it back
            state = apply_child(state, play(child(state, spec)))
        else:                                # an agent acts on its view (felab.views), the engine checks it
            state = apply(state, spec.role, agent.act(view))

Everything a speaker submits is checked here, trusting nothing it claims: each quote is re-verified against the
document (``felab.text.check_segment``), copied runs of the document become verified quotes (``requote``), and
the round's character and quote limits are enforced (``fit_speech``). A judge answers in the order the options
were *shown* (``Game.order``); the engine stores ``Judgment.probs`` in the question's order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from ..domain import (
    Action,
    BadInput,
    ClaimTree,
    Decline,
    Document,
    Game,
    Judgment,
    Question,
    Rebuttals,
    Seat,
    Speech,
    Turn,
)
from ..text import check_segment, fit_speech, redact_copies, requote
from .rules import Protocol


class RuleViolation(BadInput):
    """An action the rules do not allow now (wrong seat, wrong kind of move, too many sub-questions)."""


@dataclass(frozen=True)
class Act:
    """Seat ``role`` must act now. ``step`` is the claim-tree step a fresh judge sees; ``subquestions_left`` how
    many sub-questions a factored-evaluation judge may still ask here (0 at the depth limit)."""

    role: str
    round: int
    type: str
    char_limit: int | None = None
    quote_limit: int | None = None
    can_end: bool = False
    subquestions_left: int = 0
    step: int | None = None


@dataclass(frozen=True)
class SubGame:
    """The judge asked ``question``: play it as a child game with a fresh judge (``child``), then ``apply_child``."""

    question: str


@dataclass(frozen=True)
class Done:
    pass


DONE = Done()
NO_DECISION = "(no decision)"  # the sub-answer of a sub-game whose judge was undecided


@dataclass(frozen=True)
class GameState:
    """A game in progress: the record so far plus the engine's position. Holds the document, so a state is never
    shown to a judge; ``felab.views`` builds what each seat may see."""

    protocol: Protocol
    document: Document
    game: Game
    round: int = 0
    spoken: tuple[str, ...] = ()
    queue: tuple[str, ...] = ()
    asked: int = 0
    step: int = 0
    done: bool = False


def _seats(p: Protocol, q: Question, rng: random.Random, agents: dict[str, str]) -> tuple[Seat, ...]:
    judge = Seat("judge", agents.get("judge", "judge"))
    c = q.correct_index

    def expert(i: int, side: int) -> Seat:
        return Seat(f"expert{i}", agents.get(f"expert{i}", f"expert{i}"), side, None if c is None else side == c)

    if p.experts == "none":
        return (judge,)
    if p.experts == "consultant":
        honest = rng.random() < 0.5
        side = (c if honest else 1 - c) if c is not None else rng.randrange(2)
        return judge, expert(0, side)
    if p.experts == "trusted":
        if c is None:
            raise BadInput(f"question {q.id}: a trusted expert needs a question with a gold answer")
        return judge, expert(0, c)
    if p.experts == "debate":
        return judge, expert(0, 0), expert(1, 1)
    if p.experts == "honest_malicious":
        h = c if c is not None else 0
        return judge, expert(0, h), expert(1, 1 - h)
    side = rng.randrange(2)  # author_rebutter: the root claim is true or false by a coin flip
    return judge, expert(0, side), expert(1, 1 - side)


def start(protocol: Protocol, document: Document, question: Question, seed: int = 0,
          agents: dict[str, str] | None = None, game_id: str | None = None, depth: int = 0) -> GameState:
    """A new game: seats by the protocol's seat rule and the option order shown to the judge, both drawn from
    ``seed`` (a coin flip each, as Mosaic's ``Math.random() < 0.5``)."""
    if question.document_id != document.id:
        raise BadInput(f"question {question.id} is about document {question.document_id}, not {document.id}")
    rng = random.Random(f"{seed}:{question.id}:{depth}")
    seats = _seats(protocol, question, rng, agents or {})
    order = (1, 0) if protocol.swap_order and rng.random() < 0.5 else (0, 1)
    game = Game(game_id or question.id, protocol.name, question, seats, order, depth=depth, seed=seed)
    return GameState(protocol, document, game)


def _experts(state: GameState) -> tuple[str, ...]:
    return tuple(s.role for s in state.game.seats if s.role.startswith("expert"))


def _claims(state: GameState) -> list[Turn]:
    return [t for t in state.game.turns if t.kind == "claim"]


def next_turn(state: GameState) -> Act | SubGame | Done:
    """Who acts next (or which sub-game to play, or ``DONE``)."""
    if state.done:
        return DONE
    if state.queue:
        return SubGame(state.queue[0])
    p, i = state.protocol, state.round
    r = p.round(i)
    if r is None:
        return DONE
    last = i == p.length - 1
    if r.type == "judge":
        left = 0
        if p.factored and state.game.depth < p.max_depth:
            left = p.max_subquestions - state.asked
        return Act("judge", i, r.type, r.char_limit, can_end=r.can_end or last, subquestions_left=left)
    if r.type == "steps":
        return Act("judge", i, r.type, r.char_limit, step=state.step)
    if r.type in ("simultaneous", "sequential"):
        order = [s for s in (r.speakers or _experts(state)) if s in _experts(state)]
        role = next(s for s in order if s not in state.spoken)
        return Act(role, i, r.type, r.char_limit, r.quote_limit)
    role = "expert1" if r.type in ("challenge", "rebuttals") else "expert0"
    return Act(role, i, r.type, r.char_limit, r.quote_limit)


def _speech(state: GameState, speech: Speech, spec: Act) -> Speech:
    doc, q = state.document.text, state.game.question
    public = "\n".join((q.text, *q.options))
    segs = requote(doc, tuple(check_segment(doc, s) for s in speech.segments), public=public)
    answer = None if speech.answer is None else \
        redact_copies(doc, speech.answer, public=public)[:state.protocol.answer_char_limit]
    return fit_speech(Speech(segs, answer, speech.target), spec.char_limit, spec.quote_limit)


def _advance(state: GameState, spec: Act, turns: tuple[Turn, ...]) -> GameState:
    """Record ``turns``; when every speaker of the round is in, reveal the round and move to the next one."""
    spoken = state.spoken + (spec.role,)
    game = state.game.with_(turns=state.game.turns + turns)
    if spec.type in ("simultaneous", "sequential"):
        r = state.protocol.round(spec.round)
        order = [s for s in (r.speakers or _experts(state)) if s in _experts(state)]
        if any(s not in spoken for s in order):
            return replace(state, game=game, spoken=spoken)
    if spec.type == "simultaneous":
        game = game.with_(turns=tuple(replace(t, revealed=True) if t.round == spec.round else t for t in game.turns))
    return replace(state, game=game, spoken=(), round=state.round + 1)


def _fill_options(state: GameState, role: str, speech: Speech) -> GameState:
    """A factored-evaluation sub-question the data do not know takes its options from the experts' answers:
    the honest expert's answer is option 0, the challenger's option 1."""
    q = state.game.question
    if q.options[0] and q.options[1] or not speech.answer:
        return state
    opts = list(q.options)
    opts[0 if role == "expert0" else 1] = speech.answer
    return replace(state, game=state.game.with_(question=replace(q, options=tuple(opts))))


def _record_order(game: Game, probs) -> tuple[float, float]:
    out = [0.0, 0.0]
    for shown, original in enumerate(game.order):
        out[original] = float(probs[shown])
    return out[0], out[1]


def _decided(probs) -> int | None:
    return None if probs[0] == probs[1] else int(probs[1] > probs[0])


def apply(state: GameState, role: str, action: Action) -> GameState:
    """The state after seat ``role`` takes ``action``; ``RuleViolation`` if the rules do not allow it now."""
    spec = next_turn(state)
    if not isinstance(spec, Act):
        raise RuleViolation(f"no seat may act now ({type(spec).__name__})")
    if role != spec.role:
        raise RuleViolation(f"it is {spec.role}'s turn, not {role}'s")
    game, p = state.game, state.protocol
    if spec.type == "judge":
        if not isinstance(action, Judgment):
            raise RuleViolation(f"the judge must give a Judgment, not {type(action).__name__}")
        probs = _record_order(game, action.probs)
        if action.subquestions:
            if len(action.subquestions) > spec.subquestions_left:
                raise RuleViolation(f"the judge may ask {spec.subquestions_left} more sub-question(s) here, "
                                    f"not {len(action.subquestions)}")
            asked = tuple(Turn(spec.round, "judge", "subquestion", text=q.strip()) for q in action.subquestions)
            j = Turn(spec.round, "judge", "judgment", judgment=Judgment(probs, False, action.explanation))
            return replace(state, game=game.with_(turns=game.turns + (j,) + asked),
                           queue=tuple(t.text for t in asked), asked=state.asked + len(asked))
        end = bool(action.end and spec.can_end) or spec.round == p.length - 1
        j = Judgment(probs, end, action.explanation)
        game = game.with_(turns=game.turns + (Turn(spec.round, "judge", "judgment", judgment=j),))
        if end:
            return replace(state, game=game.with_(outcome=j, accepted=_decided(probs)), done=True)
        return replace(state, game=game, round=state.round + 1)
    if spec.type == "steps":
        return _apply_step(state, spec, action)
    if spec.type == "challenge" and isinstance(action, Decline):
        honest = game.seat("expert0").side
        game = game.with_(turns=game.turns + (Turn(spec.round, role, "decline"),), accepted=honest)
        return replace(state, game=game, done=True)
    if spec.type == "claims":
        if not isinstance(action, ClaimTree) or not action.claims:
            raise RuleViolation("the author must give a ClaimTree with at least the root claim")
        turns = tuple(Turn(spec.round, role, "claim", speech=replace(_speech(state, s, spec), target=k))
                      for k, s in enumerate(action.claims))
        return _advance(state, spec, turns)
    if spec.type == "rebuttals":
        if not isinstance(action, Rebuttals):
            raise RuleViolation("the rebutter must give Rebuttals")
        n = len(_claims(state))
        if any(s.target is None or not 0 <= s.target < n for s in action.speeches):
            raise RuleViolation(f"each rebuttal must target a claim 0..{n - 1}")
        return _advance(state, spec, tuple(Turn(spec.round, role, "rebuttal", speech=_speech(state, s, spec))
                                           for s in action.speeches))
    if not isinstance(action, Speech):
        raise RuleViolation(f"{role} must give a Speech here, not {type(action).__name__}")
    speech = _speech(state, action, spec)
    state = _fill_options(state, role, speech)
    revealed = spec.type != "simultaneous"
    return _advance(state, spec, (Turn(spec.round, role, "speech", speech=speech, revealed=revealed),))


def _aggregate(rule: str, ps: list[float]) -> float:
    if rule == "min":
        return min(ps)
    if rule == "product":
        out = 1.0
        for x in ps:
            out *= x
        return out
    return sum(ps) / len(ps)


def _apply_step(state: GameState, spec: Act, action: Action) -> GameState:
    """A step judge reports (P(step valid), P(invalid)); after the last step the root's credence is the
    aggregate (min by default: a chain is as strong as its weakest step)."""
    if not isinstance(action, Judgment):
        raise RuleViolation("a step judge must give a Judgment (P valid, P invalid)")
    game = state.game
    turn = Turn(spec.round, "judge", "judgment", judgment=replace(action, end=False, subquestions=()),
                text=f"step {spec.step}")
    game = game.with_(turns=game.turns + (turn,))
    n = len(_claims(state))
    if spec.step + 1 < n:
        return replace(state, game=game, step=spec.step + 1)
    valid = [t.judgment.probs[0] for t in game.turns if t.kind == "judgment" and t.text.startswith("step ")]
    root = _aggregate(state.protocol.aggregate, valid)
    side = game.seat("expert0").side
    probs = (root, 1 - root) if side == 0 else (1 - root, root)
    outcome = Judgment(probs, True, f"{state.protocol.aggregate} of {n} step credences")
    return replace(state, game=game.with_(outcome=outcome, accepted=_decided(probs)), done=True, step=n)


def child(state: GameState, sub: SubGame, seed: int | None = None) -> GameState:
    """The game for a sub-question: same experts, a fresh judge who sees nothing of the parent (its view is built
    from the child game alone), one level deeper. The data's recorded sub-question (with gold) is used when the
    text matches; otherwise the options are the experts' answers."""
    parent = state.game
    k = sum(1 for t in parent.turns if t.kind == "subanswer")
    q = parent.question.subquestion(sub.question)
    if q is None:
        q = Question(f"{parent.question.id}/sub{k}", parent.question.document_id, sub.question, ("", ""))
    agents = {s.role: s.agent for s in parent.seats}
    return start(state.protocol, state.document, q, parent.seed if seed is None else seed, agents,
                 game_id=f"{parent.id}/{k}", depth=parent.depth + 1)


def apply_child(state: GameState, played: Game) -> GameState:
    """Hand a finished sub-game back: its accepted answer becomes a sub-answer the parent judge sees."""
    if not state.queue:
        raise RuleViolation("no sub-question is waiting for an answer")
    q = played.question
    answer = q.options[played.accepted] if played.accepted is not None else NO_DECISION
    game = state.game
    turn = Turn(state.round, "judge", "subanswer", text=answer)
    return replace(state, game=game.with_(turns=game.turns + (turn,), children=game.children + (played,)),
                   queue=state.queue[1:])
