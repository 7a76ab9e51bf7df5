"""Quote verification, requoting and budgets (felab.text)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from felab.domain import BadInput, Segment, Speech
from felab.text import (
    find_quote,
    fit_speech,
    normalize,
    quote_chars,
    redact_copies,
    requote,
    sentences,
    similarity,
    verify_quote,
    verify_span,
)

DOC = ("The old engineer, Mara Voss, repaired the lighthouse at Kell Point. Later she moved to Ashford \u2014 "
       "a town of \u201cquiet\u201d streets. \u2018No,\u2019 said Tomas; he didn't agree.")


@pytest.mark.parametrize("quote,expect", [
    ("Mara Voss repaired the lighthouse", "Mara Voss, repaired the lighthouse"),   # punctuation dropped
    ("mara   VOSS repaired the lighthouse", "Mara Voss, repaired the lighthouse"),  # case and spaces
    ('a town of "quiet" streets', "a town of \u201cquiet\u201d streets"),          # curly quotes unified
    ("Ashford - a town", "Ashford \u2014 a town"),                                 # Unicode dash removed
    ("he didnt agree", "he didn't agree"),                                         # apostrophe removed
    ("'No,' said Tomas", "No,\u2019 said Tomas"),
])
def test_free_text_quotes_verify_with_the_documents_characters(quote, expect):
    seg = verify_quote(DOC, quote)
    assert seg.verified and seg.text == expect and DOC[seg.span[0]:seg.span[1]] == expect


@pytest.mark.parametrize("quote", ["Mara Voss mended the lighthouse", "he did agree", "", "  ", "ol",
                                   "repaired the light"])
def test_quotes_not_in_the_document_stay_unverified(quote):
    seg = verify_quote(DOC, quote)
    assert not seg.verified and seg.span is None and seg.text == quote


def test_similarity_is_diagnostic_only():
    seg = verify_quote(DOC, "the old engineer Mara Voss repaired the lighthouse at Kell Harbour")
    assert not seg.verified and 0.5 < seg.similarity < 1.0
    assert similarity(DOC, "the old engineer") == 1.0


@pytest.mark.parametrize("span", [(-1, 5), (0, len(DOC) + 1), (5, 5), (9, 3)])
def test_span_outside_the_document_is_bad_input(span):
    with pytest.raises(BadInput, match="outside the document"):
        verify_span(DOC, *span)


def test_span_quote_is_verified_by_construction():
    assert verify_span(DOC, 4, 12) == Segment("old engi", quote=True, span=(4, 12), verified=True)


def test_fit_speech_counts_verified_characters_only_and_never_exceeds_limits():
    v1, v2 = verify_span(DOC, 0, 30), verify_span(DOC, 40, 70)
    sp = Speech((Segment("intro "), v1, Segment("made up words", quote=True), v2))
    out = fit_speech(sp, char_limit=None, quote_limit=40)
    assert quote_chars(out.segments) == 40
    assert out.segments[3].text == DOC[40:50] and out.segments[3].span == (40, 50)
    assert out.segments[2].text == "made up words"  # unverified: not counted against the quote limit
    short = fit_speech(sp, char_limit=20, quote_limit=None)
    assert sum(len(s.text) for s in short.segments) == 20 and short.segments[1].span == (0, 14)


def test_requote_turns_copied_runs_into_verified_quotes():
    segs = requote(DOC, (Segment("I say the old engineer Mara Voss repaired it."),))
    assert [s.verified for s in segs] == [False, True, False]
    assert segs[1].text == "The old engineer, Mara Voss, repaired"
    # a partly invented quote is split: the copied run verified, the rest still an unverified quote
    segs = requote(DOC, (Segment("Tomas Brandt repaired the lighthouse at Kell Point", quote=True),))
    assert segs[0] == Segment("Tomas Brandt ", quote=True) and segs[1].verified
    # runs the judge already has (the question) stay plain text
    assert requote(DOC, (Segment("who repaired the lighthouse at Kell Point?"),),
                   public="Who repaired the lighthouse at Kell Point?") == (
        Segment("who repaired the lighthouse at Kell Point?"),)
    assert redact_copies(DOC, "it was the old engineer Mara Voss repaired ok") == "it was [\u2026] ok"


def test_sentences_have_offsets():
    spans = sentences(DOC)
    assert DOC[spans[0][0]:spans[0][1]] == "The old engineer, Mara Voss, repaired the lighthouse at Kell Point."
    assert len(spans) == 3


words = st.sampled_from("the a lighthouse Mara Voss moved to Ashford never storm quay harbour".split())
text_st = st.lists(words, min_size=1, max_size=40).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(doc=text_st, quote=st.text(alphabet="abcdefghij \u201c\u201d'.,MV", max_size=30), a=st.integers(0, 200),
       b=st.integers(0, 200))
def test_verification_properties(doc, quote, a, b):
    for q in (quote, doc[min(a, b):max(a, b)]):
        seg = verify_quote(doc, q)
        if seg.verified:  # verified text is the document's own, at its span, and means the same words
            assert doc[seg.span[0]:seg.span[1]] == seg.text
            assert normalize(seg.text) == normalize(q)
        else:
            assert seg.span is None and find_quote(doc, q) is None


@settings(max_examples=200, deadline=None)
@given(doc=text_st, said=text_st, limit=st.integers(0, 60))
def test_requote_and_budget_properties(doc, said, limit):
    segs = fit_speech(Speech(requote(doc, (Segment(said), Segment(said, quote=True)))), None, limit).segments
    assert quote_chars(segs) <= limit
    dw = normalize(doc).split()
    grams = {tuple(dw[i:i + 5]) for i in range(len(dw) - 4)}
    for s in segs:
        if s.verified:
            assert doc[s.span[0]:s.span[1]] == s.text
        else:  # nothing of five words or more copied from the document survives outside a verified quote
            w = normalize(s.text).split()
            assert not {tuple(w[i:i + 5]) for i in range(len(w) - 4)} & grams
