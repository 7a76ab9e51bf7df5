"""Rooms through HTTP: people and agents play the lab's protocols; moves are checked, stale forms and bad input
refused with a message and nothing written; factored evaluation's sub-questions open child rooms for new judges."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from felab.store.models import Exposure, Room, TurnTime

from .conftest import Browser, _game, _judge, _key, _speak, add_experiment, open_room


def _debate(study, protocol="debate_simultaneous"):
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, protocol)
    doc, qs = study["items"][0]
    room = open_room(app, exp, qs[0].id, {"judge": ids["ann"], "expert0": ids["bob"], "expert1": ids["cat"]})
    return app, room, doc, qs[0]


def test_three_people_finish_a_simultaneous_debate(study):
    app, room, doc, q = _debate(study)
    judge, e0, e1 = (Browser(app).login(n) for n in ("ann", "bob", "cat"))
    assert _judge(judge, room, 50, "continue").status_code == 303  # the judge's prior
    span = q.support[0]
    assert _speak(e0, room, f"It is so: <<{span[0]}-{span[1]}>>").status_code == 303
    # the first speech is in, the second not: the judge sees neither (NYU #17)
    page = judge.get(f"/rooms/{room}").text
    assert "It is so" not in page and "your move" not in page.lower()
    assert _speak(e1, room, "I say the other answer, <quote>invented words not in the story at all</quote>.") \
        .status_code == 303
    page = judge.get(f"/rooms/{room}").text
    assert "It is so" in page and 'class="v"' in page and 'class="u"' in page
    assert _judge(judge, room, 80, "end").status_code == 303
    game = _game(app, room)
    assert game.outcome is not None and game.accepted is not None
    assert [t.kind for t in game.turns] == ["judgment", "speech", "speech", "judgment"]
    with app.state.db() as s:
        times = s.scalars(select(TurnTime).where(TurnTime.room_id == room).order_by(TurnTime.idx)).all()
        assert len(times) == 4 and all(t.revealed_at is not None for t in times)
        assert s.get(Room, room).status == "ended"
    assert "The game is over" in judge.get(f"/rooms/{room}").text


def test_a_stale_form_is_refused_and_writes_nothing(study):
    app, room, *_ = _debate(study, "debate_sequential")
    judge, e0, e1 = (Browser(app).login(n) for n in ("ann", "bob", "cat"))
    old = judge.get(f"/rooms/{room}").text
    assert _judge(judge, room, 50, "continue").status_code == 303
    r = judge.post(f"/rooms/{room}/judgment", {"p_a": 60, "p_b": 40, "decision": "continue", "key": _key(old)})
    assert r.status_code == 409  # the experts' move now
    assert _speak(e0, room, "One.").status_code == 303 and _speak(e1, room, "Two.").status_code == 303
    before = _game(app, room)
    # the judge's move again, but the old form (a second tab, the back button) was made for the first one
    r = judge.post(f"/rooms/{room}/judgment", {"p_a": 60, "p_b": 40, "decision": "end", "key": _key(old)})
    assert r.status_code == 409 and "reload" in r.text
    assert _game(app, room) == before


def test_bad_input_is_one_message_and_nothing_written(study):
    app, room, doc, q = _debate(study, "debate_sequential")
    judge, e0 = Browser(app).login("ann"), Browser(app).login("bob")
    r = _judge(judge, room, 70, "continue", p_b=70)
    assert r.status_code == 422 and "add up to 100" in r.text and "70 + 70 = 140" in r.text
    assert _game(app, room).turns == ()
    assert _judge(judge, room, 50, "continue").status_code == 303
    before = _game(app, room)
    r = _speak(e0, room, f"Out of bounds: <<0-{len(doc.text) + 5}>>")
    assert r.status_code == 422 and "outside the document" in r.text
    r = _speak(e0, room, "x" * 800)
    assert r.status_code == 422 and "800 characters" in r.text and "750" in r.text
    r = _speak(e0, room, "y" * 30_000)
    assert r.status_code == 422 and "30,000" in r.text
    assert "y" * 100 in r.text  # the draft is kept for the expert to shorten
    assert _game(app, room) == before


def test_people_cannot_read_or_act_in_other_rooms(study):
    app, room, *_ = _debate(study)
    dan = Browser(app).login("dan")
    for url in (f"/rooms/{room}", f"/rooms/{room}/transcript", f"/rooms/{room}/events?once=1"):
        assert dan.get(url).status_code == 403, url
    for url, data in ((f"/rooms/{room}/judgment", {"p_a": 50, "p_b": 50}), (f"/rooms/{room}/speech", {"text": "x"}),
                      (f"/rooms/{room}/preview", {"text": "x"}), (f"/rooms/{room}/quote-check", {"text": "a b c d e"})):
        assert dan.post(url, data).status_code == 403, url
    assert Browser(app).client.get(f"/rooms/{room}").status_code == 303  # signed out: to the sign-in page
    for url in ("/admin", "/admin/exposures", "/admin/export.jsonl"):
        assert dan.get(url).status_code == 403, url


def test_forms_without_the_csrf_token_are_refused(study):
    app, room, *_ = _debate(study)
    judge = Browser(app).login("ann")
    page = judge.get(f"/rooms/{room}").text
    for token in (None, "forged"):
        data = {"p_a": 50, "p_b": 50, "decision": "continue", "key": _key(page)}
        if token:
            data["csrf"] = token
        r = judge.post(f"/rooms/{room}/judgment", data, csrf=False)
        assert r.status_code == 403 and "CSRF" in r.text
    assert _game(app, room).turns == ()


def test_a_person_judges_two_agent_experts(study):
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "debate_sequential")
    doc, qs = study["items"][1]
    room = open_room(app, exp, qs[0].id, {"judge": ids["ann"], "expert0": ids["honest"], "expert1": ids["malicious"]})
    judge = Browser(app).login("ann")
    assert _judge(judge, room, 50, "continue").status_code == 303
    page = judge.get(f"/rooms/{room}").text  # both agents have spoken at once
    assert page.count('class="turn speech"') == 2 and "Your move" in page
    assert _judge(judge, room, 30, "end").status_code == 303
    assert _game(app, room).outcome is not None


def test_factored_evaluation_subquestion_goes_to_a_new_judge(study):
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "ought_fe", pool=[ids["ann"], ids["dan"]])
    doc, qs = study["items"][2]
    q = qs[0]
    room = open_room(app, exp, q.id, {"judge": ids["ann"], "expert0": ids["honest"], "expert1": ids["malicious"]})
    ann, dan = Browser(app).login("ann"), Browser(app).login("dan")
    sub = q.subquestions[0].text if q.subquestions else "Who did it?"
    assert _judge(ann, room, 50, "ask", subquestions=sub).status_code == 303
    page = ann.get(f"/rooms/{room}").text
    assert "being answered by other judges" in page
    with app.state.db() as s:
        child = s.scalar(select(Room).where(Room.parent_id == room))
        assert child is not None and child.depth == 1
        judge_seat = next(x for x in child.seats if x.role == "judge")
        assert judge_seat.participant_id == ids["dan"]  # ann judged the parent: the pool's next eligible judge
    child_page = dan.get(f"/rooms/{child.id}").text
    assert sub.split()[0] in child_page and "A1 or A2" in child_page
    assert ann.get(f"/rooms/{child.id}").status_code == 403  # the parent's judge cannot read the sub-game
    assert _judge(dan, child.id, 90, "end").status_code == 303
    page = ann.get(f"/rooms/{room}").text
    assert "Accepted answer" in page and "Your move" in page
    assert _judge(ann, room, 70, "end").status_code == 303
    game = _game(app, room)
    assert game.outcome is not None and len(game.children) == 1 and game.children[0].outcome is not None


def test_exposure_rules_refuse_a_judge_who_read_the_story(study):
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "debate_sequential")
    doc, qs = study["items"][0]
    open_room(app, exp, qs[0].id, {"judge": ids["ann"], "expert0": ids["bob"], "expert1": ids["cat"]})
    fac = Browser(app).login("fac")
    page = fac.get(f"/admin/experiments/{exp}").text
    for judge, why in (("bob", "read_as_expert"), ("ann", "judged")):
        r = fac.post(f"/admin/experiments/{exp}/rooms", {"question_id": qs[1].id, "judge": ids[judge],
                                                         "expert0": ids["dan"], "expert1": ids["honest"]})
        assert r.status_code == 422 and why in r.text, (judge, r.text)
    with app.state.db() as s:
        assert s.scalar(select(func.count()).select_from(Room)) == 1
        assert s.scalar(select(func.count()).select_from(Exposure)) == 3
    r = fac.post(f"/admin/experiments/{exp}/rooms", {"question_id": qs[1].id, "judge": ids["dan"],
                                                     "expert0": ids["bob"], "expert1": ids["honest"]})
    assert r.status_code == 303, r.text
    table = fac.get("/admin/exposures").text
    assert "read_as_expert" in table and "judged" in table and page


def test_simultaneous_speeches_may_come_in_either_order(study):
    """The engine takes a simultaneous round in seat order; people write at once: the second seat's speech,
    sent first, is held (invisible to the judge, no event) until the first seat's arrives."""
    app, room, doc, q = _debate(study)
    judge, e0, e1 = (Browser(app).login(n) for n in ("ann", "bob", "cat"))
    assert _judge(judge, room, 50, "continue").status_code == 303
    before = judge.get(f"/rooms/{room}/transcript").text
    assert _speak(e1, room, "The second seat speaks first.").status_code == 303
    assert "shown to the others when the round is complete" in e1.get(f"/rooms/{room}").text
    assert 'name="key"' not in e1.get(f"/rooms/{room}").text  # no second speech in the same round
    assert judge.get(f"/rooms/{room}/transcript").text == before
    assert "speaks first" not in e0.get(f"/rooms/{room}").text  # nor does the other expert see it
    assert _speak(e0, room, "The first seat speaks second.").status_code == 303
    game = _game(app, room)
    assert [(t.role, t.revealed) for t in game.turns if t.kind == "speech"] == [("expert0", True), ("expert1", True)]
    page = judge.get(f"/rooms/{room}").text
    assert "speaks first" in page and "speaks second" in page
    with app.state.db() as s:
        times = {t.role: t.submitted_at for t in s.scalars(select(TurnTime).where(TurnTime.room_id == room))
                 if t.role.startswith("expert")}
    assert times["expert1"] < times["expert0"]  # the held speech keeps its own time (for the researcher)


