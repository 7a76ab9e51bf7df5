"""Under load: 20 rooms at once on 127.0.0.1, each with three scripted participants (a judge and two experts)
playing a sequential debate over HTTP as browsers would (sign in, load the room, send the form with its CSRF
token and move key). Bounded: at most ``MAX_POLLS`` page loads per room and ``DEADLINE`` seconds; it stops by
itself. Asserts no lost turn (every accepted move is in the game record, in order) and no error (no 5xx, no
refused move); prints the rooms, turns and request latencies (p50/p95/max), and writes them to
$FELAB_LOAD_REPORT when set.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import threading
import time

import pytest

from .conftest import PASSWORD, _game, add_experiment, add_people, add_worlds, open_room

pytestmark = pytest.mark.slow

ROOMS = 20
MAX_POLLS = 400
DEADLINE = 240.0
_KEY = re.compile(r'name="key" value="([^"]*)"')
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Participant:
    def __init__(self, base: str, username: str, latencies: list, errors: list):
        import httpx

        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30.0)
        self.username, self.latencies, self.errors = username, latencies, errors
        self.csrf = None

    def request(self, method: str, url: str, **kw):
        t = time.perf_counter()
        r = self.http.request(method, url, **kw)
        self.latencies.append(time.perf_counter() - t)
        if r.status_code >= 500 or r.status_code in (403, 409, 422):
            self.errors.append(f"{self.username} {method} {url}: {r.status_code}")
        m = _CSRF.search(r.text)
        if m:
            self.csrf = m.group(1)
        return r

    def login(self):
        self.request("GET", "/login")
        r = self.request("POST", "/login", data={"username": self.username, "password": PASSWORD,
                                                 "csrf": self.csrf})
        assert r.status_code == 303, r.text

    def close(self):
        self.http.close()


def _play(room: int, judge, experts, moves: list, latencies: list, errors: list, stop: float):
    """One room's loop (an exception is an error of the test, not a silently dead thread)."""
    try:
        _moves(room, judge, experts, moves, errors, stop)
    except Exception as e:  # noqa: BLE001 - reported as the room's error
        errors.append(f"room {room}: {type(e).__name__}: {e}")


def _moves(room: int, judge, experts, moves: list, errors: list, stop: float):
    """Whoever has a form sends a move; the judge continues twice, then ends."""
    judged = 0
    for _ in range(MAX_POLLS):
        if time.monotonic() > stop:
            errors.append(f"room {room}: deadline")
            return
        for p in (judge, *experts):
            page = p.request("GET", f"/rooms/{room}")
            if "The game is over" in page.text and p is judge:
                return
            key = _KEY.search(page.text)
            if not key:
                continue
            if p is judge:
                decision = "end" if judged >= 3 else "continue"
                data = {"p_a": 60, "p_b": 40, "decision": decision, "key": key.group(1), "csrf": p.csrf}
                r = p.request("POST", f"/rooms/{room}/judgment", data=data)
                judged += 1
            else:
                data = {"text": f"{p.username} argues in room {room}, move {len(moves)}.", "key": key.group(1),
                        "csrf": p.csrf}
                r = p.request("POST", f"/rooms/{room}/speech", data=data)
            if r.status_code == 303:
                moves.append(p.username)
    errors.append(f"room {room}: more than {MAX_POLLS} polls")


def test_twenty_rooms_at_once(server):
    app, base = server
    names = [f"p{i:02d}" for i in range(3 * ROOMS)]
    add_people(app, ["fac"], facilitator=True)
    ids = add_people(app, names)
    items = add_worlds(app, ROOMS, seed=3)
    questions = [q for _, qs in items for q in qs][:ROOMS]
    exp = add_experiment(app, "debate_sequential")
    rooms = []
    for k, q in enumerate(questions):
        j, a, b = names[3 * k:3 * k + 3]
        rooms.append((open_room(app, exp, q.id, {"judge": ids[j], "expert0": ids[a], "expert1": ids[b]}), j, a, b))
    latencies: list[float] = []
    errors: list[str] = []
    moves = {room: [] for room, *_ in rooms}
    people = {n: Participant(base, n, latencies, errors) for n in names}
    for p in people.values():
        p.login()
    latencies.clear()
    stop = time.monotonic() + DEADLINE
    start = time.perf_counter()
    threads = [threading.Thread(target=_play, args=(room, people[j], (people[a], people[b]), moves[room],
                                                    latencies, errors, stop))
               for room, j, a, b in rooms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE + 30)
    wall = time.perf_counter() - start
    for p in people.values():
        p.close()
    assert not errors, errors[:5]
    turns = 0
    for room, j, a, b in rooms:
        game = _game(app, room)
        assert game.outcome is not None, f"room {room} did not end"
        recorded = [{"judge": j, "expert0": a, "expert1": b}[t.role] for t in game.turns]
        assert recorded == moves[room], f"room {room}: accepted moves {moves[room]} but recorded {recorded}"
        turns += len(game.turns)
    q = statistics.quantiles(latencies, n=100)
    report = {"rooms": ROOMS, "participants": len(names), "turns": turns, "requests": len(latencies),
              "wall_s": round(wall, 2), "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1),
              "max_ms": round(max(latencies) * 1000, 1), "errors": len(errors)}
    print("\nload:", json.dumps(report))
    if os.environ.get("FELAB_LOAD_REPORT"):
        with open(os.environ["FELAB_LOAD_REPORT"], "w") as f:
            json.dump(report, f, indent=1)
    assert turns == ROOMS * 10  # the prior, then three rounds of two speeches and a judgment
