"""Fixtures for the web platform's tests: a fresh database per test (SQLite in a temp dir; PostgreSQL too when
``FELAB_TEST_POSTGRES_URL`` names a server, as ``.ci/run`` does with scripts/pg-throwaway.sh), an app on it, a
small study (a facilitator, four people, agents, synthetic worlds, experiments), and clients that sign in and
send forms with their CSRF token as a browser would."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid

import pytest

pytest.importorskip("fastapi", reason="the web platform needs the [web] extra: pip install 'felab[web]'")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from felab.data import synthetic  # noqa: E402
from felab.protocols import rules  # noqa: E402
from felab.store.db import transaction  # noqa: E402
from felab.store.models import DocumentRow, Experiment, Participant, QuestionRow  # noqa: E402
from felab.web import security  # noqa: E402
from felab.web.app import Settings, create_app  # noqa: E402

PG = os.environ.get("FELAB_TEST_POSTGRES_URL")
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _pg_database():
    """A new empty database on the test server; dropped afterwards."""
    name = f"felab_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each database test runs on SQLite and, when a server is given, on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'felab.db'}"
        return
    if not PG:
        pytest.skip("FELAB_TEST_POSTGRES_URL is not set (.ci/run sets it with scripts/pg-throwaway.sh)")
    yield from _pg_database()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'felab.db'}"


@pytest.fixture
def settings():
    return Settings(quote_check_rate=3, sse_seconds=5.0, poll_seconds=0.05)


@pytest.fixture
def app(db_url, settings):
    a = create_app(db_url, secret_key="test-secret", settings=settings)
    yield a
    a.state.engine.dispose()


class Browser:
    """A TestClient with its own cookies that fills in the CSRF token from the last page it loaded."""

    def __init__(self, app):
        self.client = TestClient(app, follow_redirects=False)
        self.csrf = None

    def get(self, url, **kw):
        r = self.client.get(url, **kw)
        m = _CSRF.search(r.text)
        if m:
            self.csrf = m.group(1)
        return r

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf and "csrf" not in data:
            if self.csrf is None:
                self.get("/login")
            data["csrf"] = self.csrf
        return self.client.post(url, data=data, **kw)

    def login(self, username, password=PASSWORD):
        self.get("/login")
        r = self.post("/login", {"username": username, "password": password})
        assert r.status_code == 303, r.text
        self.get("/")
        return self


def add_people(app, names, facilitator=False):
    def work(s):
        out = {}
        for n in names:
            p = Participant(username=n, display_name=n.title(), kind="human", is_facilitator=facilitator,
                            password_hash=security.hash_password(PASSWORD))
            s.add(p)
            s.flush()
            out[n] = p.id
        return out

    return transaction(app.state.db, work)


def add_agent(app, name, agent, **params):
    def work(s):
        p = Participant(username=name, display_name=name, kind="agent", is_facilitator=False,
                        agent_spec={"agent": agent, "params": params})
        s.add(p)
        s.flush()
        return p.id

    return transaction(app.state.db, work)


def add_worlds(app, n_questions=12, seed=0):
    items = synthetic.generate(n_questions, seed=seed)

    def work(s):
        for doc, qs in items:
            s.add(DocumentRow(id=doc.id, title=doc.title, text=doc.text, source=doc.source, license=doc.license))
            s.flush()
            for q in qs:
                s.add(QuestionRow(id=q.id, document_id=doc.id, record=q.to_dict()))

    transaction(app.state.db, work)
    return items


def add_experiment(app, protocol, quote_checks=0, pool=()):
    p = rules.load(protocol)

    def work(s):
        e = Experiment(name=protocol, protocol=p.name, rules=p.to_dict(), judge_pool=list(pool),
                       quote_checks=quote_checks)
        s.add(e)
        s.flush()
        return e.id

    return transaction(app.state.db, work)


def open_room(app, exp_id, question_id, seats, seed=0):
    from felab.web import rooms

    def work(s):
        return rooms.create_room(s, s.get(Experiment, exp_id), question_id, seats, seed).id

    return transaction(app.state.db, work)


def _key(html: str) -> str:
    return re.search(r'name="key" value="([^"]*)"', html).group(1)


def _game(app, room_id):
    from felab.domain import Game
    from felab.store.models import Room

    with app.state.db() as s:
        return Game.from_json(s.get(Room, room_id).game_json)


def _judge(b: Browser, room: int, a: float, decision: str, **extra):
    page = b.get(f"/rooms/{room}")
    assert page.status_code == 200
    return b.post(f"/rooms/{room}/judgment", {"p_a": a, "p_b": 100 - a, "decision": decision, "key": _key(page.text),
                                              **extra})


def _speak(b: Browser, room: int, text: str, **extra):
    page = b.get(f"/rooms/{room}")
    assert page.status_code == 200
    return b.post(f"/rooms/{room}/speech", {"text": text, "key": _key(page.text), **extra})


@pytest.fixture
def study(app):
    """A facilitator, four people, two scripted expert agents and a scripted judge, 12 synthetic questions."""
    ids = add_people(app, ["fac"], facilitator=True)
    ids.update(add_people(app, ["ann", "bob", "cat", "dan"]))
    ids["honest"] = add_agent(app, "honest-bot", "honest")
    ids["malicious"] = add_agent(app, "malicious-bot", "malicious")
    ids["weigher"] = add_agent(app, "weigher-bot", "weigher")
    items = add_worlds(app)
    return {"ids": ids, "items": items, "app": app}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(sqlite_url):
    """The app on a temp SQLite database, served by uvicorn in a thread on 127.0.0.1."""
    import uvicorn

    from felab.web.app import Settings, create_app

    app = create_app(sqlite_url, secret_key="browser-test", settings=Settings(sse_seconds=20.0, poll_seconds=0.1))
    port = _free_port()
    # keep-alive longer than any client pause: a connection uvicorn closes after its default 5 s idle, reused by the
    # client at that moment, fails with "Server disconnected" before the request reaches the app
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=300,
                                        timeout_graceful_shutdown=1))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield app, f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    app.state.engine.dispose()
