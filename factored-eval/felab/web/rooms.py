"""Rooms: the lab's engine behind the web. A room holds one ``GameState`` of ``felab.protocols.engine`` (its game
record and the engine's position, in the store); everything a seat submits goes through ``engine.apply``, so
the rules, the quote verification and the limits are the lab's, never re-implemented here.

What the web adds around the engine:
- seats held by people or by agents of the lab: after every move, agent seats play until a person must act
  (``advance``), so a person can judge two model experts;
- factored evaluation's sub-questions: each ``SubGame`` becomes a child room with the same experts and a new
  judge drawn from the experiment's judge pool under the exposure rules (``schedule``); when the child ends its
  accepted answer goes back to the parent (``engine.apply_child``) and the parent moves on;
- stale forms: a form carries the move it was made for (``move_key``); a submit for a move that is no longer due
  is refused, never applied to a later move;
- times: when each turn was submitted and revealed (``TurnTime``), for the researcher only.
All of a submit happens in the caller's transaction (``felab.store.db.transaction``): it lands whole or not at
all, and a concurrent submit to the same room is retried against the new state (the room's ``version``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import Action, BadInput, Document, Game, Question, Speech
from ..protocols import engine
from ..protocols.rules import Protocol, parse
from ..store.models import DocumentRow, Experiment, Participant, QuestionRow, Room, SeatRow, TurnTime, now
from ..views import view_for
from . import schedule
from .agents import agent_for
from .errors import Forbidden, Invalid, NotFound, Stale

MAX_AGENT_MOVES = 500  # a bound on one request's agent moves (a game of agents alone ends far sooner)


def protocol_of(exp: Experiment) -> Protocol:
    return parse(exp.rules, f"experiment {exp.id}")


def document(s: Session, doc_id: str) -> Document:
    row = s.get(DocumentRow, doc_id)
    if row is None:
        raise NotFound(f"no document {doc_id!r}")
    return Document(row.id, row.title, row.text, row.source, row.license)


def question(s: Session, qid: str) -> Question:
    row = s.get(QuestionRow, qid)
    if row is None:
        raise NotFound(f"no question {qid!r}; import it first")
    return Question.from_dict(row.record)


def get_room(s: Session, room_id: int) -> Room:
    room = s.get(Room, room_id)
    if room is None:
        raise NotFound(f"no room {room_id}")
    return room


def state_of(s: Session, room: Room) -> engine.GameState:
    """The room's engine state, rebuilt from the store (protocol from the experiment, document by id)."""
    game = Game.from_json(room.game_json)
    pos = room.position or {}
    return engine.GameState(protocol_of(room.experiment), document(s, game.document_id), game,
                            round=pos.get("round", 0), spoken=tuple(pos.get("spoken", ())),
                            queue=tuple(pos.get("queue", ())), asked=pos.get("asked", 0), step=pos.get("step", 0),
                            done=pos.get("done", False))


def _save(s: Session, room: Room, state: engine.GameState, pending: dict | None = None,
          held_at: dict | None = None) -> None:
    """Write ``state`` (and the held speeches) to the room (its version goes up: a concurrent writer's flush
    then fails and retries) with the times of the turns it added (``held_at``: a held speech's own time, by role)
    and of the turns it revealed."""
    room.game_json = state.game.to_json()
    room.position = {"round": state.round, "spoken": list(state.spoken), "queue": list(state.queue),
                     "asked": state.asked, "step": state.step, "done": state.done,
                     "pending": pending_of(room) if pending is None else pending}
    t = now()
    seats = {seat.role: seat.participant_id for seat in room.seats}
    times = {tt.idx: tt for tt in s.scalars(select(TurnTime).where(TurnTime.room_id == room.id))}
    last = max((tt.submitted_at for tt in times.values()), default=room.created_at)
    for idx, turn in enumerate(state.game.turns):
        tt = times.get(idx)
        if tt is None:
            at = (held_at or {}).get(turn.role, t)
            spent = (at - _aware(last)).total_seconds() if last is not None else None
            tt = TurnTime(room_id=room.id, idx=idx, role=turn.role, participant_id=seats.get(turn.role),
                          submitted_at=at, seconds_spent=spent)
            s.add(tt)
        if turn.revealed and tt.revealed_at is None:
            tt.revealed_at = t
    if state.done and room.status != "ended":
        room.status, room.ended_at = "ended", t
    s.flush()


def _aware(t):
    """SQLite hands back naive datetimes (stored in UTC); make them comparable with ``now()``."""
    from datetime import timezone

    return t if t is None or t.tzinfo else t.replace(tzinfo=timezone.utc)


