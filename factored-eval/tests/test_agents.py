"""Scripted agents: deterministic per seed, the skill knobs do what they say, the judge reads only its view."""

import pytest

from felab.agents import expert_seats, judge_factory, parse_spec, resolve
from felab.agents.base import ByHonesty, play
from felab.agents.scripted import CredulousJudge, HonestExpert, MaliciousExpert, WeighingJudge, statement, support
from felab.domain import BadInput
from felab.protocols import load


def _accuracy(worlds, protocol, judge, experts, seed=0):
    p = load(protocol)
    out = []
    for doc, qs in worlds:
        for q in qs:
            g = play(p, doc, q, judge, experts, seed=seed)
            out.append(g.outcome.probs[q.correct_index] if g.outcome else float(g.accepted == q.correct_index))
    return sum(1.0 if x > .5 else .5 if x == .5 else 0.0 for x in out) / len(out)


def test_agents_are_deterministic_per_seed(worlds):
    x = ByHonesty(HonestExpert(seed=1, omit=0.3), MaliciousExpert(seed=1, mode="fabricate"))
    doc, qs = worlds[0]
    j = lambda: WeighingJudge(seed=1, attention=0.7)  # noqa: E731
    a = play(load("nyu_debate"), doc, qs[0], j, {"expert0": x, "expert1": x}, seed=5)
    b = play(load("nyu_debate"), doc, qs[0], j, {"expert0": x, "expert1": x}, seed=5)
    assert a == b


def test_the_weighing_judge_reads_chains_and_refutations():
    q = "Which town did the person who repaired the lighthouse at Kell Point move to?"
    s1 = statement("Mara Voss repaired the lighthouse at Kell Point in spring.", True)
    s2 = statement("Years later, Mara Voss moved to Ashford.", True)
    d = statement("The ledger says Tom Brandt repaired the lighthouse at Kell Point.", True)
    y = statement("Tom Brandt moved to Brill.", True)
    r = statement("The ledger was wrong: Tom Brandt never repaired the lighthouse at Kell Point.", True)
    assert support([s1, s2], q, "Ashford", "Brill") == 1 and support([s2], q, "Ashford", "Brill") == 0
    assert support([d, y], q, "Brill", "Ashford") == 1 and support([d, y, r], q, "Brill", "Ashford") == 0


def test_honest_debate_beats_consultancy_and_trusted_beats_blind(worlds):
    x = ByHonesty(HonestExpert(), MaliciousExpert())
    seats = {"expert0": x, "expert1": x}
    debate = _accuracy(worlds, "debate_sequential", WeighingJudge, seats)
    consult = _accuracy(worlds, "consultancy", WeighingJudge, seats)
    blind = _accuracy(worlds, "blind", WeighingJudge, {})
    assert debate >= 0.9 and consult <= 0.75 and blind == 0.5
    assert _accuracy(worlds, "oracle_judge", WeighingJudge, {}) >= 0.9


def test_verification_is_what_stops_the_fabricator(worlds):
    x = ByHonesty(HonestExpert(), MaliciousExpert(mode="fabricate"))
    seats = {"expert0": x, "expert1": x}
    assert _accuracy(worlds, "debate_sequential", WeighingJudge, seats) >= 0.9
    assert _accuracy(worlds, "debate_sequential", CredulousJudge, seats) <= 0.75


def test_skill_knobs(worlds):
    weak = ByHonesty(HonestExpert(omit=1.0, refute=0.0), MaliciousExpert())
    assert _accuracy(worlds, "debate_sequential", WeighingJudge, {"expert0": weak, "expert1": weak}) <= 0.6
    # temperature is the calibration knob: the same evidence, a less confident judge
    x = ByHonesty(HonestExpert(), MaliciousExpert())
    doc, qs = worlds[0]
    hot = play(load("trusted_expert"), doc, qs[0], lambda: WeighingJudge(temperature=2.0), {"expert0": x})
    cold = play(load("trusted_expert"), doc, qs[0], lambda: WeighingJudge(temperature=0.25), {"expert0": x})
    c = qs[0].correct_index
    assert 0.5 < hot.outcome.probs[c] < cold.outcome.probs[c]


def test_malicious_declines_without_anything_to_cite(worlds):
    x = ByHonesty(HonestExpert(), MaliciousExpert())
    kinds = []
    for doc, qs in worlds:
        for q in qs:
            g = play(load("ought_fe_strict"), doc, q, WeighingJudge, {"expert0": x, "expert1": x})
            kinds += [(n.depth, t.kind) for n in g.walk() for t in n.turns if t.role == "expert1"]
    assert (0, "speech") in kinds and (1, "decline") in kinds and (0, "decline") not in kinds


def test_agent_specs():
    assert parse_spec("weigher:temperature=0.5, attention=0.9") == ("weigher", {"temperature": "0.5",
                                                                                "attention": "0.9"})
    assert resolve("weigher:temperature=0.25").temperature == 0.25
    assert resolve("fabricator", role="expert").mode == "fabricate"
    for bad, msg in (("weigher:temperature", "key=value"), ("wizard", "no judge agent 'wizard'"),
                     ("weigher:colour=2", "colour"), (":x=1", "give a name")):
        with pytest.raises(BadInput, match=msg):
            resolve(bad)
    assert judge_factory("blind")() is not judge_factory("blind")()
    with pytest.raises(BadInput, match="one or two"):
        expert_seats(["honest", "malicious", "fabricator"])
