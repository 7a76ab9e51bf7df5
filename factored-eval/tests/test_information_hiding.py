"""Information hiding, proved over many seeded games: no judge-facing view, at any depth, in any protocol whose
judge does not read the document by design, shows the document beyond verified quotes within budget.

Checked on every view a judge is given (the judge agent checks before it answers): no 8-word run of the document
appears outside a verified quote (words of the question, options and the judge's own sub-questions excepted: the
judge has those, and the question's words are not the hidden text); every verified quote is the document's own
text at its span; each speech keeps its round's quote limit; a view never exceeds the protocol's reading
budget. The experts include a leaker who pastes the document as plain text, as altered quotes, as over-long
spans and as its 'answer'.
"""

import random

import pytest

from felab.agents.base import ByHonesty, play
from felab.agents.scripted import HonestExpert, MaliciousExpert, WeighingJudge
from felab.data.synthetic import generate
from felab.domain import ClaimTree, Judgment, Rebuttals, Segment, Speech
from felab.protocols import load, presets
from felab.text import normalize

N = 8
HIDING = [p for p in presets() if not load(p).judge_reads_document]


def grams(text: str) -> set:
    w = normalize(text).split()
    return {tuple(w[i:i + N]) for i in range(len(w) - N + 1)}


class Leaker:
    """Tries every way to get the document in front of the judge."""

    def __init__(self, seed):
        self.name, self.seed = "leaker", seed

    def act(self, view):
        doc, rng = view.document, random.Random(f"{self.seed}{view.game_id}{view.spec.round}")
        a = rng.randrange(max(1, len(doc) - 900))
        chunk = doc[a:a + 900]
        segs = (Segment(chunk[:400]),                                        # plain copy
                Segment(chunk[100:500].upper().replace(" ", "  "), quote=True),  # altered free-text quote
                Segment("x", quote=True, span=(a, a + 700), verified=True),  # an over-long span
                Segment("my own " + chunk[300:800] + " words", quote=True),   # partly invented quote
                Segment(chunk[::-1]))                                        # scrambled (not a leak of words)
        if view.spec.type == "claims":
            return ClaimTree((Speech(segs, answer=chunk), Speech(segs), Speech(segs)))
        if view.spec.type == "rebuttals":
            return Rebuttals((Speech(segs, target=1), Speech(segs, target=2)))
        return Speech(segs, answer=chunk[:600])


class CheckingJudge(WeighingJudge):
    """A weighing judge that first checks its view (and asks an off-script sub-question now and then, so sub-games
    whose options come from the experts' answers are covered)."""

    doc = None
    protocol = None
    views = 0
    questions = ""

    def act(self, view):
        CheckingJudge.views += 1
        p, doc = CheckingJudge.protocol, CheckingJudge.doc
        public = grams("\n".join([CheckingJudge.questions, view.question, *view.options, *view.hints] +
                                 [e.segments[0].text for e in view.entries if e.kind == "subquestion"]))
        doc_grams = grams(doc)
        assert view.document is None
        total = 0
        for e in view.entries:
            total += e.chars
            assert not (grams(e.answer or "") & doc_grams) - public, "an answer leaks"
            for s in e.segments:
                if s.quote and s.verified:
                    assert doc[s.span[0]:s.span[1]] == s.text
                else:
                    assert not (grams(s.text) & doc_grams) - public, f"leak outside verified quotes: {s.text!r}"
            if e.kind in ("speech", "claim", "rebuttal"):
                limits = [r.quote_limit for r in (p.round(i) for i in range(p.length)) if r.quote_limit is not None]
                if limits:
                    assert sum(len(s.text) for s in e.segments if s.quote and s.verified) <= max(limits)
        if p.judge_budget is not None:
            assert total <= p.judge_budget
        leftover = [e.chars for e in view.entries]
        assert all(c >= 0 for c in leftover)
        if view.subquestions_left and view.depth == 0 and not any(e.kind == "subquestion" for e in view.entries):
            return Judgment((0.5, 0.5), end=False, subquestions=("What do the experts say happened?",))
        return super().act(view)


@pytest.mark.parametrize("protocol", HIDING)
def test_no_judge_view_leaks_the_document(protocol):
    p = load(protocol)
    CheckingJudge.protocol = p
    before = CheckingJudge.views
    leaker = lambda s: Leaker(s)  # noqa: E731
    for seed in range(6):
        for doc, qs in generate(6, seed=seed):
            CheckingJudge.doc = doc.text
            seats = [{"expert0": leaker(seed), "expert1": leaker(seed + 1)},
                     {"expert0": ByHonesty(HonestExpert(), leaker(seed)),
                      "expert1": ByHonesty(leaker(seed), MaliciousExpert(mode="fabricate"))}]
            for q in qs:
                CheckingJudge.questions = "\n".join(x for s in (q, *q.subquestions) for x in (s.text, *s.options))
                for experts in seats:
                    g = play(p, doc, q, CheckingJudge, experts, seed=seed)
                    assert g.outcome is not None or g.accepted is not None
    assert CheckingJudge.views - before >= 72


def test_the_check_catches_a_leaking_view(monkeypatch):
    """The check above fails when the views leak (a deliberately broken view that adds the document)."""
    import felab.views as views

    real = views._entries

    def leaky(game, experts):
        out = real(game, experts)
        return out + [views.Entry("Narrator", "speech", (Segment(CheckingJudge.doc[:300]),))]

    monkeypatch.setattr(views, "_entries", leaky)
    p = load("debate_sequential")
    CheckingJudge.protocol = p
    doc, qs = generate(3, seed=0)[0]
    CheckingJudge.doc = doc.text
    CheckingJudge.questions = ""
    with pytest.raises(AssertionError, match="leak outside verified quotes"):
        play(p, doc, qs[0], CheckingJudge, {"expert0": HonestExpert(), "expert1": HonestExpert()})


def test_oracle_judge_is_the_only_preset_that_reads_the_document():
    assert [p for p in presets() if load(p).judge_reads_document] == ["oracle_judge"]
