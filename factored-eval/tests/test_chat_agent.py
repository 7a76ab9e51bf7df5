"""The OpenAI-compatible chat agent against an in-process fake server on localhost: replies, errors, retries,
timeouts, and replay from the cache with the server stopped."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from felab.agents import play
from felab.agents.cache import ResponseCache, request_key
from felab.agents.chat import (
    ANSWER_ONLY,
    UNPARSED,
    ChatClient,
    ChatExpert,
    ChatJudge,
    Endpoint,
    EndpointError,
    parse_answer,
    parse_speech,
)
from felab.domain import BadInput, Document, Question
from felab.protocols import load

DOC = Document("d1", "Lamp", "The lighthouse was painted blue in spring. Ann kept the key under a stone. "
                             "Nobody had painted it red since the war.")
Q = Question("q1", "d1", "What colour is the lighthouse?", ("Red", "Blue"), 1)


class FakeOpenAI:
    """A tiny OpenAI-compatible server: each POST /v1/chat/completions takes the next scripted behaviour
    ('reply' text, an HTTP error code, 'slow' seconds, 'garbage'); every request body is recorded."""

    def __init__(self):
        self.script: list = []
        self.seen: list[dict] = []
        self.default = "Answer: B\nConfidence: 80%"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                kind, value = fake.script.pop(0) if fake.script else ("reply", fake.default)
                if kind == "slow":
                    threading.Event().wait(value)
                    kind, value = "reply", fake.default
                if kind == "error":
                    self._send(value, {"error": {"message": f"scripted failure {value}"}})
                elif kind == "garbage":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"<html>not json")
                else:
                    self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"], "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": value}, "finish_reason": "stop"}]})

            def _send(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeOpenAI()
    yield s
    s.stop()


def client(server, tmp_path=None, **kw) -> ChatClient:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("retries", 1)
    ep = Endpoint(server.base_url, "judge-model-x", **kw)
    return ChatClient(ep, ResponseCache(tmp_path / "cache") if tmp_path else None, sleep=lambda s: None)


def test_judge_reads_the_answer_and_sees_no_document(server):
    server.script = [("reply", "The quotes favour blue.\nAnswer: B\nConfidence: 80%")]
    judge = ChatJudge(client(server))
    game = play(load("blind"), DOC, Q, judge=lambda: judge, seed=1)
    (req,) = server.seen
    assert req["path"] == "/v1/chat/completions" and req["body"]["model"] == "judge-model-x"
    prompt = json.dumps(req["body"]["messages"])
    assert "What colour is the lighthouse?" in prompt and "key under a stone" not in prompt
    shown_b = game.order.index(1)  # B is the second option as the judge saw it
    assert game.outcome.probs[game.order[shown_b]] == pytest.approx(0.8)
    assert game.outcome.explanation.endswith("Confidence: 80%")


def test_debate_with_chat_experts_quotes_are_verified_by_the_engine(server):
    server.script = [("reply", "Answer: A\nConfidence: 50%"),  # the judge's prior, before anyone speaks
                     ("reply", 'It is <quote>Nobody had painted it red since the war</quote>... no wait.'),
                     ("reply", 'See <quote>The lighthouse was painted blue in spring.</quote> and '
                               '<quote>painted it green</quote>')]
    judge = ChatJudge(client(server))
    experts = {"expert0": ChatExpert(client(server)), "expert1": ChatExpert(client(server))}
    game = play(load("debate_simultaneous"), DOC, Q, judge=lambda: judge, experts=experts, seed=2)
    quotes = [s for t in game.turns if t.speech for s in t.speech.quotes]
    assert [(s.text, s.verified) for s in quotes] == [
        ("Nobody had painted it red since the war", True), ("The lighthouse was painted blue in spring", True),
        ("painted it green", False)]
    expert_prompt = json.dumps(server.seen[1]["body"]["messages"])
    assert "key under a stone" in expert_prompt  # experts read the document
    judge_prompt = server.seen[-1]["body"]["messages"][1]["content"]
    assert '[UNVERIFIED "painted it green"]' in judge_prompt and '[verified "The lighthouse' in judge_prompt


def test_server_errors_are_retried_then_reported_in_one_line(server):
    server.script = [("error", 503), ("reply", "Answer: A\nConfidence: 60")]
    c = client(server)
    assert parse_answer(c.chat([{"role": "user", "content": "hi"}])) == (0, 0.6)
    assert len(server.seen) == 2
    server.script = [("error", 500), ("error", 502)]
    with pytest.raises(EndpointError, match=r"does not answer \(HTTP 502: scripted failure 502, 2 tries") as e:
        c.chat([{"role": "user", "content": "again"}])
    assert "\n" not in str(e.value) and isinstance(e.value, BadInput)


def test_a_refusal_is_not_retried(server):
    server.script = [("error", 400)]
    with pytest.raises(EndpointError, match="refused the request: HTTP 400: scripted failure 400"):
        client(server, retries=3).chat([{"role": "user", "content": "x"}])
    assert len(server.seen) == 1


def test_timeouts_and_garbage(server):
    server.script = [("slow", 1.0), ("slow", 1.0)]
    with pytest.raises(EndpointError, match="does not answer .*timed out"):
        client(server, timeout=0.2).chat([{"role": "user", "content": "x"}])
    server.script = [("garbage", None)]
    with pytest.raises(EndpointError, match="not JSON"):
        client(server).chat([{"role": "user", "content": "x"}])


def test_an_endpoint_that_is_down(server):
    c = client(server, retries=0)
    server.stop()
    with pytest.raises(EndpointError, match=r"does not answer \(.*refused.*\); check the base URL"):
        c.chat([{"role": "user", "content": "x"}])


def test_cache_replays_the_run_without_the_server(server, tmp_path):
    server.script = [("reply", "Answer: A\nConfidence: 65%")]
    judge = ChatJudge(client(server, tmp_path))
    first = play(load("blind"), DOC, Q, judge=lambda: judge, seed=3)
    assert judge.client.requests == 1 and len(ResponseCache(tmp_path / "cache")) == 1
    server.stop()
    for offline in (False, True):
        c = ChatClient(Endpoint("http://127.0.0.1:9/v1", "judge-model-x"), ResponseCache(tmp_path / "cache"),
                       offline=offline)
        again = play(load("blind"), DOC, Q, judge=lambda: ChatJudge(c), seed=3)
        assert again.to_json() == first.to_json() and c.requests == 0 and c.replayed == 1
    other = ChatClient(Endpoint("http://127.0.0.1:9/v1", "another-model"), ResponseCache(tmp_path / "cache"),
                       offline=True)
    with pytest.raises(EndpointError, match="not in the cache"):
        play(load("blind"), DOC, Q, judge=lambda: ChatJudge(other), seed=3)


def test_cache_files_are_json_keyed_by_the_request(server, tmp_path):
    c = client(server, tmp_path)
    c.chat([{"role": "user", "content": "hello"}])
    req = c.request([{"role": "user", "content": "hello"}])
    path = ResponseCache(tmp_path / "cache").path(request_key(req))
    entry = json.loads(path.read_text())
    assert entry["request"] == req and entry["key"] == path.stem and "Authorization" not in path.read_text()
    entry["request"]["temperature"] = 1.0  # an entry edited to claim another request is refused
    path.write_text(json.dumps(entry))
    with pytest.raises(BadInput, match="does not hold this request"):
        c.chat([{"role": "user", "content": "hello"}])


def test_key_comes_from_the_named_variable_and_is_never_cached(server, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-secret")
    c = client(server, tmp_path, api_key_env="FAKE_KEY")
    c.chat([{"role": "user", "content": "hi"}])
    assert server.seen[0]["auth"] == "Bearer sk-secret"
    assert not any("sk-secret" in p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    monkeypatch.delenv("FAKE_KEY")
    with pytest.raises(EndpointError, match="FAKE_KEY"):
        client(server, api_key_env="FAKE_KEY").chat([{"role": "user", "content": "other"}])


def test_unreadable_reply_is_a_marked_tie(server):
    server.script = [("reply", "I cannot tell.")]
    game = play(load("blind"), DOC, Q, judge=lambda: ChatJudge(client(server)), seed=1)
    assert game.outcome.probs == (0.5, 0.5) and game.outcome.explanation.startswith(UNPARSED)
    assert game.accepted is None


@pytest.mark.parametrize("reply, parsed", [
    ("Answer: A\nConfidence: 90%", (0, 0.9)),
    ("answer: b\nconfidence: 0.7", None),  # a lower-case letter is not an answer
    ("The answer is (B). Confidence: 0.7", (1, 0.7)),
    ("**Answer:** B\n**Confidence:** 64", (1, 0.64)),
    ('{"answer": "A", "confidence": 55}', (0, 0.55)),
    ("Answer: Option B", (1, ANSWER_ONLY)),
    ("Answer: A ... on reflection, Answer: B\nConfidence: 100%", (1, 0.99)),
    ("Confidence: 70%\nAnswer: A", (0, 0.7)),
    ("A seems right.", None),
])
def test_parse_answer(reply, parsed):
    got = parse_answer(reply)
    assert got == (parsed if parsed is None else (parsed[0], pytest.approx(parsed[1])))


def test_parse_speech_cuts_at_quote_tags():
    segs = parse_speech("Look: <quote>blue in spring</quote>, and <QUOTE> </QUOTE> and <quote>open")
    assert [(s.text, s.quote) for s in segs] == [("Look: ", False), ("blue in spring", True), (", and ", False),
                                                   (" and <quote>open", False)]


@pytest.mark.parametrize("kw, message", [({"base_url": "localhost:8080"}, "must start with http"),
                                         ({"model": ""}, "model name"), ({"timeout": 0}, "timeout")])
def test_bad_endpoint_configuration(kw, message):
    args = {"base_url": "http://127.0.0.1:1/v1", "model": "m", **kw}
    with pytest.raises(BadInput, match=message):
        Endpoint(**args)
