"""The rules engine on the shipped presets: seats, order, reveal, judgments, factored evaluation, claim trees."""

import json

import pytest

from felab.agents.base import ByHonesty, play
from felab.agents.scripted import HonestExpert, MaliciousExpert, WeighingJudge
from felab.domain import BadInput, Decline, Game, Judgment, Segment, Speech
from felab.protocols import (
    Act,
    ProtocolError,
    RuleViolation,
    SubGame,
    apply,
    apply_child,
    child,
    load,
    next_turn,
    parse,
    presets,
    start,
)
from felab.views import expert_view, judge_view

SHIPPED = ["blind", "claim_tree", "consultancy", "debate_sequential", "debate_simultaneous", "nyu_debate",
           "oracle_judge", "ought_fe", "ought_fe_strict", "trusted_expert"]


def test_every_shipped_preset_loads():
    assert presets() == SHIPPED
    for name in SHIPPED:
        assert load(name).name == name


@pytest.mark.parametrize("bad,msg", [
    ({"type": "crossfire"}, "unknown round type 'crossfire'"),
    ({"type": "judge", "charlimit": 3}, "unknown round key"),
    ({"type": "sequential", "char_limit": -1}, "char_limit must be"),
])
def test_bad_rounds_are_refused_in_one_line(tmp_path, bad, msg):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"name": "x", "experts": "debate", "rounds": [bad, {"type": "judge"}]}))
    with pytest.raises(ProtocolError, match=msg) as e:
        load(f)
    assert "\n" not in str(e.value) and str(f) in str(e.value)


@pytest.mark.parametrize("d,msg", [
    ({"name": "x", "experts": "debate", "rounds": [{"type": "sequential"}]}, "last round must be a 'judge'"),
    ({"name": "x", "experts": "none", "rounds": [{"type": "sequential"}, {"type": "judge"}]}, "cannot have"),
    ({"name": "x", "experts": "debate", "rounds": [{"type": "judge"}], "repeat": [{"type": "judge"}]},
     "max_repeats"),
    ({"name": "x", "experts": "robots", "rounds": [{"type": "judge"}]}, "unknown experts rule"),
    ({"name": "x", "rounds": [{"type": "judge"}]}, "missing 'experts'"),
    ({"name": "x", "experts": "none", "rounds": [{"type": "judge"}], "colour": 1}, "unknown key"),
    ({"name": "x", "experts": "none", "rounds": [{"type": "judge"}], "quote_mode": "telepathy"}, "quote_mode"),
    ({"name": "x", "experts": "none", "rounds": [{"type": "judge"}], "scoring": {"rule": "brier"}}, "must be log2"),
])
def test_bad_protocols_are_refused(d, msg):
    with pytest.raises(ProtocolError, match=msg):
        parse(d)


def test_unknown_preset_name_lists_the_shipped_ones():
    with pytest.raises(ProtocolError, match="shipped: blind"):
        load("no_such_protocol")


def test_a_new_protocol_is_a_file(tmp_path, worlds):
    f = tmp_path / "two_round_consultancy.json"
    f.write_text(json.dumps({"name": "mine", "experts": "trusted", "rounds": [
        {"type": "sequential", "char_limit": 100, "quote_limit": 60}, {"type": "judge", "can_end": True}]}))
    doc, qs = worlds[0]
    g = play(load(f), doc, qs[0], WeighingJudge, {"expert0": HonestExpert()})
    assert g.protocol == "mine" and [t.kind for t in g.turns] == ["speech", "judgment"]
    assert sum(len(s.text) for s in g.turns[0].speech.segments) <= 100


def test_consultant_honesty_and_option_order_are_fair_coins(worlds):
    doc, qs = worlds[0]
    honest = first = 0
    for seed in range(400):
        st = start(load("consultancy"), doc, qs[0], seed)
        honest += st.game.seat("expert0").honest
        first += st.game.order == (0, 1)
    # binomial(400, 1/2): 99.99 % of draws lie in [161, 239]
    assert 161 <= honest <= 239 and 161 <= first <= 239


def test_simultaneous_speeches_are_revealed_only_when_all_are_in(worlds):
    doc, qs = worlds[0]
    st = start(load("debate_simultaneous"), doc, qs[0], 0)
    st = apply(st, "judge", Judgment((0.5, 0.5), end=False))
    assert next_turn(st).role == "expert0"
    st = apply(st, "expert0", Speech((Segment("first"),)))
    assert next_turn(st).role == "expert1"
    assert not any(t.role == "expert0" for t in expert_view(st).turns)  # the other speaker cannot see it
    assert not st.game.turns[-1].revealed
    st = apply(st, "expert1", Speech((Segment("second"),)))
    assert [t.revealed for t in st.game.turns] == [True, True, True]
    assert [e.label[:7] for e in judge_view(st).entries][-2:] == ["Debater", "Debater"]


def test_wrong_seat_and_wrong_move_are_rule_violations(worlds):
    doc, qs = worlds[0]
    st = start(load("debate_sequential"), doc, qs[0], 0)
    with pytest.raises(RuleViolation, match="judge's turn"):
        apply(st, "expert0", Speech())
    with pytest.raises(RuleViolation, match="Judgment"):
        apply(st, "judge", Speech())


def test_a_quote_outside_the_document_is_bad_input(worlds):
    doc, qs = worlds[0]
    st = apply(start(load("debate_sequential"), doc, qs[0], 0), "judge", Judgment((0.5, 0.5), end=False))
    with pytest.raises(BadInput, match="outside the document"):
        apply(st, "expert0", Speech((Segment("x", quote=True, span=(0, len(doc.text) + 10), verified=True),)))


