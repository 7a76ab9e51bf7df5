"""The one interface every seat uses: a scripted agent, a chat model, a local model, a person in the browser.

    class Agent(Protocol):
        name: str
        def act(self, view: JudgeView | ExpertView) -> Action

A judge gets a ``JudgeView`` (``felab.views.judge_view``) and returns a ``Judgment`` whose ``probs`` are in the
order the view shows the options (the engine stores them in the question's order); it may set ``end=False`` to
hear another round where ``view.can_end`` allows, or ask ``subquestions`` (at most ``view.subquestions_left``).
An expert gets an ``ExpertView`` and returns a ``Speech`` (segments: plain text and quotes, as spans or free
text; the engine verifies them), a ``Decline`` in a factored-evaluation challenge round, a ``ClaimTree`` when
authoring claims, ``Rebuttals`` when rebutting. ``view.spec`` says which round it is and its limits.

Agents should be deterministic given the view and their own seed (``seed_for`` gives a per-view stream), so a
batch replays bit for bit. ``play`` runs a whole game, sub-games included, with a fresh judge for each sub-game.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Protocol as _Protocol
from typing import runtime_checkable

from ..domain import Action, Document, Game, Question
from ..protocols import engine
from ..protocols.rules import Protocol
from ..views import ExpertView, JudgeView, view_for


@runtime_checkable
class Agent(_Protocol):
    name: str

    def act(self, view: JudgeView | ExpertView) -> Action: ...


AgentFactory = Callable[[], Agent]


def seed_for(seed: int, view: JudgeView | ExpertView, salt: str = "") -> random.Random:
    """A random stream fixed by the agent's seed and the view's place in the game (game id, round, step)."""
    key = f"{seed}|{salt}|{view.game_id}|{view.round if isinstance(view, JudgeView) else view.spec.round}|" \
          f"{getattr(view, 'step', None)}|{getattr(view, 'role', 'judge')}"
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def play(protocol: Protocol, document: Document, question: Question, judge: AgentFactory,
         experts: dict[str, Agent] | None = None, seed: int = 0, game_id: str | None = None) -> Game:
    """Play one game to the end. ``judge`` makes a new judge per game and per sub-game (and per claim-tree
    step), so no judge carries context from another; ``experts`` maps 'expert0'/'expert1' to agents."""
    experts = experts or {}
    names = {"judge": getattr(judge(), "name", "judge"), **{r: a.name for r, a in experts.items()}}
    state = engine.start(protocol, document, question, seed, names, game_id)
    return _run(state, judge, experts)


def _run(state: engine.GameState, judge: AgentFactory, experts: dict[str, Agent]) -> Game:
    seat_judge = judge()
    while True:
        spec = engine.next_turn(state)
        if isinstance(spec, engine.Done):
            return state.game
        if isinstance(spec, engine.SubGame):
            sub = _run(engine.child(state, spec), judge, experts)
            state = engine.apply_child(state, sub)
            continue
        if spec.role == "judge":
            agent = judge() if spec.step is not None else seat_judge
        else:
            agent = experts.get(spec.role)
            if agent is None:
                raise ValueError(f"protocol {state.protocol.name} needs an agent for {spec.role}")
        state = engine.apply(state, spec.role, agent.act(view_for(state)))


class ByHonesty:
    """One seat, two agents: the view's seat argues the correct side (``honest``) or not (``dishonest``).
    Consultancy draws the consultant's honesty by a coin, debate gives each option a seat, so a scripted
    population plays each seat with whichever agent fits; a model agent can take both sides itself."""

    def __init__(self, honest: Agent, dishonest: Agent):
        self.honest, self.dishonest = honest, dishonest
        self.name = f"{honest.name}|{dishonest.name}"

    def act(self, view: ExpertView) -> Action:
        return (self.dishonest if view.honest is False else self.honest).act(view)
