"""The participants' pages: the lobby, a room (as judge, expert or facilitator), and the moves made in it.

A room page is built from the lab's views only (``render``): a judge's page never receives the document. A
participant with no seat in a room gets 403 on every route of it (page, transcript, events, forms). Moves are
ordinary forms (they work without JavaScript); htmx adds the expert's live preview and the judge's quote checks,
and ``static/felab.js`` the live updates (``live``). A refused move re-renders the room with the message and the
draft kept, and writes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from sqlalchemy import func, select

from ..domain import BadInput, Speech
from ..protocols import engine
from ..store.db import transaction
from ..store.models import Participant, QuoteCheck, Room, SeatRow
from ..text import find_quote, words
from . import forms, render, rooms
from .auth import require
from .errors import Forbidden, Invalid, Stale, TooMany, WebError
from .pages import check_csrf, fragment, page, redirect

router = APIRouter()
MIN_CHECK_WORDS = 5  # a quote check must be at least this many words (the spec's 4.5: against probing)


def role_label(role: str | None) -> str:
    return {"judge": "Judge", "expert0": "Expert", "expert1": "Expert", None: "Facilitator"}.get(role, role)


@router.get("/")
def lobby(request: Request):
    me = require(request)
    with request.app.state.db() as s:
        seats = s.scalars(select(SeatRow).join(Room).where(SeatRow.participant_id == me.id)
                          .order_by(Room.id.desc())).all()
        items = []
        for seat in seats:
            room = seat.room
            state = rooms.state_of(s, room)
            due = rooms.due(state, seat.role, rooms.pending_of(room)) is not None
            question = state.game.question.text
            items.append({"room": room.id, "role": role_label(seat.role), "question": question, "due": due,
                          "status": "ended" if state.done else ("your move" if due else "waiting"),
                          "depth": room.depth, "protocol": state.protocol.title or state.protocol.name})
    return page(request, "lobby.html", {"items": items})


def room_context(s, room: Room, me: Participant, request: Request) -> dict:
    """Everything the room page and its live transcript show this participant."""
    state = rooms.state_of(s, room)
    role = rooms.seat_of(room, me.id)
    if role is None and not me.is_facilitator:
        raise Forbidden("you have no seat in this room")
    spec = engine.next_turn(state)
    pending = rooms.pending_of(room)
    mine = rooms.due(state, role, pending)
    p = state.protocol
    ctx = {"room": room, "role": role, "role_label": role_label(role), "rules": p.summary(),
           "protocol": p.title or p.name, "spec": mine, "key": rooms.move_key(state, role, pending),
           "ended": state.done, "waiting_children": isinstance(spec, engine.SubGame),
           "parts": render.segments_html_parts}
    if role == "judge":
        view = render.judge_page_view(state)
        ctx.update(view=view, quotes=render.quotes_panel(view) if view else [])
        if state.done:
            game = state.game
            c = game.question.correct_index
            ctx["reveal"] = {"correct": None if c is None else "AB"[game.order.index(c)],
                             "accepted": None if game.accepted is None else "AB"[game.order.index(game.accepted)]}
        allowed = room.experiment.quote_checks
        used = s.scalar(select(func.count()).select_from(QuoteCheck)
                        .where(QuoteCheck.room_id == room.id, QuoteCheck.participant_id == me.id))
        ctx["checks_left"] = max(allowed - used, 0) if allowed and not state.done else 0
    elif role is not None:
        seat = state.game.seat(role)
        q = state.game.question
        held = pending.get(role)
        ctx.update(turns=render.expert_turns(state, role), question=q, document=state.document, side=seat.side,
                   held=Speech.from_dict(held["speech"]) if held else None,
                   side_text=q.options[seat.side] if seat.side is not None else "",
                   needs_answer=seat.side is not None and not q.options[seat.side])
    else:
        ctx.update(game=state.game, document=state.document, seats=room.seats, position=room.position)
    return ctx


def _room_page(request: Request, room_id: int, extra: dict | None = None, status: int = 200):
    me = require(request)
    with request.app.state.db() as s:
        room = rooms.get_room(s, room_id)
        ctx = room_context(s, room, me, request)
    return page(request, "room.html", {**ctx, **(extra or {})}, status=status)


@router.get("/rooms/{room_id}")
def room_page(request: Request, room_id: int):
    return _room_page(request, room_id)


@router.get("/rooms/{room_id}/transcript")
def transcript(request: Request, room_id: int):
    """The room's live part (transcript and status) for this participant, with the move now due for them in
    ``X-Felab-Move`` (the page reloads when it changes)."""
    me = require(request)
    with request.app.state.db() as s:
        ctx = room_context(s, rooms.get_room(s, room_id), me, request)
    return fragment(request, "_live.html", ctx, headers={"X-Felab-Move": ctx["key"] or "none"})


def _refuse(request: Request, room_id: int, err: WebError, draft: dict):
    return _room_page(request, room_id, {"error": str(err), "draft": draft}, status=err.status)


@router.post("/rooms/{room_id}/speech")
def speech(request: Request, room_id: int, text: str = Form(""), answer: str = Form(""), key: str = Form(""),
           decision: str = Form("speak"), csrf: str = Form("")):
    check_csrf(request, csrf)
    me = require(request)

    def work(s):
        room = rooms.get_room(s, room_id)
        state = rooms.state_of(s, room)
        role = rooms.seat_of(room, me.id)
        if role is None or role == "judge":
            raise Forbidden("you have no expert seat in this room")
        spec = rooms.due(state, role, rooms.pending_of(room))
        if spec is None:
            raise Stale("it is not your move any more; reload the room")
        if decision == "decline":
            action = forms.decline()
        else:
            action = forms.parse_speech(text, state.document.text, answer if answer.strip() else None)
            forms.check_limits(forms.speech_preview(action, state.document.text), spec)
        rooms.submit(s, room_id, me, action, key)

    try:
        transaction(request.app.state.db, work)
    except WebError as e:
        return _refuse(request, room_id, e, {"text": text, "answer": answer})
    return redirect(f"/rooms/{room_id}")


@router.post("/rooms/{room_id}/judgment")
def judgment(request: Request, room_id: int, p_a: str = Form(""), p_b: str = Form(""), explanation: str = Form(""),
             subquestions: str = Form(""), decision: str = Form("continue"), key: str = Form(""),
             csrf: str = Form("")):
    check_csrf(request, csrf)
    me = require(request)

    def work(s):
        room = rooms.get_room(s, room_id)
        if rooms.seat_of(room, me.id) != "judge":
            raise Forbidden("you are not the judge of this room")
        state = rooms.state_of(s, room)
        spec = engine.next_turn(state)
        if not isinstance(spec, engine.Act) or spec.role != "judge":
            raise Stale("it is not your move any more; reload the room")
        if decision == "ask" and not subquestions.strip():
            raise Invalid("write at least one sub-question (one per line) to ask")
        action = forms.parse_judgment(p_a, p_b, decision == "end", explanation,
                                      subquestions if decision == "ask" else "", spec)
        rooms.submit(s, room_id, me, action, key)

    try:
        transaction(request.app.state.db, work)
    except WebError as e:
        return _refuse(request, room_id, e, {"p_a": p_a, "p_b": p_b, "explanation": explanation,
                                              "subquestions": subquestions})
    return redirect(f"/rooms/{room_id}")


@router.post("/rooms/{room_id}/preview")
def preview(request: Request, room_id: int, text: str = Form(""), csrf: str = Form("")):
    """An expert's speech as the judge will see it, with its character and quote counts (htmx fragment)."""
    check_csrf(request, csrf)
    me = require(request)
    with request.app.state.db() as s:
        room = rooms.get_room(s, room_id)
        role = rooms.seat_of(room, me.id)
        if role is None or role == "judge":
            raise Forbidden("you have no expert seat in this room")
        state = rooms.state_of(s, room)
        spec = rooms.due(state, role, rooms.pending_of(room))
    ctx = {"segments": (), "problem": None, "chars": 0, "quoted": 0, "spec": spec,
           "parts": render.segments_html_parts}
    try:
        segs = forms.speech_preview(forms.parse_speech(text, state.document.text), state.document.text)
        ctx.update(segments=segs, chars=sum(len(x.text) for x in segs),
                   quoted=sum(len(x.text) for x in segs if x.quote and x.verified))
        if ctx["spec"] is not None:
            forms.check_limits(segs, ctx["spec"])
    except WebError as e:
        ctx["problem"] = str(e)
    return fragment(request, "_preview.html", ctx)