def pending_of(room: Room) -> dict:
    """Speeches of a simultaneous round written before their seat's turn in the engine's order, held until then:
    {role: {"speech": Speech as dict, "at": ISO time}}. Part of the room's position, never of a view."""
    return dict((room.position or {}).get("pending", {}))


def due(state: engine.GameState, role: str | None, pending: dict) -> engine.Act | None:
    """The move ``role`` may make now: its turn in the engine, or its speech of a simultaneous round that the
    engine takes in seat order but people write at the same time (NYU: both write, then both are revealed)."""
    spec = engine.next_turn(state)
    if role is None or not isinstance(spec, engine.Act):
        return None
    if spec.role == role:
        return spec
    if spec.type == "simultaneous" and role.startswith("expert") and role not in pending \
            and role not in state.spoken and state.game.seat(role) is not None:
        speakers = state.protocol.round(spec.round).speakers
        if not speakers or role in speakers:
            return replace(spec, role=role)
    return None


def move_key(state: engine.GameState, role: str | None, pending: dict) -> str | None:
    """Names the move now due for ``role`` (None when it has none): a form carries it, so a form made for an
    earlier move is refused instead of landing on a later one."""
    spec = due(state, role, pending)
    if spec is None:
        return None
    return f"{spec.round}.{spec.role}.{spec.type}.{spec.step}.{state.asked}"


def seat_of(room: Room, participant_id: int) -> str | None:
    return next((seat.role for seat in room.seats if seat.participant_id == participant_id), None)


def create_room(s: Session, exp: Experiment, question_id: str, seats: dict[str, int], seed: int = 0) -> Room:
    """A new room for ``question_id`` with people or agents in ``seats`` (role -> participant id). Refuses a
    seating that breaks the exposure rules or leaves a seat of the protocol empty."""
    q = question(s, question_id)
    doc = document(s, q.document_id)
    protocol = protocol_of(exp)
    names = _names(s, seats)
    state = engine.start(protocol, doc, q, seed, names)
    roles = [seat.role for seat in state.game.seats]
    missing = [r for r in roles if r not in seats]
    extra = [r for r in seats if r not in roles]
    if missing or extra:
        raise Invalid(f"protocol {protocol.name} seats {', '.join(roles)}; "
                      + (f"assign {', '.join(missing)}" if missing else f"remove {', '.join(extra)}"))
    if any(state.protocol.round(i).type == "claims" for i in range(state.protocol.length)):
        people = [r for r, pid in seats.items() if s.get(Participant, pid).kind == "human"]
        if people:
            raise Invalid(f"claim trees run with agents only on this platform (a person cannot yet write a claim "
                          f"tree, and each step needs a fresh judge); seat agents in {', '.join(people)}")
    room = Room(experiment=exp, question_id=q.id, depth=0, status="open", game_json="{}", position={})
    s.add(room)
    s.flush()
    _seat(s, room, seats, q.document_id)
    state = replace(state, game=state.game.with_(id=f"room{room.id}"))
    _save(s, room, state)
    return advance(s, room, state)[0]


def _names(s: Session, seats: dict[str, int]) -> dict[str, str]:
    out = {}
    for role, pid in seats.items():
        p = s.get(Participant, pid)
        if p is None:
            raise Invalid(f"no participant {pid} for seat {role}")
        out[role] = p.username
    return out


def _seat(s: Session, room: Room, seats: dict[str, int], doc_id: str) -> None:
    people = [pid for pid in seats.values() if s.get(Participant, pid).kind == "human"]
    if len(people) != len(set(people)):
        raise Invalid("one person cannot hold two seats of the same room")
    for role, pid in seats.items():
        schedule.check_seat(s, pid, role, doc_id)
        s.add(SeatRow(room_id=room.id, role=role, participant_id=pid))
        schedule.record(s, pid, doc_id, "judged" if role == "judge" else "read_as_expert", room.id)
    s.flush()
    s.refresh(room)