def test_a_claimed_verification_is_rechecked(worlds):
    doc, qs = worlds[0]
    st = apply(start(load("debate_sequential"), doc, qs[0], 0), "judge", Judgment((0.5, 0.5), end=False))
    st = apply(st, "expert0", Speech((Segment("Mara never existed", quote=True, verified=True),)))
    seg = st.game.turns[-1].speech.segments[0]
    assert seg.quote and not seg.verified


def test_judgments_are_stored_in_the_questions_order(worlds):
    doc, qs = worlds[0]
    seeds = [s for s in range(20) if start(load("blind"), doc, qs[0], s).game.order == (1, 0)]
    st = start(load("blind"), doc, qs[0], seeds[0])
    st = apply(st, "judge", Judgment((0.9, 0.1)))  # 0.9 on the option shown first, which is option 1
    assert st.done and st.game.outcome.probs == (0.1, 0.9) and st.game.accepted == 1


def test_the_judge_ends_only_where_allowed_and_the_last_round_ends(worlds):
    doc, qs = worlds[0]
    p = load("trusted_expert")
    st = apply(start(p, doc, qs[0], 0), "judge", Judgment((0.5, 0.5), end=True))  # opening: cannot end
    assert not st.done
    for _ in range(p.max_repeats):
        st = apply(st, "expert0", Speech((Segment("x"),)))
        st = apply(st, "judge", Judgment((0.6, 0.4), end=False))
    assert st.done and st.game.outcome.end


def _fe(worlds, **kw):
    doc, qs = worlds[0]
    return start(load("ought_fe"), doc, qs[0], 0, **kw)


def test_fe_decline_settles_on_the_honest_answer(worlds):
    st = _fe(worlds)
    st = apply(st, "expert0", Speech((Segment("mine"),)))
    st = apply(st, "expert1", Decline())
    assert st.done and st.game.outcome is None and st.game.accepted == st.game.seat("expert0").side
    assert st.game.correct is True


def test_fe_subquestions_spawn_child_games_within_limits(worlds):
    st = _fe(worlds)
    p = st.protocol
    st = apply(st, "expert0", Speech((Segment("a"),)))
    st = apply(st, "expert1", Speech((Segment("b"),)))
    st = apply(st, "expert0", Speech((Segment("c"),)))
    spec = next_turn(st)
    assert spec.subquestions_left == p.max_subquestions == 6
    with pytest.raises(RuleViolation, match="6 more"):
        apply(st, "judge", Judgment((0.5, 0.5), subquestions=tuple("q" * i for i in range(1, 8))))
    st = apply(st, "judge", Judgment((0.5, 0.5), subquestions=("Who repaired it?",)))
    sub = next_turn(st)
    assert isinstance(sub, SubGame)
    kid = child(st, sub)
    assert kid.game.depth == 1 and kid.game.question.options == ("", "")
    # the child's options come from the experts' answers; a judge at the depth limit may not ask further
    kid = apply(kid, "expert0", Speech((Segment("x"),), answer="Mara"))
    kid = apply(kid, "expert1", Speech((Segment("y"),), answer="Tomas"))
    kid = apply(kid, "expert0", Speech((Segment("z"),)))
    assert kid.game.question.options == ("Mara", "Tomas")
    assert next_turn(kid).subquestions_left == 6  # Ought: up to 6 questions per judge; depth 1 < max_depth 2
    view = judge_view(kid)
    assert view.depth == 1 and "Which is a better answer to 'Who repaired it?'" in view.question
    kid = apply(kid, "judge", Judgment((0.8, 0.2)))
    st = apply_child(st, kid.game)
    assert st.game.children[0].accepted is not None
    assert judge_view(st).entries[-1].segments[0].text in ("Mara", "Tomas")
    assert next_turn(st).subquestions_left == 5


def test_fe_depth_limit(worlds):
    doc, qs = worlds[0]
    st = start(load("ought_fe"), doc, qs[0], 0, depth=2)
    for role in ("expert0", "expert1", "expert0"):
        st = apply(st, role, Speech((Segment("s"),)))
    assert next_turn(st).subquestions_left == 0
    with pytest.raises(RuleViolation):
        apply(st, "judge", Judgment((0.5, 0.5), subquestions=("deeper?",)))


class CountingFactory:
    def __init__(self):
        self.made = 0

    def __call__(self):
        self.made += 1
        return WeighingJudge()


def test_play_gives_every_subgame_and_claim_step_a_fresh_judge(worlds):
    doc, qs = worlds[0]
    x = ByHonesty(HonestExpert(), MaliciousExpert())
    delegated = 0
    for q in qs:
        f = CountingFactory()
        g = play(load("ought_fe_strict"), doc, q, f, {"expert0": x, "expert1": x})
        games = list(g.walk())
        delegated += len(games) > 1
        assert f.made == 1 + len(games)  # one for the name, one per game
    assert delegated
    f = CountingFactory()
    g = play(load("claim_tree"), doc, qs[0], f, {"expert0": x, "expert1": x})
    steps = [t for t in g.turns if t.text.startswith("step ")]
    claims = [t for t in g.turns if t.kind == "claim"]
    assert len(steps) == len(claims) == 3 and f.made == 2 + len(steps)
    assert g.outcome.probs[g.seat("expert0").side] == min(t.judgment.probs[0] for t in steps)


def test_games_round_trip_through_json(worlds):
    doc, qs = worlds[1]
    x = ByHonesty(HonestExpert(), MaliciousExpert(mode="fabricate"))
    for name in SHIPPED:
        g = play(load(name), doc, qs[0], WeighingJudge, {"expert0": x, "expert1": x}, seed=3)
        assert Game.from_json(g.to_json()) == g


def test_turn_spec_is_an_act(worlds):
    doc, qs = worlds[0]
    assert isinstance(next_turn(start(load("blind"), doc, qs[0])), Act)
