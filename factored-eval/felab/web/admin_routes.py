"""The facilitator's pages: participants (people and agents), imports (the lab's importers), experiments made
from the lab's protocol files, rooms and their seats under the exposure rules, who has seen what, and the export.
Every route requires a facilitator; every form is CSRF-checked and lands in one transaction or not at all.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select

from ..data import jsonl
from ..domain import BadInput, Document, Question
from ..protocols import rules
from ..store import export
from ..store.db import transaction
from ..store.models import DocumentRow, Experiment, Participant, QuestionRow
from . import agents, rooms, schedule, security
from .auth import check_new_account, require_facilitator
from .errors import Invalid, NotFound
from .pages import check_csrf, page, redirect

router = APIRouter(prefix="/admin")
MAX_UPLOAD = 50 * 1024 * 1024


@router.get("")
def admin(request: Request):
    require_facilitator(request)
    with request.app.state.db() as s:
        people = s.scalars(select(Participant).order_by(Participant.id)).all()
        exps = s.scalars(select(Experiment).order_by(Experiment.id)).all()
        n_docs = len(s.scalars(select(DocumentRow.id)).all())
        n_questions = len(s.scalars(select(QuestionRow.id)).all())
    return page(request, "admin.html", {"people": people, "experiments": exps, "presets": rules.presets(),
                                        "agent_choices": agents.choices(), "n_docs": n_docs,
                                        "n_questions": n_questions})


@router.post("/participants")
def add_participant(request: Request, username: str = Form(""), display_name: str = Form(""),
                    password: str = Form(""), kind: str = Form("human"), agent: str = Form(""),
                    params: str = Form(""), facilitator: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    require_facilitator(request)
    username = username.strip()
    if kind == "agent":
        try:
            spec = {"agent": agent, "params": json.loads(params) if params.strip() else {}}
        except json.JSONDecodeError as e:
            raise Invalid(f"the agent's settings are not JSON ({e.msg}); e.g. {{\"temperature\": 0.5}}") from None
        if not isinstance(spec["params"], dict):
            raise Invalid("the agent's settings must be a JSON object")
        agents.agent_for(spec)  # refuse unusable settings now, not at the agent's first move
        check_new_account(username, "x" * 8)
        row = dict(kind="agent", agent_spec=spec, password_hash=None, is_facilitator=False)
    elif kind == "human":
        check_new_account(username, password)
        row = dict(kind="human", password_hash=security.hash_password(password), is_facilitator=bool(facilitator))
    else:
        raise Invalid("a participant is a 'human' or an 'agent'")

    def work(s):
        if s.scalar(select(Participant.id).where(Participant.username == username)) is not None:
            raise Invalid(f"the username {username!r} is taken")
        s.add(Participant(username=username, display_name=display_name.strip() or username, **row))

    transaction(request.app.state.db, work)
    return redirect("/admin")


def _store_items(request: Request, items: list[tuple[Document, list[Question]]]) -> None:
    """Documents and questions into the store in one transaction; a record that exists is kept when equal and
    refused when it differs (an id means one text for every room that used it)."""

    def work(s):
        for doc, questions in items:
            row = s.get(DocumentRow, doc.id)
            if row is None:
                s.add(DocumentRow(id=doc.id, title=doc.title, text=doc.text, source=doc.source, license=doc.license))
            elif row.text != doc.text:
                raise Invalid(f"document {doc.id} is already stored with a different text; give it another id")
            s.flush()
            for q in questions:
                qrow = s.get(QuestionRow, q.id)
                if qrow is None:
                    s.add(QuestionRow(id=q.id, document_id=doc.id, record=q.to_dict()))
                elif qrow.record != q.to_dict():
                    raise Invalid(f"question {q.id} is already stored differently; give it another id")

    transaction(request.app.state.db, work)


@router.post("/import/synthetic")
def import_synthetic(request: Request, n_questions: int = Form(12), seed: int = Form(0), per_document: int = Form(3),
                     csrf: str = Form("")):
    check_csrf(request, csrf)
    require_facilitator(request)
    from ..data import synthetic

    if not (1 <= n_questions <= 5000) or not (1 <= per_document <= 20):
        raise Invalid("import 1 to 5000 questions, 1 to 20 per document")
    _store_items(request, synthetic.generate(n_questions, seed=seed, per_document=per_document))
    return redirect("/admin")


@router.post("/import/jsonl")
async def import_jsonl(request: Request, file: UploadFile = File(...), csrf: str = Form("")):
    """A user's JSONL of documents and questions (``felab.data.jsonl``: the whole file is checked first)."""
    check_csrf(request, csrf)
    await run_in_threadpool(require_facilitator, request)
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise Invalid(f"the file is over {MAX_UPLOAD // 2**20} MiB; import it in parts")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(file.filename or "upload.jsonl").name
        path.write_bytes(data)
        try:
            items = jsonl.read(path)
        except BadInput as e:
            raise Invalid(str(e).replace(str(path), path.name)) from None
    await run_in_threadpool(_store_items, request, items)
    return redirect("/admin")


