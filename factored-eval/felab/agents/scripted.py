"""Scripted agents of controlled skill, deterministic per seed: the simulation's experts and judges.

Experts read the question's recorded gold (in simulation experts know the answer; that is what makes their skill
exactly controllable):
- ``HonestExpert`` cites the supporting sentences (each omitted with probability ``omit``) and, facing an
  opponent, the sentence that refutes the opponent's decoy (with probability ``refute``): the honest debater.
- ``MaliciousExpert`` argues the wrong option: ``mode='decoy'`` cites the decoy and the distractor's true backing
  (verified but misleading); ``mode='fabricate'`` adds invented quotes (the refutation's words turned against the
  correct answer, the support's words turned to the wrong one), which verification marks unverified. In a
  factored-evaluation challenge round it challenges (with probability ``challenge``) when it has something to
  cite, and declines otherwise.

Judges read only their view. ``WeighingJudge`` reads quotes as statements and looks for a chain from the
question's terms to each option: a quote linking an option to the question, or one linking the option to a
person and another linking that person to the question; a quote with a negation ('never', 'wrong', 'did not')
about a person and the question's terms cuts that person's chain. It counts verified quotes only and holds an
unverified quote against the side that used it; ``credulous=True`` believes unverified quotes too (no
verification). Its credence is a logistic of the evidence difference over ``temperature`` (the calibration
knob), plus ``position_bias`` for the option shown first. Adjacent quote pieces without text between them are
read as one quote (NYU-style reconstruction splits a partly invented quote into such pieces). ``OracleJudge``
reads every sentence of the document the same way; ``BlindJudge`` says 1/2 (or its position bias).
In factored evaluation the weighing judge decides when the evidence it could read decides; otherwise it asks the
data's decomposition (``view.hints``) one sub-question at a time and takes the last sub-answer as the answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..domain import ClaimTree, Decline, Judgment, Question, Rebuttals, Segment, Speech
from ..protocols.engine import NO_DECISION
from ..text import normalize, sentences
from ..views import ExpertView, JudgeView
from .base import seed_for

STOP = frozenset("""a an the of in on at to for from by with and or but as is was were be been being it its this that
these those he she they them his her their who whom whose which what where when why how did do does done not no
never any all some one into over after before during about than then there here so such very also only just had
has have having would could should will shall may might must can upon until while out up down off again once
years year later shortly according long said says say i you we our your my me us person people animal town city
instrument place thing""".split())  # the last words name an answer's type ('which town'), not what it is about
_IRREGULAR = {"kept": "keep", "found": "find", "built": "build", "rebuilt": "rebuild", "went": "go", "made": "make",
              "took": "take", "gave": "give", "wrote": "write", "sang": "sing", "sung": "sing", "knew": "know"}
NEG = frozenset("never not no false wrong mistake untrue nobody neither nor didnt wasnt isnt cannot".split())
_CAP = re.compile(r"\b[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?\b")


def _stem(w: str) -> str:
    w = _IRREGULAR.get(w, w)
    for suf in ("ing", "ed", "es", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 3 and not w.endswith("ss"):
            w = w[:-len(suf)]
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w[:5]


def terms(text: str) -> frozenset[str]:
    """Stemmed content words."""
    return frozenset(_stem(w) for w in normalize(text).split() if w not in STOP)


def names(text: str) -> frozenset[str]:
    """Capitalised words that are not common words: the people and places a statement is about."""
    return frozenset(_stem(m.lower()) for m in _CAP.findall(text) if m.lower() not in STOP)


@dataclass(frozen=True)
class Statement:
    terms: frozenset[str]
    names: frozenset[str]
    negated: bool
    verified: bool


def statement(text: str, verified: bool) -> Statement:
    words = set(normalize(text).split())
    return Statement(terms(text), names(text), bool(words & NEG), verified)


COVER = 0.6  # share of the question's terms a chain of quotes must cover to count as an answer


def support(statements: list[Statement], question: str, option: str, other: str) -> float:
    """Evidence for ``option``: 1 if quotes chain it to the question (a quote with the option, alone or joined
    through a person it names to a quote about that person, covering at least ``COVER`` of the question's terms)
    and no negated quote cuts the chain; minus 1 if a negated quote denies the option itself; 0 otherwise."""
    o, rival = terms(option), terms(other)
    if not o:
        return 0.0
    key = terms(question) - o - rival
    if not key:
        return 0.0
    pos = [s for s in statements if not s.negated]
    neg = [s for s in statements if s.negated]

    def cut(e: str) -> bool:
        return any(e in s.names and len(s.terms & key) >= 2 for s in neg)

    best = 0
    for s in pos:
        if not o <= s.terms:
            continue
        covered = s.terms & key
        best = max(best, len(covered))
        for e in s.names - o - key:
            if cut(e):
                continue
            for t in pos:
                if t is not s and e in t.names:
                    best = max(best, len(covered | (t.terms & key)))
    denied = any(o <= s.terms and s.terms & key for s in neg)
    return float(best / len(key) >= COVER) - float(denied)


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x > -700 else 0.0


def _read_entries(view: JudgeView, credulous: bool) -> tuple[list[Statement], list[int]]:
    """Statements from the view's quotes (adjacent pieces merged), and how many unverified quotes each
    displayed side used."""
    out, unverified = [], [0, 0]
    for e in view.entries:
        if e.kind not in ("speech", "claim", "rebuttal"):
            continue
        run: list[Segment] = []
        for s in list(e.segments) + [Segment("|")]:
            if s.quote:
                run.append(s)
                continue
            if run:
                text = " ".join(r.text for r in run)
                ok = all(r.verified for r in run)
                if not ok and e.stands_for is not None:
                    unverified[e.stands_for] += 1
                if ok or credulous:
                    out.append(statement(text, ok))
                run = []
    return out, unverified


class WeighingJudge:
    """Weighs verified quotes (see the module docstring). ``attention`` is the chance it reads each quote."""

    def __init__(self, name: str = "weigher", seed: int = 0, temperature: float = 0.5, penalty: float = 0.25,
                 attention: float = 1.0, position_bias: float = 0.0, credulous: bool = False):
        self.name, self.seed, self.temperature, self.penalty = name, seed, temperature, penalty
        self.attention, self.position_bias, self.credulous = attention, position_bias, credulous

    def _probs(self, diff: float) -> tuple[float, float]:
        p = _logistic(diff / self.temperature + self.position_bias)
        return p, 1 - p

    def act(self, view: JudgeView) -> Judgment:
        if view.step is not None:
            return self._step(view)
        rng = seed_for(self.seed, view, self.name)
        stmts, unverified = _read_entries(view, self.credulous)
        if view.document is not None:
            doc = view.document
            stmts += [statement(doc[a:b], True) for a, b in sentences(doc)]
        stmts = [s for s in stmts if rng.random() < self.attention]
        q = _root_question(view)
        a, b = view.options
        score = [support(stmts, q, a, b), support(stmts, q, b, a)]
        if not self.credulous:
            score = [score[i] - self.penalty * unverified[i] for i in range(2)]
        diff = score[0] - score[1]
        decisive = abs(diff) >= 1 - 1e-9
        if not decisive and view.hints:
            asked = [e.segments[0].text for e in view.entries if e.kind == "subquestion"]
            answers = [e.segments[0].text for e in view.entries if e.kind == "subanswer"]
            stuck = NO_DECISION in answers
            if len(asked) < len(view.hints) and view.subquestions_left > 0 and len(answers) == len(asked) \
                    and not stuck:
                nxt = view.hints[len(asked)].format(*answers) if "{" in view.hints[len(asked)] else \
                    view.hints[len(asked)]
                return Judgment(self._probs(diff), end=False, subquestions=(nxt,),
                                explanation="the quotes I could read do not decide; asking a sub-question")
            if answers and len(answers) == len(view.hints):
                final = normalize(answers[-1])
                match = [normalize(o) == final for o in view.options]
                if any(match):
                    diff = 1.0 if match[0] else -1.0
                    return Judgment(self._probs(diff), end=True, explanation="the sub-answers lead here")
        return Judgment(self._probs(diff), end=decisive or not view.can_end)

    def _step(self, view: JudgeView) -> Judgment:
        """A claim-tree step. Step 0: do the sub-claims end in the root's answer? Step k: do the quotes,
        with the rebuttals, support 'ANSWER answers: QUESTION'?"""
        claims = [e for e in view.entries if e.kind == "claim"]
        text = " ".join(s.text for s in claims[0].segments if not s.quote)
        if view.step == 0:
            root = _claim_parts(text)
            last = _claim_parts(" ".join(s.text for s in claims[-1].segments if not s.quote)) if len(claims) > 1 \
                else None
            ok = root is not None and last is not None and normalize(root[0]) == normalize(last[0])
            return Judgment(self._probs(1.0 if ok else -1.0), end=True)
        parts = _claim_parts(text)
        if parts is None:
            return Judgment(self._probs(-1.0), end=True)
        answer, question = parts
        stmts, _ = _read_entries(view, self.credulous)
        s = support(stmts, question, answer, "")
        return Judgment(self._probs(2 * s - 1), end=True)


def _root_question(view: JudgeView) -> str:
    m = re.match(r"Which is a better answer to '(.*)': A1 or A2\?$", view.question, re.S)
    return m.group(1) if m else view.question


_CLAIM = re.compile(r"^\s*(.+?) answers: (.+?)\s*$", re.S)


def _claim_parts(text: str) -> tuple[str, str] | None:
    m = _CLAIM.match(text)
    return (m.group(1), m.group(2)) if m else None


class CredulousJudge(WeighingJudge):
    """Believes every quote, verified or not: the judge without quote verification."""

    def __init__(self, name: str = "credulous", **kw):
        super().__init__(name, credulous=True, **kw)


class OracleJudge(WeighingJudge):
    """Reads the whole document (only where the protocol gives it): the upper bound."""

    def __init__(self, name: str = "oracle", **kw):
        super().__init__(name, **kw)


class BlindJudge:
    """Sees no evidence worth the name: credence 1/2 (shifted by ``position_bias`` towards the first option)."""

    def __init__(self, name: str = "blind", seed: int = 0, position_bias: float = 0.0):
        self.name, self.seed, self.position_bias = name, seed, position_bias

    def act(self, view: JudgeView) -> Judgment:
        p = _logistic(self.position_bias)
        return Judgment((p, 1 - p), end=True)


def _spans_quote(view: ExpertView, spans) -> list[Segment]:
    doc = view.document
    return [Segment(doc[a:b], quote=True, span=(a, b), verified=True) for a, b in spans]


def _cited(view: ExpertView) -> set:
    return {s.span for t in view.turns if t.role == view.role and t.speech for s in t.speech.segments if s.span}


def _join(lead: str, quotes: list[Segment]) -> tuple[Segment, ...]:
    segs = [Segment(lead)]
    for i, q in enumerate(quotes):
        segs.append(q)
        segs.append(Segment(" and " if i < len(quotes) - 1 else "."))
    return tuple(segs)


def _chain(q: Question, correct: bool) -> list[tuple[str, str, tuple]]:
    """The claim chain for a claim tree: (answer, sub-question, spans) per hop, for the correct answer or the
    distractor, from the data's decomposition and sub-questions."""
    out, answers = [], []
    for hint in q.decomposition:
        sub = q.subquestion(hint.format(*answers) if "{" in hint else hint)
        if sub is None or sub.correct_index is None:
            return []
        if not answers:  # the first hop is where the decoy lives
            ans = sub.options[sub.correct_index if correct else 1 - sub.correct_index]
            spans = sub.support if correct else sub.decoys
        else:
            ans, spans = sub.options[sub.correct_index], sub.support
        out.append((ans, sub.text, spans))
        answers.append(ans)
    return out


class HonestExpert:
    """Argues the correct option with its supporting sentences; refutes an opponent's decoy."""

    def __init__(self, name: str = "honest", seed: int = 0, omit: float = 0.0, refute: float = 1.0):
        self.name, self.seed, self.omit, self.refute = name, seed, omit, refute

    def act(self, view: ExpertView):
        q, rng = view.question, seed_for(self.seed, view, self.name)
        if view.spec.type == "claims":
            return _claim_tree(view, q, q.correct_index == view.side)
        if view.spec.type == "rebuttals":
            return _rebut(view, q, fabricate=False)
        answer = q.options[view.side] if view.side is not None and q.options[view.side] else None
        if q.correct_index is None or view.side != q.correct_index:
            return Speech((Segment(f"I believe the answer is {answer or 'what I said'}."),), answer)
        done = _cited(view)
        spans = [s for s in q.support if s not in done and rng.random() >= self.omit]
        against = view.spec.type == "simultaneous" or any(t.role != view.role and t.kind == "speech"
                                                          for t in view.turns)
        if against and rng.random() < self.refute:
            spans += [s for s in q.refutations if s not in done]
        if not spans:
            return Speech((Segment(f"I stand by {answer}: the quotes above settle it."),), answer)
        return Speech(_join(f"The answer is {answer}: ", _spans_quote(view, spans)), answer)


class MaliciousExpert:
    """Argues the wrong option with decoys (and, with ``mode='fabricate'``, invented quotes)."""

    def __init__(self, name: str = "malicious", seed: int = 0, mode: str = "decoy", challenge: float = 1.0):
        if mode not in ("decoy", "fabricate"):
            raise ValueError("mode is 'decoy' or 'fabricate'")
        self.name, self.seed, self.mode, self.challenge = name, seed, mode, challenge

    def _fabrications(self, view: ExpertView) -> list[Segment]:
        q, doc = view.question, view.document
        if q.correct_index is None or self.mode != "fabricate":
            return []
        pairs = [(q.options[q.correct_index], q.options[1 - q.correct_index])]
        pairs += [(s.options[s.correct_index], s.options[1 - s.correct_index])
                  for s in q.subquestions if s.correct_index is not None]
        out = []
        for a, b in q.support:
            text = doc[a:b]
            for g, w in pairs[:1]:
                if g in text:
                    out.append(Segment(text.replace(g, w), quote=True))
        for q2 in (q, *q.subquestions):
            for a, b in q2.refutations:
                text = doc[a:b]
                for g, w in pairs:
                    if w in text:
                        out.append(Segment(text.replace(w, g), quote=True))
        return out

    def act(self, view: ExpertView):
        q, rng = view.question, seed_for(self.seed, view, self.name)
        if view.spec.type == "claims":
            return _claim_tree(view, q, q.correct_index == view.side)
        if view.spec.type == "rebuttals":
            return _rebut(view, q, fabricate=self.mode == "fabricate")
        answer = q.options[view.side] if view.side is not None and q.options[view.side] else None
        done = _cited(view)
        quotes = _spans_quote(view, [s for s in (*q.decoys, *q.distractor_support) if s not in done])
        if not any(t.role == view.role for t in view.turns):
            quotes += self._fabrications(view)
        if view.spec.type == "challenge" and (not quotes or rng.random() >= self.challenge):
            return Decline()
        if not quotes:
            return Speech((Segment(f"I stand by {answer}."),), answer)
        return Speech(_join(f"The answer is {answer}: ", quotes), answer)


def _claim_tree(view: ExpertView, q: Question, correct: bool) -> ClaimTree:
    """Root 'OPTION answers: QUESTION', then one sub-claim per hop with its quotes."""
    answer = q.options[view.side]
    root = Speech((Segment(f"{answer} answers: {q.text}"),), answer)
    subs = []
    for ans, sub_q, spans in _chain(q, correct):
        subs.append(Speech((Segment(f"{ans} answers: {sub_q}"), Segment(" Evidence: "),
                            *_spans_quote(view, spans)), ans))
    return ClaimTree((root, *subs))


def _rebut(view: ExpertView, q: Question, fabricate: bool) -> Rebuttals:
    """Against each claim citing a decoy: the decoy's refutation. A fabricating rebutter invents one against a
    true claim instead."""
    decoys = {d: r for q2 in (q, *q.subquestions) for d, r in zip(q2.decoys, q2.refutations)}
    out = []
    for t in view.turns:
        if t.kind != "claim" or not t.speech.target:
            continue
        spans = [decoys[s.span] for s in t.speech.segments if s.span in decoys]
        if spans:
            out.append(Speech(_join("This is refuted: ", _spans_quote(view, spans)), target=t.speech.target))
        elif fabricate:
            name = (t.speech.answer or "").strip()
            out.append(Speech((Segment("This is refuted: "),
                               Segment(f"{name} never did any such thing, as the record shows.", quote=True)),
                              target=t.speech.target))
    return Rebuttals(tuple(out))


def _fabricator(name: str = "fabricator", seed: int = 0, **kw) -> MaliciousExpert:
    return MaliciousExpert(name, seed, mode="fabricate", **kw)


JUDGES = {"weigher": WeighingJudge, "credulous": CredulousJudge, "oracle": OracleJudge, "blind": BlindJudge}
EXPERTS = {"honest": HonestExpert, "malicious": MaliciousExpert, "fabricator": _fabricator}
