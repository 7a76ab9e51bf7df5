"""Passwords, sessions, CSRF, quote-check limits, escaping, and the vendored front end."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy import func, select

import felab.web
from felab.store.models import Participant, QuoteCheck
from felab.web import security

from .conftest import Browser, add_experiment, add_people, open_room

STATIC = Path(felab.web.__file__).parent / "static"
TEMPLATES = Path(felab.web.__file__).parent / "templates"


def test_passwords_are_scrypt_hashed_and_checked():
    h = security.hash_password("s3cret-words")
    assert h.startswith("scrypt$") and "s3cret" not in h
    assert security.check_password("s3cret-words", h)
    assert not security.check_password("s3cret-word", h)
    assert security.hash_password("s3cret-words") != h  # salted
    for bad in (None, "", "md5$x", "scrypt$1$2", "scrypt$16384$8$1$zz$zz"):
        assert not security.check_password("s3cret-words", bad)


def test_rate_limiter_window():
    t = [0.0]
    rl = security.RateLimiter(2, 60.0, clock=lambda: t[0])
    assert rl.allow("a") and rl.allow("a") and not rl.allow("a") and rl.allow("b")
    t[0] = 61.0
    assert rl.allow("a")


def test_sign_in_sessions_and_a_tampered_cookie(app):
    add_people(app, ["fac"], facilitator=True)
    add_people(app, ["ann"])
    b = Browser(app)
    b.get("/login")
    r = b.post("/login", {"username": "ann", "password": "wrong password"})
    assert r.status_code == 401 and "wrong password" in r.text
    b.login("ann")
    assert b.get("/").status_code == 200
    cookie = b.client.cookies.get("felab_session")
    assert cookie and "ann" not in cookie
    b.client.cookies.clear()
    b.client.cookies.set("felab_session", cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB"))
    assert b.get("/").status_code == 303  # a cookie that fails the signature is no session
    with app.state.db() as s:
        stored = s.scalar(select(Participant.password_hash).where(Participant.username == "ann"))
    assert stored.startswith("scrypt$")


def test_first_facilitator_only_once(app):
    b = Browser(app)
    assert b.get("/login").headers["location"] == "/setup"
    assert b.get("/setup").status_code == 200
    r = b.post("/setup", {"username": "fac", "password": "short"})
    assert r.status_code == 422 and "8 characters" in r.text
    assert b.post("/setup", {"username": "fac", "password": "long enough pw"}).status_code == 303
    other = Browser(app)
    assert other.get("/setup").headers["location"] == "/login"
    other.get("/login")
    assert other.post("/setup", {"username": "evil", "password": "long enough pw"}).status_code == 403
    assert b.get("/admin").status_code == 200


def test_quote_checks_are_limited_and_logged(study):
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "ought_fe", quote_checks=2)
    doc, qs = study["items"][0]
    room = open_room(app, exp, qs[0].id, {"judge": ids["ann"], "expert0": ids["honest"], "expert1": ids["malicious"]})
    ann = Browser(app).login("ann")
    app.state.quote_limiter = security.RateLimiter(100, 60.0)  # the room's allowance first
    r = ann.post(f"/rooms/{room}/quote-check", {"text": "too short"})
    assert r.status_code == 422 and "5 or more words" in r.text
    sentence = doc.text.split(".")[0]
    r = ann.post(f"/rooms/{room}/quote-check", {"text": sentence.upper()})  # normalised match
    assert r.status_code == 200 and "Found in the text" in r.text and 'class="v"' in r.text
    r = ann.post(f"/rooms/{room}/quote-check", {"text": "the moon is made of green cheese"})
    assert r.status_code == 200 and "Not found" in r.text
    r = ann.post(f"/rooms/{room}/quote-check", {"text": sentence})
    assert r.status_code == 429 and "all 2 quote checks" in r.text
    # then the per-minute rate, which stops probing across rooms too
    app.state.quote_limiter = security.RateLimiter(1, 60.0)
    ann.post(f"/rooms/{room}/quote-check", {"text": sentence})
    r = ann.post(f"/rooms/{room}/quote-check", {"text": sentence})
    assert r.status_code == 429 and "last minute" in r.text
    with app.state.db() as s:
        assert s.scalar(select(func.count()).select_from(QuoteCheck)) == 2
    bob = Browser(app).login("bob")
    assert bob.post(f"/rooms/{room}/quote-check", {"text": sentence}).status_code == 403


def test_what_people_write_is_escaped(study):
    app, ids = study["app"], study["ids"]
    exp = add_experiment(app, "debate_sequential")
    q = study["items"][0][1][0]
    room = open_room(app, exp, q.id, {"judge": ids["ann"], "expert0": ids["bob"], "expert1": ids["cat"]})
    ann, bob = Browser(app).login("ann"), Browser(app).login("bob")
    page = ann.get(f"/rooms/{room}").text
    key = re.search(r'name="key" value="([^"]*)"', page).group(1)
    ann.post(f"/rooms/{room}/judgment", {"p_a": 50, "p_b": 50, "decision": "continue", "key": key,
                                         "explanation": "<script>alert(1)</script>"})
    page = bob.get(f"/rooms/{room}").text
    key = re.search(r'name="key" value="([^"]*)"', page).group(1)
    assert bob.post(f"/rooms/{room}/speech", {"text": "<img src=x onerror=alert(2)> hello", "key": key}) \
        .status_code == 303
    for who in (ann, bob):
        html = who.get(f"/rooms/{room}").text
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in ann.get(f"/rooms/{room}").text
    r = ann.get(f"/rooms/{room}")
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-frame-options"] == "DENY"


def test_vendored_htmx_is_pinned_and_nothing_loads_from_the_internet():
    table = (STATIC / "VENDORED.md").read_text()
    digest = hashlib.sha256((STATIC / "htmx.min.js").read_bytes()).hexdigest()
    assert digest in table and "4.0.1" in table
    assert "Zero-Clause BSD" in (STATIC / "htmx.LICENSE").read_text()
    for f in [*TEMPLATES.glob("*.html"), STATIC / "felab.js", STATIC / "felab.css", STATIC / "htmx.min.js"]:
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", f.read_text()), f
        assert not re.search(r"https?://(?!127\.0\.0\.1)[a-z]", f.read_text()) or f.name == "htmx.min.js", f