@router.post("/rooms/{room_id}/quote-check")
def quote_check(request: Request, room_id: int, text: str = Form(""), csrf: str = Form("")):
    """Ought's oracle: does this text come from the document? For the judge only, at most the experiment's
    allowance per room, at most ``Settings.quote_check_rate`` a minute, each at least five words; logged."""
    check_csrf(request, csrf)
    me = require(request)
    text = text.strip()
    if not request.app.state.quote_limiter.allow(me.id):
        return fragment(request, "_quote_check.html",
                        {"problem": "too many quote checks in the last minute; wait a little"}, status=429)

    def work(s):
        room = rooms.get_room(s, room_id)
        if rooms.seat_of(room, me.id) != "judge":
            raise Forbidden("only this room's judge may check quotes here")
        state = rooms.state_of(s, room)
        if state.done:
            raise Invalid("the game is over")
        allowed = room.experiment.quote_checks
        used = s.scalar(select(func.count()).select_from(QuoteCheck)
                        .where(QuoteCheck.room_id == room_id, QuoteCheck.participant_id == me.id))
        if used >= allowed:
            raise TooMany(f"you have used all {allowed} quote checks of this room")
        if len(text) > forms.MAX_SUBQUESTION or len(words(text)) < MIN_CHECK_WORDS:
            raise Invalid(f"a quote to check is {MIN_CHECK_WORDS} or more words and at most "
                          f"{forms.MAX_SUBQUESTION} characters")
        span = find_quote(state.document.text, text)
        s.add(QuoteCheck(room_id=room_id, participant_id=me.id, query_text=text, verified=span is not None,
                         span_begin=span[0] if span else None, span_end=span[1] if span else None))
        return (state.document.text[span[0]:span[1]] if span else None), allowed - used - 1

    try:
        found, left = transaction(request.app.state.db, work)
    except (WebError, BadInput) as e:
        status = e.status if isinstance(e, WebError) else 422
        return fragment(request, "_quote_check.html", {"problem": str(e)}, status=status)
    return fragment(request, "_quote_check.html", {"found": found, "left": left})
