"""The hidden text: sentences with character offsets, quote verification, and quote budgets.

Two ways a quote enters a speech, one result (a ``Segment``):
- a span ``(begin, end)`` chosen in the document (people, as NYU): verified by construction; a span outside the
  document is refused (``BadInput``);
- free text (models, as Khan et al.'s ``TranscriptParser``): verified when its normalised form occurs in the
  normalised document. Normalisation as UCL's ``normalize_text``: curly quotes unified, punctuation removed,
  lower case, whitespace collapsed. Departure: we also remove Unicode punctuation (dashes, guillemets), which
  UCL's ``string.punctuation`` keeps, so an em-dash typed as a hyphen still matches. The match is mapped back to
  the raw characters, and the verified segment carries the *document's* characters there, never the expert's
  version of them. A word 3-gram similarity is kept for audits of unverified quotes; it never makes a quote
  verified (UCL issue #2's false negatives are accepted, as its maintainer did).

Budgets count verified quote characters only (NYU's quote limit); an unverified quote counts as ordinary text.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache

from .domain import BadInput, Segment, Span, Speech

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+[\"')\u201d\u2019]*|$)")


def _is_punct(c: str) -> bool:
    return c in string.punctuation or unicodedata.category(c).startswith("P")


def normalize(text: str) -> str:
    """UCL's normalisation (plus Unicode punctuation): unify quotes, drop punctuation, lower, collapse spaces."""
    return _normalize_with_map(text)[0]


@lru_cache(maxsize=64)
def _normalize_with_map(text: str) -> tuple[str, tuple[int, ...]]:
    """The normalised text and, for each of its characters, the raw index it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, c in enumerate(text.translate(_QUOTES)):
        if c.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                where.append(i)
        elif not _is_punct(c):
            for lc in c.lower():
                out.append(lc)
                where.append(i)
    if out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), tuple(where)


def verify_span(document: str, begin: int, end: int) -> Segment:
    """A quote chosen as a span of the document: verified by construction. Refuses spans outside the text."""
    if not (isinstance(begin, int) and isinstance(end, int)) or not 0 <= begin < end <= len(document):
        raise BadInput(f"quote span ({begin}, {end}) is outside the document (0 to {len(document)} characters); "
                       "choose a non-empty span inside it")
    return Segment(document[begin:end], quote=True, span=(begin, end), verified=True)


def find_quote(document: str, quote: str) -> Span | None:
    """The raw span of the document whose normalised form equals the quote's normalised form (first match)."""
    q = normalize(quote)
    if not q:
        return None
    norm, where = _normalize_with_map(document)
    at = norm.find(q)
    if at < 0:
        return None
    # the match must start and end on word boundaries of the normalised text, so "he" does not verify inside "the"
    while at >= 0 and not _on_word_boundaries(norm, at, at + len(q)):
        at = norm.find(q, at + 1)
    if at < 0:
        return None
    return where[at], where[at + len(q) - 1] + 1


def _on_word_boundaries(norm: str, a: int, b: int) -> bool:
    return (a == 0 or norm[a - 1] == " ") and (b == len(norm) or norm[b] == " ")


def verify_quote(document: str, quote: str) -> Segment:
    """A quote given as free text: verified (with the document's own characters and span) or marked unverified
    with a diagnostic similarity."""
    span = find_quote(document, quote)
    if span is None:
        return Segment(quote, quote=True, verified=False, similarity=similarity(document, quote))
    return Segment(document[span[0]:span[1]], quote=True, span=span, verified=True)


def similarity(document: str, quote: str) -> float:
    """Diagnostic only (UCL's ``verify``): the share of the quote's word 3-grams found in the document, or of its
    words when it has fewer than three."""
    qw = normalize(quote).split()
    dw = normalize(document).split()
    n = 3 if len(qw) >= 3 else 1
    grams = [tuple(qw[i:i + n]) for i in range(len(qw) - n + 1)]
    if not grams:
        return 0.0
    have = {tuple(dw[i:i + n]) for i in range(len(dw) - n + 1)}
    return sum(g in have for g in grams) / len(grams)


def check_segment(document: str, seg: Segment) -> Segment:
    """Re-derive a quote segment's verification from the document, trusting nothing the speaker claimed: a span is
    checked against the text, free text is matched; plain text passes through."""
    if not seg.quote:
        return Segment(seg.text)
    if seg.span is not None:
        return verify_span(document, seg.span[0], seg.span[1])
    return verify_quote(document, seg.text)


def quote_chars(segments) -> int:
    """Characters of verified quotes: what a quote budget counts."""
    return sum(len(s.text) for s in segments if s.quote and s.verified)


def speech_chars(segments) -> int:
    return sum(len(s.text) for s in segments)


