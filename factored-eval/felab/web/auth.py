"""Logging in and out, and the first facilitator of a fresh database.

``/setup`` exists only while the database has no facilitator: whoever opens it first (on localhost: the person
who ran ``felab serve``) names the facilitator account. The facilitator registers everyone else.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from sqlalchemy import select

from ..store.db import transaction
from ..store.models import Participant
from . import security
from .errors import Forbidden, Invalid, SignIn
from .pages import check_csrf, page, redirect

router = APIRouter()
MIN_PASSWORD = 8


def signed_in(request: Request) -> Participant | None:
    """The participant of this session (None when signed out), also kept on ``request.state.me``."""
    pid = request.session.get("pid")
    me = None
    if pid is not None:
        with request.app.state.db() as s:
            me = s.get(Participant, pid)
            if me is not None and me.kind != "human":
                me = None
    request.state.me = me
    return me


def require(request: Request) -> Participant:
    me = signed_in(request)
    if me is None:
        raise SignIn()
    return me


def require_facilitator(request: Request) -> Participant:
    me = require(request)
    if not me.is_facilitator:
        raise Forbidden("only a facilitator may open this page")
    return me


def _has_facilitator(s) -> bool:
    return s.scalar(select(Participant.id).where(Participant.is_facilitator.is_(True)).limit(1)) is not None


def check_new_account(username: str, password: str) -> None:
    if not (1 <= len(username) <= 64) or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise Invalid("a username is 1 to 64 letters, digits, '.', '-' or '_'")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters")


@router.get("/login")
def login_form(request: Request):
    with request.app.state.db() as s:
        if not _has_facilitator(s):
            return redirect("/setup")
    return page(request, "login.html", {})


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    with request.app.state.db() as s:
        p = s.scalar(select(Participant).where(Participant.username == username, Participant.kind == "human"))
        ok = security.check_password(password, p.password_hash if p else None)
    if not ok:
        return page(request, "login.html", {"error": "unknown username or wrong password", "username": username},
                    status=401)
    request.session.clear()
    request.session["pid"] = p.id
    security.csrf_token(request.session)
    return redirect("/")


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")):
    check_csrf(request, csrf)
    request.session.clear()
    return redirect("/login")


@router.get("/setup")
def setup_form(request: Request):
    with request.app.state.db() as s:
        if _has_facilitator(s):
            return redirect("/login")
    return page(request, "setup.html", {})


@router.post("/setup")
def setup(request: Request, username: str = Form(""), display_name: str = Form(""), password: str = Form(""),
          csrf: str = Form("")):
    check_csrf(request, csrf)
    check_new_account(username, password)
    def work(s):
        if _has_facilitator(s):
            raise Forbidden("this database already has a facilitator; sign in")
        p = Participant(username=username, display_name=display_name or username, kind="human",
                        password_hash=security.hash_password(password), is_facilitator=True)
        s.add(p)
        s.flush()
        return p.id

    pid = transaction(request.app.state.db, work)
    request.session.clear()
    request.session["pid"] = pid
    return redirect("/admin")
