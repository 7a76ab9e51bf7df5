"""Everything in the store as the lab's JSONL: one record a line, ``{"kind": "document" | "question" | "game",
...}`` (the format ``felab.data.nyu.write_jsonl`` writes and the lab's metrics and report read), documents first.

A game is a root room's record (``Game.to_dict``) with its finished sub-games in ``children`` as the engine put
them there. What the web adds is kept in each game's ``meta["web"]`` (the root's and every sub-game's): the
room and experiment ids, who sat where (username and kind, never a password hash), when each turn was submitted
and revealed and how long it took, the judge's quote checks, the room's status, and the ids of sub-game rooms
still being played. Nothing is executed on reading it back; JSON only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import Game
from .models import DocumentRow, Experiment, QuestionRow, QuoteCheck, Room, TurnTime


def _iso(t) -> str | None:
    return None if t is None else t.isoformat()


def _web_meta(s: Session, room: Room) -> dict:
    exp = s.get(Experiment, room.experiment_id)
    times = s.scalars(select(TurnTime).where(TurnTime.room_id == room.id).order_by(TurnTime.idx)).all()
    checks = s.scalars(select(QuoteCheck).where(QuoteCheck.room_id == room.id).order_by(QuoteCheck.id)).all()
    open_children = s.scalars(select(Room.id).where(Room.parent_id == room.id, Room.status != "ended")).all()
    return {"room": room.id, "experiment": exp.id, "experiment_name": exp.name, "status": room.status,
            "created_at": _iso(room.created_at), "ended_at": _iso(room.ended_at),
            "seats": {x.role: {"participant": x.participant.username, "kind": x.participant.kind}
                      for x in room.seats},
            "turn_times": [{"idx": t.idx, "role": t.role, "submitted_at": _iso(t.submitted_at),
                            "revealed_at": _iso(t.revealed_at), "seconds_spent": t.seconds_spent} for t in times],
            "quote_checks": [{"text": c.query_text, "verified": c.verified,
                              "span": None if c.span_begin is None else [c.span_begin, c.span_end],
                              "at": _iso(c.created_at)} for c in checks],
            "open_children": list(open_children)}


def game_of(s: Session, room: Room) -> Game:
    """The room's game with ``meta["web"]`` filled in, for it and for each finished sub-game."""
    game = Game.from_json(room.game_json)
    children = []
    for c in game.children:
        rid = int(c.id[4:]) if c.id.startswith("room") and c.id[4:].isdigit() else None
        child_room = s.get(Room, rid) if rid is not None else None
        children.append(game_of(s, child_room).with_(turns=c.turns, outcome=c.outcome, accepted=c.accepted)
                        if child_room is not None else c)
    return game.with_(children=tuple(children), meta={**game.meta, "web": _web_meta(s, room)})


def lines(s: Session) -> Iterator[str]:
    """The export, line by line."""
    for d in s.scalars(select(DocumentRow).order_by(DocumentRow.id)):
        rec = {"kind": "document", "id": d.id, "title": d.title, "text": d.text, "source": d.source,
               "license": d.license}
        yield json.dumps(rec, ensure_ascii=False) + "\n"
    for q in s.scalars(select(QuestionRow).order_by(QuestionRow.id)):
        yield json.dumps({"kind": "question", **q.record}, ensure_ascii=False) + "\n"
    for room in s.scalars(select(Room).where(Room.parent_id.is_(None)).order_by(Room.id)):
        yield json.dumps({"kind": "game", **game_of(s, room).to_dict()}, ensure_ascii=False) + "\n"
