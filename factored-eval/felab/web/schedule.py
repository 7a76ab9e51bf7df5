"""Scheduling under exposure rules (NYU's section 3 and julianmichael/debate #29, #92; the spec's section 4.7).

- A person who read a document as an expert is never seated as a judge of a question on it.
- A person judges at most one question per document: having judged (or forfeited) a document rules out judging
  it again, in any room, at any depth of a factored-evaluation tree.
- Seating someone records the exposure at once (an expert seat is ``read_as_expert``, a judge seat ``judged``),
  in the same transaction as the seat, so two rooms scheduled at once cannot both take the same judge.
Agents of the lab are exempt: each move builds a fresh agent from its settings, with no memory of other games.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store.models import EXPOSURE_KINDS, Experiment, Exposure, Participant, Room
from .errors import Invalid


def exposures_of(s: Session, participant_id: int, document_id: str) -> set[str]:
    return set(s.scalars(select(Exposure.kind).where(Exposure.participant_id == participant_id,
                                                     Exposure.document_id == document_id)))


def check_seat(s: Session, participant_id: int, role: str, document_id: str) -> None:
    """Refuse (``Invalid``) to seat a person as judge of a document they have read or judged."""
    p = s.get(Participant, participant_id)
    if p is None:
        raise Invalid(f"no participant {participant_id}")
    if p.is_facilitator and p.kind == "human":
        raise Invalid(f"{p.username} is a facilitator (who reads every document); seat a participant")
    if role != "judge" or p.kind != "human":
        return
    seen = exposures_of(s, participant_id, document_id)
    if seen:
        raise Invalid(f"{p.username} cannot judge document {document_id}: already {' and '.join(sorted(seen))} "
                      "(a judge never judges a story they have read or judged)")


def record(s: Session, participant_id: int, document_id: str, kind: str, room_id: int) -> None:
    assert kind in EXPOSURE_KINDS
    s.add(Exposure(participant_id=participant_id, document_id=document_id, kind=kind, room_id=room_id))


def eligible_judges(s: Session, pool: list[int], document_id: str) -> list[int]:
    """The pool's participants who may judge ``document_id``, fewest rooms judged first (then by id)."""
    out = []
    for pid in pool:
        p = s.get(Participant, pid)
        if p is None or p.is_facilitator:
            continue
        if p.kind == "agent" or not exposures_of(s, pid, document_id):
            out.append(pid)
    judged = dict(s.execute(select(Exposure.participant_id, func.count()).where(Exposure.kind == "judged")
                            .group_by(Exposure.participant_id)).all())
    return sorted(out, key=lambda pid: (judged.get(pid, 0), pid))


def pick_judge(s: Session, parent: Room, document_id: str) -> int | None:
    """A new judge for a sub-game of ``parent``: an agent judge's sub-games get the same agent (a fresh instance
    per move); a person's get the first eligible person of the experiment's judge pool, or None (the room then
    waits for the facilitator to seat one)."""
    judge = next((x for x in parent.seats if x.role == "judge"), None)
    if judge is not None and judge.participant.kind == "agent":
        return judge.participant_id
    exp = s.get(Experiment, parent.experiment_id)
    people = [pid for pid in (exp.judge_pool or []) if (p := s.get(Participant, pid)) and p.kind == "human"]
    ok = eligible_judges(s, people, document_id)
    return ok[0] if ok else None


def exposure_table(s: Session) -> tuple[list[Participant], list[str], dict[tuple[int, str], set[str]]]:
    """Who has seen what: participants, documents and the kinds of exposure per (participant, document)."""
    rows = s.execute(select(Exposure.participant_id, Exposure.document_id, Exposure.kind)).all()
    cells: dict[tuple[int, str], set[str]] = {}
    for pid, doc, kind in rows:
        cells.setdefault((pid, doc), set()).add(kind)
    people = list(s.scalars(select(Participant).where(Participant.is_facilitator.is_(False))
                            .order_by(Participant.id)))
    docs = sorted({doc for _, doc in cells})
    return people, docs, cells
