"""The leak test (the spec's 4.7): walk every judge-facing route and event stream as a judge, at every state of a
game, in every information-hiding protocol the web runs, at every depth of factored evaluation; no word 8-gram
of the document may appear anywhere in a response (text or attribute) outside a verified quote (``<q class="v">``),
and in a protocol with a reading budget the distinct verified quotes shown stay within it.

The experts try to leak: a person pastes a whole passage as plain text, types a long passage inside <quote>
tags, and picks spans; agents cite their sentences. What reaches the judge is only what the lab's engine and
``judge_view`` let through.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from felab.protocols import rules
from felab.text import words

from .conftest import Browser, add_experiment, open_room

N = 8
# every protocol the web runs where the judge must not read the document (oracle_judge shows it by design;
# claim trees need a fresh judge per step, which the web does not seat yet)
HIDING = [p for p in rules.presets() if p not in ("oracle_judge", "claim_tree")]


class _Outside(HTMLParser):
    """Collects a page's text and attribute values outside <q class="v"> elements, and the verified quotes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.outside: list[str] = []
        self.quotes: list[str] = []
        self._depth = 0  # >0 inside a verified quote

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._depth:
            self._depth += tag == "q"
            return
        if tag == "q" and (a.get("class") or "").split() == ["v"]:
            self._depth = 1
            self.quotes.append("")
            return
        self.outside.extend(v for _, v in attrs if v)

    def handle_endtag(self, tag):
        if self._depth and tag == "q":
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.quotes[-1] += data
        else:
            self.outside.append(data)


def _grams(text: str) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i:i + N]) for i in range(len(w) - N + 1)}


def leaks(doc: str, html: str) -> list[str]:
    """The document's 8-word runs found outside verified quotes in ``html`` (an SSE body is read as HTML)."""
    html = re.sub(r"^(data|event|retry|id): ?", "", html, flags=re.M)
    p = _Outside()
    p.feed(html)
    outside = "\n".join(p.outside)
    return sorted(" ".join(g) for g in _grams(doc) & _grams(outside))


def verified_shown(html: str) -> set[str]:
    p = _Outside()
    p.feed(html)
    return set(p.quotes)


def test_the_detector_finds_a_pasted_passage_and_spares_verified_quotes(worlds):
    doc = worlds[0][0].text
    passage = " ".join(doc.split()[10:30])
    assert leaks(doc, f"<p>{passage}</p>")
    assert leaks(doc, f'<span title="{passage}">x</span>')
    assert leaks(doc, f"event: update\ndata: <div>{passage}</div>\n\n")
    assert not leaks(doc, f'<p>The expert said <q class="v">{passage}</q>.</p>')
    assert leaks(doc, f'<p><q class="u">{passage}</q></p>')  # an unverified quote is no exemption


class Walk:
    """Fetches every judge-facing surface of a room for one judge and checks each for leaks."""

    def __init__(self, judge: Browser, doc: str, budget: int | None):
        self.judge, self.doc, self.budget = judge, doc, budget
        self.surfaces = 0
        self.routes: set[str] = set()

    def check(self, route: str, html: str):
        found = leaks(self.doc, html)
        assert not found, f"{route} shows the document outside verified quotes: {found[:3]}"
        if self.budget is not None:
            shown = sum(len(q) for q in verified_shown(html))
            assert shown <= self.budget, f"{route} shows {shown} quoted characters, over the budget {self.budget}"
        self.surfaces += 1
        self.routes.add(re.sub(r"\d+", "N", route))

    def room(self, room: int, quote_checks: bool):
        j = self.judge
        for url in (f"/rooms/{room}", f"/rooms/{room}/transcript", f"/rooms/{room}/events?once=1", "/"):
            r = j.get(url)
            assert r.status_code == 200, (url, r.status_code)
            self.check(url, r.text)
        page = j.get(f"/rooms/{room}").text
        key = re.search(r'name="key" value="([^"]*)"', page)
        if key:  # a refused judgment re-renders the room: walk that page too
            r = j.post(f"/rooms/{room}/judgment", {"p_a": 90, "p_b": 90, "decision": "end", "key": key.group(1)})
            assert r.status_code == 422
            self.check(f"POST /rooms/{room}/judgment (refused)", r.text)
        r = j.post(f"/rooms/{room}/preview", {"text": self.doc[:400]})
        assert r.status_code == 403
        self.check(f"POST /rooms/{room}/preview (refused)", r.text)
        if quote_checks:
            for text in ("the moon is made of green cheese today", self.doc.split(".")[0]):
                r = j.post(f"/rooms/{room}/quote-check", {"text": text})
                self.check(f"POST /rooms/{room}/quote-check", r.text)