def fit_speech(speech: Speech, char_limit: int | None, quote_limit: int | None) -> Speech:
    """A speech cut to its limits, in order: verified quotes past ``quote_limit`` characters are shortened or
    dropped (NYU's ``enforceQuoteLimit``), then anything past ``char_limit`` characters is cut. A cut verified
    quote keeps a span matching its shortened text; a cut never splits a quote's mark."""
    out: list[Segment] = []
    quoted = used = 0
    for s in speech.segments:
        if s.quote and s.verified and quote_limit is not None:
            room = quote_limit - quoted
            if room <= 0:
                continue
            if len(s.text) > room:
                s = Segment(s.text[:room], True, (s.span[0], s.span[0] + room), True)
            quoted += len(s.text)
        if char_limit is not None:
            room = char_limit - used
            if room <= 0:
                break
            if len(s.text) > room:
                s = (Segment(s.text[:room], True, (s.span[0], s.span[0] + room), True) if s.verified
                     else Segment(s.text[:room], s.quote, None, False, s.similarity))
        used += len(s.text)
        out.append(s)
    return Speech(tuple(out), speech.answer, speech.target)


def sentences(text: str) -> list[Span]:
    """Sentence spans (end exclusive, surrounding space excluded): a sentence ends at . ! or ? and any closing
    quote marks. Good enough for the synthetic worlds and for agents that cite whole sentences."""
    spans = []
    for m in _SENTENCE.finditer(text):
        b, e = m.span()
        while b < e and text[b].isspace():
            b += 1
        while e > b and text[e - 1].isspace():
            e -= 1
        if e > b:
            spans.append((b, e))
    return spans


def words(text: str) -> list[str]:
    """Lower-case words without punctuation: the unit of the scripted agents' lexical reading."""
    return normalize(text).split()


MIN_RUN_WORDS = 5  # NYU's reconstruction keeps common runs of at least this many tokens (its min_tokens)


def _word_spans(text: str) -> tuple[list[str], list[Span]]:
    """Normalised words of ``text`` with the raw span each came from."""
    norm, where = _normalize_with_map(text)
    out_w, out_s, at = [], [], 0
    for w in norm.split(" "):
        if w:
            out_w.append(w)
            out_s.append((where[at], where[at + len(w) - 1] + 1))
        at += len(w) + 1
    return out_w, out_s


@lru_cache(maxsize=16)
def _doc_index(document: str, n: int):
    dw, ds = _word_spans(document)
    grams: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(dw) - n + 1):
        grams.setdefault(tuple(dw[i:i + n]), []).append(i)
    return dw, ds, grams


def requote(document: str, segments, min_words: int = MIN_RUN_WORDS, public: str = "") -> tuple[Segment, ...]:
    """Every run of at least ``min_words`` words that a speech copies from the document, in plain text or inside
    an unverified quote, becomes a verified quote of the document's own characters (NYU's
    ``recursivelyReconstructQuotes``, applied to plain text too). So whatever of the document reaches a judge is
    a verified quote, counted against the quote budget; the rest of an unverified quote stays unverified.
    Words the judge already has (``public``: the question and options) may be repeated freely."""
    dw, ds, grams = _doc_index(document, min_words)
    pw = normalize(public).split()
    known = {tuple(pw[i:i + min_words]) for i in range(len(pw) - min_words + 1)}
    out: list[Segment] = []
    for seg in segments:
        if seg.quote and seg.verified:
            out.append(seg)
            continue
        sw, ss = _word_spans(seg.text)
        i, last = 0, 0  # last: raw offset in seg.text already emitted
        while i <= len(sw) - min_words:
            gram = tuple(sw[i:i + min_words])
            starts = None if gram in known else grams.get(gram)
            if not starts:
                i += 1
                continue
            best, best_len = starts[0], 0
            for p in starts:
                k = min_words
                while (i + k < len(sw) and p + k < len(dw) and sw[i + k] == dw[p + k]
                       and tuple(sw[i + k - min_words + 1:i + k + 1]) not in known):
                    k += 1
                if k > best_len:
                    best, best_len = p, k
            b, e = ss[i][0], ss[i + best_len - 1][1]
            if b > last:
                out.append(_rest(seg, seg.text[last:b]))
            db, de = ds[best][0], ds[best + best_len - 1][1]
            out.append(Segment(document[db:de], quote=True, span=(db, de), verified=True))
            last, i = e, i + best_len
        if last < len(seg.text):
            out.append(_rest(seg, seg.text[last:]))
    return tuple(s for s in out if s.text.strip() or (s.quote and s.verified))


def _rest(seg: Segment, text: str) -> Segment:
    return Segment(text, quote=True, verified=False, similarity=seg.similarity) if seg.quote else Segment(text)


def redact_copies(document: str, text: str, min_words: int = MIN_RUN_WORDS, public: str = "") -> str:
    """``text`` with any run of ``min_words`` or more words copied from the document replaced by '[…]': for free
    text that has no quote budget (an expert's proposed answer)."""
    parts = requote(document, (Segment(text),), min_words, public)
    return "".join("[\u2026]" if (s.quote and s.verified) else s.text for s in parts)