@router.post("/import/nyu")
def import_nyu(request: Request, folder: str = Form(""), csrf: str = Form("")):
    """NYU's debate data from a folder on this machine (``felab.data.nyu``): its stories and questions."""
    check_csrf(request, csrf)
    require_facilitator(request)
    from ..data import nyu

    try:
        data = nyu.load(Path(folder.strip()).expanduser())
    except BadInput as e:
        raise Invalid(str(e)) from None
    by_doc: dict[str, list[Question]] = {}
    for q in data.questions:
        by_doc.setdefault(q.document_id, []).append(q)
    _store_items(request, [(d, by_doc.get(d.id, [])) for d in data.documents])
    return redirect("/admin")


@router.post("/experiments")
def add_experiment(request: Request, name: str = Form(""), protocol: str = Form(""), quote_checks: int = Form(0),
                   csrf: str = Form("")):
    check_csrf(request, csrf)
    require_facilitator(request)
    if protocol not in rules.presets():
        raise Invalid(f"no protocol {protocol!r}; one of {', '.join(rules.presets())}")
    if not 0 <= quote_checks <= 50:
        raise Invalid("quote checks per room: 0 to 50")
    p = rules.load(protocol)

    def work(s):
        e = Experiment(name=name.strip() or p.title or p.name, protocol=p.name, rules=p.to_dict(), judge_pool=[],
                       quote_checks=quote_checks)
        s.add(e)
        s.flush()
        return e.id

    return redirect(f"/admin/experiments/{transaction(request.app.state.db, work)}")


def _experiment(s, exp_id: int) -> Experiment:
    e = s.get(Experiment, exp_id)
    if e is None:
        raise NotFound(f"no experiment {exp_id}")
    return e


@router.get("/experiments/{exp_id}")
def experiment(request: Request, exp_id: int):
    require_facilitator(request)
    with request.app.state.db() as s:
        e = _experiment(s, exp_id)
        protocol = rooms.protocol_of(e)
        people = s.scalars(select(Participant).where(Participant.is_facilitator.is_(False))
                           .order_by(Participant.id)).all()
        questions = s.scalars(select(QuestionRow).order_by(QuestionRow.id)).all()
        room_rows = []
        for r in e.rooms:
            state = rooms.state_of(s, r)
            room_rows.append({"room": r, "question": state.game.question.text, "done": state.done,
                              "seats": {x.role: x.participant.username for x in r.seats},
                              "needs_judge": not any(x.role == "judge" for x in r.seats)})
    return page(request, "experiment.html", {"exp": e, "protocol": protocol, "roles": rooms.roles_of(protocol),
                                             "people": people, "questions": questions, "room_rows": room_rows})


def _id(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"choose a participant for {what}") from None


@router.post("/experiments/{exp_id}/rooms")
def add_room(request: Request, exp_id: int, question_id: str = Form(""), seed: int = Form(0),
             judge: str = Form(""), expert0: str = Form(""), expert1: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    require_facilitator(request)
    chosen = {"judge": judge, "expert0": expert0, "expert1": expert1}

    def work(s):
        e = _experiment(s, exp_id)
        roles = rooms.roles_of(rooms.protocol_of(e))
        seats = {r: _id(chosen[r], r) for r in roles}
        return rooms.create_room(s, e, question_id, seats, seed).id

    room_id = transaction(request.app.state.db, work)
    return redirect(f"/admin/experiments/{exp_id}#room{room_id}")


@router.post("/experiments/{exp_id}/pool")
async def set_pool(request: Request, exp_id: int):
    """The experiment's judge pool (the people who may judge factored evaluation's sub-games): the checked boxes."""
    form = await request.form()
    check_csrf(request, form.get("csrf"))
    await run_in_threadpool(require_facilitator, request)
    ids = [int(v) for v in form.getlist("pool") if str(v).isdigit()]

    def work(s):
        e = _experiment(s, exp_id)
        for pid in ids:
            if s.get(Participant, pid) is None:
                raise Invalid(f"no participant {pid}")
        e.judge_pool = ids

    await run_in_threadpool(transaction, request.app.state.db, work)
    return redirect(f"/admin/experiments/{exp_id}")


@router.post("/rooms/{room_id}/judge")
def seat_judge(request: Request, room_id: int, participant_id: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    require_facilitator(request)

    def work(s):
        return rooms.assign_judge(s, room_id, _id(participant_id, "judge")).experiment_id

    exp_id = transaction(request.app.state.db, work)
    return redirect(f"/admin/experiments/{exp_id}")


@router.get("/rooms/{room_id}")
def room_admin(request: Request, room_id: int):
    require_facilitator(request)
    return redirect(f"/rooms/{room_id}")


@router.get("/exposures")
def exposures(request: Request):
    require_facilitator(request)
    with request.app.state.db() as s:
        people, docs, cells = schedule.exposure_table(s)
    return page(request, "exposures.html", {"people": people, "docs": docs, "cells": cells})


@router.get("/export.jsonl")
def export_jsonl(request: Request):
    require_facilitator(request)
    with request.app.state.db() as s:
        body = "".join(export.lines(s))
    return Response(body, media_type="application/x-ndjson",
                    headers={"Content-Disposition": 'attachment; filename="felab-export.jsonl"'})