def test_the_facilitator_runs_a_study_through_the_pages(app, tmp_path):
    from .conftest import add_people

    add_people(app, ["fac"], facilitator=True)
    fac = Browser(app).login("fac")
    assert fac.get("/admin").status_code == 200
    assert fac.post("/admin/import/synthetic", {"n_questions": 6, "seed": 4}).status_code == 303
    line = ('{"document": {"id": "mine", "title": "Mine", "text": "Ada built the red boat. Bo sailed it."}, '
            '"questions": [{"id": "mine-q", "text": "Who built the boat?", "options": ["Ada", "Bo"], '
            '"correct_index": 0}]}\n')
    r = fac.post("/admin/import/jsonl", files={"file": ("mine.jsonl", line.encode())})
    assert r.status_code == 303, r.text
    r = fac.post("/admin/import/jsonl", files={"file": ("bad.jsonl", b'{"document": {"id": "x"}}\n')})
    assert r.status_code == 422 and "bad.jsonl:1" in r.text and "/tmp" not in r.text
    for who in ("ann", "bob", "cat", "dan"):
        assert fac.post("/admin/participants", {"kind": "human", "username": who,
                                                "password": "long enough pw"}).status_code == 303
    assert fac.post("/admin/participants", {"kind": "human", "username": "ann",
                                            "password": "long enough pw"}).status_code == 422
    assert fac.post("/admin/participants", {"kind": "agent", "username": "h", "agent": "honest"}).status_code == 303
    r = fac.post("/admin/participants", {"kind": "agent", "username": "m", "agent": "malicious", "params": "{nope"})
    assert r.status_code == 422 and "not JSON" in r.text
    r = fac.post("/admin/participants", {"kind": "agent", "username": "z", "agent": "nosuch"})
    assert r.status_code == 422 and "unknown agent" in r.text
    assert fac.post("/admin/participants", {"kind": "agent", "username": "m", "agent": "malicious"}).status_code == 303
    assert fac.post("/admin/experiments", {"name": "x", "protocol": "nosuch"}).status_code == 422
    r = fac.post("/admin/experiments", {"name": "FE study", "protocol": "ought_fe", "quote_checks": 2})
    assert r.status_code == 303
    exp_url = r.headers["location"]
    page = fac.get(exp_url).text
    assert "mine-q" in page and 'id="seat-expert1"' in page
    people = dict(re.findall(r'<option value="(\d+)">(\w+) \(', page))
    by_name = {v: k for k, v in people.items()}
    exp_id = int(exp_url.rsplit("/", 1)[1])
    assert fac.post(f"{exp_url}/pool", {"pool": [by_name["dan"]]}).status_code == 303
    synthetic_q = next(v for v in re.findall(r'<option value="([^"]+)">[^<]*\?', page) if v != "mine-q")
    r = fac.post(f"{exp_url}/rooms", {"question_id": synthetic_q, "judge": by_name["ann"], "expert0": by_name["h"],
                                      "expert1": by_name["m"]})
    assert r.status_code == 303, r.text
    r = fac.post(f"{exp_url}/rooms", {"question_id": "mine-q", "judge": by_name["cat"], "expert0": by_name["h"]})
    assert r.status_code == 422 and "expert1" in r.text
    ann = Browser(app).login("ann", "long enough pw")
    room = int(re.search(r'href="/rooms/(\d+)"', ann.get("/").text).group(1))
    assert _judge(ann, room, 50, "ask", subquestions="Who sailed the boat?").status_code == 303
    assert "dan" in fac.get(exp_url).text  # the pool's judge took the sub-game
    export = fac.get("/admin/export.jsonl").text
    assert '"id": "mine"' in export and exp_id


def test_the_judges_event_stream_says_nothing_of_an_unrevealed_speech(study):
    """The stream sends an event only when the viewer's rendering changes: an expert's speech still hidden in a
    simultaneous round leaves the judge's rendering, and so the judge's stream, exactly as it was."""
    app, room, doc, q = _debate(study)
    judge, e0, e1 = (Browser(app).login(n) for n in ("ann", "bob", "cat"))
    assert _judge(judge, room, 50, "continue").status_code == 303
    before = judge.get(f"/rooms/{room}/events?once=1")
    assert before.headers["content-type"].startswith("text/event-stream") and "event: update" in before.text
    expert_before = e1.get(f"/rooms/{room}/events?once=1").text
    assert _speak(e0, room, "A speech the judge must not hear of yet.").status_code == 303
    assert judge.get(f"/rooms/{room}/events?once=1").text == before.text
    assert e1.get(f"/rooms/{room}/events?once=1").text == expert_before  # nor the other expert
    assert _speak(e1, room, "The second speech.").status_code == 303
    after = judge.get(f"/rooms/{room}/events?once=1").text
    assert after != before.text and "must not hear of yet" in after