def submit(s: Session, room_id: int, participant: Participant, action: Action, key: str | None) -> Room:
    """Seat the participant's ``action`` in room ``room_id`` through the engine, then let held speeches, agents
    and sub-games move on. ``key`` is the form's ``move_key``; a mismatch is a stale form (409)."""
    room = get_room(s, room_id)
    role = seat_of(room, participant.id)
    if role is None:
        raise Forbidden("you have no seat in this room")
    state = state_of(s, room)
    pending = pending_of(room)
    spec = due(state, role, pending)
    if spec is None:
        raise Stale("it is not your move any more (the room moved on while the form was open); reload the room")
    if key != move_key(state, role, pending):
        raise Stale("this form was made for an earlier move; reload the room and submit again")
    if spec.role != engine.next_turn(state).role:  # a simultaneous speech ahead of the engine's order: hold it
        if not isinstance(action, Speech):
            raise Invalid(f"{role} must give a speech in this round")
        pending[role] = {"speech": action.to_dict(), "at": now().isoformat()}
        _save(s, room, state, pending)
        return room
    try:
        new = engine.apply(state, role, action)
        held_at = {}
        while isinstance(nxt := engine.next_turn(new), engine.Act) and nxt.role in pending:
            held = pending.pop(nxt.role)
            new = engine.apply(new, nxt.role, Speech.from_dict(held["speech"]))
            held_at[nxt.role] = datetime.fromisoformat(held["at"])
    except BadInput as e:
        raise Invalid(str(e)) from None
    _save(s, room, new, pending, held_at)
    room, new = advance(s, room, new)
    _propagate(s, room, new)
    return room


def advance(s: Session, room: Room, state: engine.GameState) -> tuple[Room, engine.GameState]:
    """Let agent seats play and sub-games open (and, where their seats are all agents, finish) until a person
    must act, a seat is empty, or the game is over. Saves the room."""
    before = state
    for _ in range(MAX_AGENT_MOVES):
        spec = engine.next_turn(state)
        if isinstance(spec, engine.Done):
            break
        if isinstance(spec, engine.SubGame):
            child = _open_child(s, room, state)
            if child is None:
                break
            child_room, child_state = child
            if not child_state.done:
                break
            state = engine.apply_child(state, child_state.game)
            continue
        seat = next((x for x in room.seats if x.role == spec.role), None)
        if seat is None or seat.participant.kind != "agent":
            break
        agent = agent_for(seat.participant.agent_spec or {}, seed=state.game.seed)
        state = engine.apply(state, spec.role, agent.act(view_for(state)))
    if state is not before:
        _save(s, room, state)
    return room, state


def _open_child(s: Session, room: Room, state: engine.GameState):
    """The open child room answering the sub-question at the head of the queue, made if needed; returns
    (room, state), or None when the child waits for people."""
    k = sum(1 for t in state.game.turns if t.kind == "subanswer")
    existing = s.scalars(select(Room).where(Room.parent_id == room.id).order_by(Room.id)).all()
    if len(existing) > k:
        return None  # the child for this sub-question exists and is still being played
    cstate = engine.child(state, engine.SubGame(state.queue[0]))
    seats = {x.role: x.participant_id for x in room.seats if x.role != "judge"}
    judge = schedule.pick_judge(s, room, state.game.document_id)
    child = Room(experiment_id=room.experiment_id, question_id=room.question_id, parent_id=room.id,
                 depth=cstate.game.depth, status="open", game_json="{}", position={})
    s.add(child)
    s.flush()
    if judge is not None:
        seats["judge"] = judge
    _seat(s, child, seats, state.game.document_id)
    cstate = replace(cstate, game=cstate.game.with_(id=f"room{child.id}"))
    _save(s, child, cstate)
    return advance(s, child, cstate)


def _propagate(s: Session, room: Room, state: engine.GameState) -> None:
    """A finished child hands its answer to its parent, which moves on (and so on up the tree)."""
    while state.done and room.parent_id is not None:
        parent = get_room(s, room.parent_id)
        pstate = state_of(s, parent)
        if not pstate.queue:
            return
        new = engine.apply_child(pstate, state.game)
        _save(s, parent, new)
        room, state = advance(s, parent, new)


def assign_judge(s: Session, room_id: int, participant_id: int) -> Room:
    """The facilitator seats a judge in a room that waits for one (a sub-game whose pool had no eligible judge)."""
    room = get_room(s, room_id)
    if any(x.role == "judge" for x in room.seats):
        raise Invalid(f"room {room_id} already has a judge")
    state = state_of(s, room)
    _seat(s, room, {"judge": participant_id}, state.game.document_id)
    room, state = advance(s, room, state)
    _propagate(s, room, state)
    return room


def roles_of(protocol: Protocol) -> list[str]:
    """The seats the protocol's seat rule makes (asked of the engine, on a placeholder question)."""
    doc = Document("_", "", "_")
    state = engine.start(protocol, doc, Question("_", "_", "", ("a", "b"), 0))
    return [seat.role for seat in state.game.seats]