def _expert_moves(b: Browser, room: int, doc: str, i: int) -> bool:
    """A person's leaking attempt for the move due, if it is theirs: plain pasted text, a long typed quote and a
    span. Returns whether a move was made."""
    page = b.get(f"/rooms/{room}").text
    key = re.search(r'name="key" value="([^"]*)"', page)
    if not key:
        return False
    a = 40 * i % max(len(doc) - 600, 1)
    pasted, typed = doc[a:a + 220], doc[a + 220:a + 420]
    text = f"Read this: {pasted} and <quote>{typed}</quote> and <<{a + 420}-{a + 470}>>"[:700]
    r = b.post(f"/rooms/{room}/speech", {"text": text, "key": key.group(1), "answer": "my answer"})
    if r.status_code == 422:  # over a quote limit: say less, still trying to paste
        r = b.post(f"/rooms/{room}/speech", {"text": f"Plainly: {doc[a:a + 120]}", "key": key.group(1),
                                             "answer": "my answer"})
    assert r.status_code == 303, r.text
    return True


@pytest.mark.parametrize("protocol", HIDING)
def test_no_judge_facing_route_leaks_the_document(study, protocol):
    app, ids = study["app"], study["ids"]
    p = rules.load(protocol)
    doc, qs = study["items"][3]
    q = qs[0]
    if p.experts == "honest_malicious":
        seats = {"judge": ids["ann"], "expert0": ids["honest"], "expert1": ids["malicious"]}
    else:
        seats = {r: ids[n] for r, n in (("judge", "ann"), ("expert0", "bob"), ("expert1", "cat"))
                 if r in _roles(p)}
    exp = add_experiment(app, protocol, quote_checks=3, pool=[ids["dan"]])
    room = open_room(app, exp, q.id, seats, seed=1)
    judge = Browser(app).login("ann")
    experts = [Browser(app).login(n) for n in ("bob", "cat") if ids[n] in seats.values()]
    walk = Walk(judge, doc.text, p.judge_budget)
    asked = False
    for step in range(40):
        walk.room(room, quote_checks=True)
        moved = any(_expert_moves(e, room, doc.text, step) for e in experts)
        page = judge.get(f"/rooms/{room}").text
        if "The game is over" in page:
            break
        key = re.search(r'name="key" value="([^"]*)"', page)
        if key and not moved:
            if p.factored and not asked:
                sub = q.subquestions[0].text if q.subquestions else "Who did it?"
                r = judge.post(f"/rooms/{room}/judgment", {"p_a": 50, "p_b": 50, "decision": "ask",
                                                           "subquestions": sub, "key": key.group(1)})
                asked = True
                assert r.status_code == 303, r.text
                walk.room(room, quote_checks=False)  # waiting for the sub-game
                child_walk = Walk(Browser(app).login("dan"), doc.text, p.judge_budget)
                child = _child(app, room)
                for _ in range(10):
                    child_walk.room(child, quote_checks=True)
                    cpage = child_walk.judge.get(f"/rooms/{child}").text
                    if "The game is over" in cpage:
                        break
                    ckey = re.search(r'name="key" value="([^"]*)"', cpage)
                    child_walk.judge.post(f"/rooms/{child}/judgment", {"p_a": 80, "p_b": 20, "decision": "end",
                                                                      "key": ckey.group(1)})
                assert child_walk.surfaces > 0
                walk.surfaces += child_walk.surfaces
                continue
            decision = "continue" if step < 3 else "end"
            r = judge.post(f"/rooms/{room}/judgment", {"p_a": 60, "p_b": 40, "decision": decision,
                                                       "key": key.group(1)})
            assert r.status_code == 303, r.text
    else:
        pytest.fail("the game did not end within 40 steps")
    walk.room(room, quote_checks=False)  # the finished game, answer revealed
    assert {"/rooms/N", "/rooms/N/transcript", "/rooms/N/events?once=N", "/"} <= walk.routes
    assert walk.surfaces >= 8


def _roles(p):
    from felab.web.rooms import roles_of

    return roles_of(p)


def _child(app, room):
    from sqlalchemy import select

    from felab.store.models import Room

    with app.state.db() as s:
        return s.scalar(select(Room.id).where(Room.parent_id == room))
