"""What each page shows, built from the lab's views (``felab.views``): the templates get these objects and
nothing else, so a judge's page can hold only what ``judge_view`` lets through.

- judges: the ``JudgeView`` (question, options in displayed order, revealed speeches with verified quotes within
  the reading budget), between their moves too (``judge_page_view``);
- experts: the document and the transcript as ``expert_view`` shows it to that seat (its own unrevealed speech
  included, the other's hidden until the round is complete);
- facilitators: everything (the record, seats, sides, times).
``quotes_panel`` is the consolidated quotes view of julianmichael/debate #47: every verified quote the judge was
shown, in document order, with a gap mark where text lies between them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..domain import Segment, Turn
from ..protocols import engine
from ..views import JudgeView, expert_view, judge_view


@dataclass(frozen=True)
class Quote:
    span: tuple[int, int]
    text: str
    label: str
    gap_before: bool


def judge_page_view(state: engine.GameState) -> JudgeView | None:
    """The judge's view, also between the judge's moves. ``judge_view`` builds a view for a move; between moves
    the page asks it for the view the judge would get if the game were at its closing judge round now: the same
    record, so the same transcript, budget and redaction (its ``can_end``/``subquestions_left`` are not used: no
    form is shown then). None for a claim-tree step judge before any claim exists."""
    spec = engine.next_turn(state)
    if isinstance(spec, engine.Act) and spec.role == "judge":
        return judge_view(state)
    probe = replace(state, done=False, queue=(), round=state.protocol.length - 1)
    try:
        return judge_view(probe)
    except (IndexError, ValueError):
        return None


def expert_turns(state: engine.GameState, role: str) -> tuple[Turn, ...]:
    """The transcript as ``expert_view`` shows it to ``role`` (revealed turns and its own), at any time."""
    spec = engine.next_turn(state)
    if isinstance(spec, engine.Act) and spec.role == role:
        return expert_view(state).turns
    return tuple(t for t in state.game.turns if t.revealed or t.role == role)


def quotes_panel(view: JudgeView) -> list[Quote]:
    seen: dict[tuple[int, int], Quote] = {}
    for e in view.entries:
        for s in e.segments:
            if s.quote and s.verified and s.span and s.span not in seen:
                seen[s.span] = Quote(s.span, s.text, e.label, False)
    out: list[Quote] = []
    end = 0
    for q in sorted(seen.values(), key=lambda q: q.span):
        out.append(Quote(q.span, q.text, q.label, q.span[0] > end))
        end = max(end, q.span[1])
    return out


def segments_html_parts(segments: tuple[Segment, ...]) -> list[tuple[str, str]]:
    """(kind, text) pairs for the template: 'v' a verified quote, 'u' an unverified one, 't' plain text."""
    return [("v" if s.verified else "u", s.text) if s.quote else ("t", s.text) for s in segments]
