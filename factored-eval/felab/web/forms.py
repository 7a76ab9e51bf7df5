"""What people type, turned into the lab's actions, with one clear message for each thing that is wrong.

An expert's speech is one text box. Quotes enter it two ways, as the anchors do:
- picked from the document: the page inserts ``<<begin-end>>`` (NYU's span notation, character offsets into the
  document), checked by ``felab.text.verify_span``: verified by construction, refused when outside the text;
- typed as ``<quote>words</quote>`` (Khan et al.'s tags): checked by the lab's matcher (``verify_quote``, inside
  the engine); a quote it cannot find reaches the judge marked unverified.
The engine cuts an over-long speech silently (an agent's speech is fitted, as NYU's ``enforceQuoteLimit``); a
person is told instead, before anything is stored: a speech over the round's character or quote limit is
refused with the numbers, counted as the judge would see it (``speech_preview``).

A judge states probabilities in percent for the options as displayed; they must add up to 100.
"""

from __future__ import annotations

import math
import re

from ..domain import BadInput, Decline, Judgment, Segment, Speech
from ..protocols.engine import Act
from ..text import check_segment, quote_chars, requote, speech_chars, verify_span
from .errors import Invalid

MAX_INPUT = 20_000  # characters of any one text box: far above every protocol's limit, far below a DoS
MAX_SUBQUESTION = 300
_TOKEN = re.compile(r"<<\s*(\d+)\s*-\s*(\d+)\s*>>|<quote>(.*?)</quote>", re.S)


def _bounded(text: str, what: str) -> str:
    if len(text) > MAX_INPUT:
        raise Invalid(f"{what} is {len(text):,} characters; the most any box takes is {MAX_INPUT:,}")
    return text


def parse_speech(text: str, document: str, answer: str | None = None) -> Speech:
    """The speech a person typed, as segments (spans checked here; typed quotes left to the engine's matcher)."""
    text = _bounded(text.replace("\r\n", "\n"), "your speech")
    segs: list[Segment] = []
    at = 0
    for m in _TOKEN.finditer(text):
        if m.start() > at:
            segs.append(Segment(text[at:m.start()]))
        if m.group(3) is not None:
            if m.group(3).strip():
                segs.append(Segment(m.group(3), quote=True))
        else:
            b, e = int(m.group(1)), int(m.group(2))
            try:
                segs.append(verify_span(document, b, e))
            except BadInput as err:
                raise Invalid(f"quote <<{b}-{e}>>: {err}") from None
        at = m.end()
    if at < len(text):
        segs.append(Segment(text[at:]))
    if not any(s.text.strip() for s in segs):
        raise Invalid("your speech is empty; write something or pick a quote")
    if answer is not None:
        answer = _bounded(answer.strip(), "your answer") or None
    return Speech(tuple(segs), answer)


def speech_preview(speech: Speech, document: str) -> tuple[Segment, ...]:
    """The segments as the engine will record them (quotes verified, copied runs of the document turned into
    verified quotes), before any cut: what the limits are checked on and what the preview shows."""
    return requote(document, tuple(check_segment(document, s) for s in speech.segments))


def check_limits(segments: tuple[Segment, ...], spec: Act) -> None:
    """Refuse a speech over the round's limits, with the numbers."""
    total, quoted = speech_chars(segments), quote_chars(segments)
    if spec.char_limit is not None and total > spec.char_limit:
        raise Invalid(f"your speech is {total} characters; this round allows {spec.char_limit} (quotes "
                      "included); shorten it")
    if spec.quote_limit is not None and quoted > spec.quote_limit:
        raise Invalid(f"your verified quotes total {quoted} characters; this round allows {spec.quote_limit}; "
                      "quote less")


def decline() -> Decline:
    return Decline()


def parse_judgment(p_a: str, p_b: str, end: bool, explanation: str, subquestions: str,
                   spec: Act) -> Judgment:
    """A judgment from the judge's form: percentages for A and B (displayed order) adding up to 100."""
    try:
        a, b = float(p_a), float(p_b)
    except ValueError:
        raise Invalid(f"probabilities must be numbers from 0 to 100; got {p_a!r} and {p_b!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)) or min(a, b) < 0 or max(a, b) > 100:
        raise Invalid(f"each probability must be from 0 to 100; got {a:g} and {b:g}")
    if abs(a + b - 100) > 0.01:
        raise Invalid(f"your probabilities must add up to 100 %; you gave {a:g} + {b:g} = {a + b:g}")
    explanation = _bounded(explanation.strip(), "your explanation")
    if spec.char_limit is not None and len(explanation) > spec.char_limit:
        raise Invalid(f"your explanation is {len(explanation)} characters; this round allows {spec.char_limit}")
    subs = tuple(q.strip() for q in _bounded(subquestions, "your sub-questions").splitlines() if q.strip())
    if subs and spec.subquestions_left == 0:
        raise Invalid("no sub-questions may be asked here; decide from what you have")
    if len(subs) > spec.subquestions_left:
        raise Invalid(f"you may ask {spec.subquestions_left} more sub-question(s) here, not {len(subs)}")
    long = [q for q in subs if len(q) > MAX_SUBQUESTION]
    if long:
        raise Invalid(f"a sub-question is {len(long[0])} characters; keep each under {MAX_SUBQUESTION}")
    if end and not spec.can_end and not subs:
        raise Invalid("the protocol does not let you end the game at this round; continue instead")
    pa = a / 100
    return Judgment((pa, 1 - pa), end=end and not subs, explanation=explanation, subquestions=subs)
