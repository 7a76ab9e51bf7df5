"""The store on SQLite and (with FELAB_TEST_POSTGRES_URL) PostgreSQL: the migrations make exactly the models'
schema and undo it, a refused request leaves nothing behind, concurrent submits to one room both land, and the
export is the lab's JSONL with everything in it."""

from __future__ import annotations

import json
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from felab.domain import Game
from felab.store import db, export
from felab.store.models import Base, Exposure, Room, SeatRow, TurnTime
from felab.web.errors import Invalid

from .conftest import Browser, _judge, _key, add_experiment, open_room


def test_migrations_make_the_models_schema_and_undo_it(db_url):
    db.upgrade(db_url)
    engine = db.make_engine(db_url)
    try:
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as c:
            assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
        db.downgrade(db_url, "base")
        assert db.table_names(engine) <= {"alembic_version"}
        db.upgrade(db_url)
        assert set(Base.metadata.tables) <= db.table_names(engine)
    finally:
        engine.dispose()


def test_database_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert db.database_url(None) == f"sqlite:///{tmp_path / 'felab.db'}"
    assert db.database_url("study.db") == f"sqlite:///{tmp_path / 'study.db'}"
    assert db.database_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    for bad in ("nosuch://x", "postgresql+nosuchdriver://u@h/d"):
        with pytest.raises(db.StoreError, match="cannot open database"):
            db.make_engine(bad)
    with pytest.raises(db.StoreError, match="cannot open the database"):
        db.upgrade("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_a_refused_room_leaves_nothing(study):
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "debate_sequential")
    q = study["items"][0][1][0]
    open_room(app, exp, q.id, {"judge": ids["ann"], "expert0": ids["bob"], "expert1": ids["cat"]})
    # the room row, its first seats and exposures are written before the judge seat is refused (bob read it)
    with pytest.raises(Invalid, match="cannot judge"):
        open_room(app, exp, study["items"][0][1][1].id, {"expert0": ids["dan"], "expert1": ids["cat"],
                                                         "judge": ids["bob"]})
    with app.state.db() as s:
        assert s.scalar(select(func.count()).select_from(Room)) == 1
        assert s.scalar(select(func.count()).select_from(SeatRow)) == 3
        assert s.scalar(select(func.count()).select_from(Exposure)) == 3


def test_simultaneous_submits_to_one_room_both_land(study):
    """Two experts submit at the same moment many times over: every speech is recorded once, none lost (the
    room's version makes the later writer retry on the new state)."""
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "debate_simultaneous")
    done = 0
    for k, (doc, qs) in enumerate(study["items"][:3]):
        room = open_room(app, exp, qs[0].id, {"judge": ids["ann"], "expert0": ids["bob"], "expert1": ids["cat"]})
        judge, e0, e1 = (Browser(app).login(n) for n in ("ann", "bob", "cat"))
        assert _judge(judge, room, 50, "continue").status_code == 303
        forms = [(e, _key(e.get(f"/rooms/{room}").text)) for e in (e0, e1)]
        barrier, results = threading.Barrier(2), []

        def send(e, key, n):
            barrier.wait()
            results.append(e.post(f"/rooms/{room}/speech", {"text": f"speech {n} of room {room}", "key": key})
                           .status_code)

        threads = [threading.Thread(target=send, args=(e, key, n)) for n, (e, key) in enumerate(forms)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [303, 303]
        with app.state.db() as s:
            game = Game.from_json(s.get(Room, room).game_json)
        speeches = [t for t in game.turns if t.kind == "speech"]
        assert sorted(t.role for t in speeches) == ["expert0", "expert1"] and all(t.revealed for t in speeches)
        done += 1
    assert done == 3


def test_export_is_the_labs_jsonl_with_sub_games_and_times(study):
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "ought_fe", quote_checks=2, pool=[ids["dan"]])
    doc, qs = study["items"][2]
    q = qs[0]
    room = open_room(app, exp, q.id, {"judge": ids["ann"], "expert0": ids["honest"], "expert1": ids["malicious"]})
    ann, dan = Browser(app).login("ann"), Browser(app).login("dan")
    ann.post(f"/rooms/{room}/quote-check", {"text": " ".join(doc.text.split()[:8])})
    assert _judge(ann, room, 50, "ask", subquestions=q.subquestions[0].text).status_code == 303
    with app.state.db() as s:
        child = s.scalar(select(Room.id).where(Room.parent_id == room))
    assert _judge(dan, child, 90, "end").status_code == 303
    assert _judge(ann, room, 70, "end").status_code == 303
    fac = Browser(app).login("fac")
    r = fac.get("/admin/export.jsonl")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    recs = [json.loads(line) for line in r.text.splitlines()]
    kinds = [x["kind"] for x in recs]
    assert kinds == sorted(kinds, key=("document", "question", "game").index)
    assert kinds.count("document") == len(study["items"]) and kinds.count("game") == 1
    game = Game.from_dict({k: v for k, v in recs[-1].items() if k != "kind"})
    assert game.outcome is not None and len(game.children) == 1
    web = game.meta["web"]
    assert web["room"] == room and web["seats"]["judge"] == {"participant": "ann", "kind": "human"}
    assert len(web["turn_times"]) == len(game.turns) and web["quote_checks"][0]["verified"] is True
    assert game.children[0].meta["web"]["seats"]["judge"]["participant"] == "dan"
    assert "password" not in r.text and "scrypt" not in r.text
    with app.state.db() as s:
        assert "".join(export.lines(s)) == r.text
        assert s.scalar(select(func.count()).select_from(TurnTime)) >= len(game.turns)


def test_export_feeds_the_labs_readers(study, tmp_path):
    """The export's documents and questions read back with the lab's JSONL conventions, and every game record
    loads as a Game whose question matches its question record."""
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "debate_sequential")
    doc, qs = study["items"][0]
    room = open_room(app, exp, qs[0].id, {"judge": ids["weigher"], "expert0": ids["honest"],
                                          "expert1": ids["malicious"]})
    with app.state.db() as s:
        text = "".join(export.lines(s))
        assert s.get(Room, room).status == "ended"  # agents alone play to the end at once
    recs = [json.loads(line) for line in text.splitlines()]
    questions = {r["id"]: r for r in recs if r["kind"] == "question"}
    games = [Game.from_dict({k: v for k, v in r.items() if k != "kind"}) for r in recs if r["kind"] == "game"]
    assert len(games) == 1 and games[0].question.to_dict() == {k: v for k, v in questions[qs[0].id].items()
                                                               if k != "kind"}
    assert games[0].correct is not None
