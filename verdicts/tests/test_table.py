"""The claim table: six outcomes, each its own word, symbol and colour; everything not ours escaped once."""

import re

from markupsafe import Markup

from verdicts import Outcome, claim_table_html, claim_table_text
from verdicts.table import STYLE

ROW = {"id": "c<1>", "who": "A & B", "statement": "<script>alert(1)</script>", "published": "30 % (\"Table 1\")",
       "ours": "12 % & more", "verdict": Outcome.INCONCLUSIVE, "seeds_held": "1 of 3 seeds",
       "tests": [{"name": "effect <x>", "value": 0.12, "ci": [0.05, 0.2], "sense": ">=", "margin": 0.1,
                  "percent": True, "outcome": "inconclusive"}],
       "premises": [{"name": "contrast", "value": 3.2, "ci": None, "sense": ">=", "threshold": 1.0, "percent": False,
                     "outcome": "holds"}]}


def test_each_outcome_has_its_own_symbol_and_colour_and_is_written_out():
    assert set(STYLE) == set(Outcome)
    assert len({s for s, _, _ in STYLE.values()}) == 6 and len({c for _, c, _ in STYLE.values()}) == 6
    html = claim_table_html([{"id": o.name, "verdict": o.value} for o in Outcome])
    for o in Outcome:
        assert re.search(rf'aria-hidden="true">{STYLE[o][0]}</span> {o.value}</span>', html)
    text = claim_table_text([{"id": o.name, "verdict": o} for o in Outcome])
    assert [line.split("  ")[0] for line in text.splitlines()] == [f"{STYLE[o][0]} {o.value}" for o in Outcome]


def test_everything_not_ours_is_escaped_once():
    html = claim_table_html([ROW])
    assert isinstance(html, Markup) and "<script>" not in html and "&lt;script&gt;" in html
    assert "c&lt;1&gt;" in html and "A &amp; B" in html and "12 % &amp; more" in html
    assert "&amp;lt;" not in html and "&amp;amp;" not in html  # never twice
    assert Markup("<div>{}</div>").format(html).count("<table") == 1  # embedding it does not escape it again
    assert "effect &lt;x&gt; 12 % [5 %, 20 %] (&gt;= 10 %): inconclusive" in html


def test_the_text_table_uses_the_outcome_words():
    text = claim_table_text([ROW, {**ROW, "id": "d", "verdict": "does not hold", "ours": "–"}])
    assert "FAILS" not in text and "does not hold" in text
    assert "\u25d0 inconclusive (1 of 3 seeds)" in text and "ours: 12 % & more" in text
    assert "    test: effect <x> 12 % [5 %, 20 %] (>= 10 %): inconclusive" in text
    assert "    premise: contrast 3.2 (>= 1): holds" in text
    needing = claim_table_text([{**ROW, "tests": [{**ROW["tests"][0], "seeds_to_decide": 9}]}])
    assert "inconclusive (about 9 seeds would decide it)" in needing
