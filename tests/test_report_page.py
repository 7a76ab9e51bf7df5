"""The report as its reader sees it: its own markup is never escaped, values it did not write always are, and in a
browser every section (run, not run, stopped by an error) shows as a section the argument map's links land on."""

import json
import re

import pytest
from markupsafe import Markup, escape

from notbugs.core.storage import json_text
from notbugs.present.htmlparts import join, sanity_table, span
from notbugs.report import render, write_report
from notbugs.running.runner import make_preset, run_experiments
from verdicts.table import verdict_text

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def three_kinds(tmp_path_factory):
    """A tiny run with one experiment done (theory), one stopped by an error whose message holds a tag
    (linear_features), the others not run; the dataset's name holds a tag too."""
    import notbugs.experiments.linear_features as lf

    def broken(*args, **kwargs):
        raise RuntimeError(f"the pair broke {HOSTILE}")

    out = tmp_path_factory.mktemp("three")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lf, "two_class", broken)
        res = run_experiments(["theory", "linear_features"], make_preset("tiny"), out=out, progress=False)
    res = json.loads(json_text(res))
    res["dataset"] = f"folder:{HOSTILE}"
    assert [res["experiments"][n]["status"] for n in ("theory", "linear_features", "paper")] == \
        ["done", "error", "not run"]
    return out, res


def _own_markup_escaped(page: str) -> list[str]:
    """The escaped tags left once the hostile value's escaped copies are taken out: the page's own, escaped."""
    hostile = re.escape(str(escape(HOSTILE)))
    return re.findall(r"&lt;/?[a-z][a-z0-9]*", re.sub(hostile, "", page))


def test_composed_markup_stays_markup_and_text_added_to_it_is_escaped():
    assert isinstance(span("holds", "a") + " ", Markup)
    assert str(span("holds", "a") + " <b>") == '<span class="holds">a</span> &lt;b&gt;'
    assert str(join(["<i>", Markup("<p>a</p>") + Markup("<b>b</b>")])) == "&lt;i&gt;<p>a</p><b>b</b>"


def test_the_sanity_table_is_markup_not_escaped_text():
    models = {"std": {"sanity": {0.5: {"n": 10, "flags": [], "checks": [
        {"check": "fgsm", "passed": True, "detail": "fgsm 0.4 >= pgd 0.3"},
        {"check": "restarts", "passed": False, "detail": HOSTILE}]}}}}
    html = str(sanity_table(models))
    assert "&lt;" not in html.replace(str(escape(HOSTILE)), "")
    assert "<table>" in html and HOSTILE not in html


def test_no_section_of_a_run_shows_its_own_markup_escaped(three_kinds, tmp_path):
    _, res = three_kinds
    page = render(res, tmp_path)
    assert _own_markup_escaped(page) == []
    assert HOSTILE not in page and page.count(str(escape(HOSTILE))) >= 2  # the dataset and the error, escaped
    for name in res["experiments"]:  # done, error and not run alike: a heading the map can link to
        assert f'<h2 id="{name}">' in page
    assert "Experiments run:\ntheory, linear_features (stopped with an error)." in page


@pytest.mark.slow
def test_the_report_reads_right_in_a_browser(three_kinds):
    from verdicts import browser

    browser.require()
    out, res = three_kinds
    path = write_report(res, out / "report.html")
    seen = browser.seen(path, screenshot=out / "top.png", select="table.map tr td:last-child")
    assert HOSTILE in seen.text  # the hostile values are shown as the text they are, and nothing else is a tag
    assert not re.findall(r"<[a-z/!][^>]*>?", seen.text.replace(HOSTILE, "")), "tags show as text"
    assert "&lt;" not in seen.text
    assert seen.links and not seen.broken_links, f"links to nowhere: {seen.broken_links}"
    assert {tag for tag in seen.links.values()} == {"h2"}, seen.links  # each link of the map lands on a heading
    claims = [c for e in res["experiments"].values() if e.get("reason") != "not requested" for c in e["claims"]]
    assert len(seen.selected) == len(claims)
    for cell, claim in zip(seen.selected, claims):  # each verdict shows its symbol and its word, as the console does
        assert cell.startswith(verdict_text({"verdict": claim["verdict"]})), (cell, claim["verdict"])
    assert "linear_features: " in seen.text and "This experiment stopped with an error" in seen.text
    assert (out / "top.png").read_bytes().startswith(b"\x89PNG")


def test_a_premise_of_older_results_is_judged_by_its_interval():
    """Results written before premises had outcomes keep only ``passed``; an interval straddling the threshold was
    'not passed' there, and docs/experiments printed NOT MET for a premise that was only undecided."""
    from notbugs.report import premise_text

    old = {"name": "D_det accuracy on y", "value": 0.3162, "ci": [0.3072, 0.3254], "sense": ">=", "threshold": 0.317,
           "passed": False}
    assert premise_text(old).startswith("UNDECIDED")
    assert premise_text({**old, "ci": [0.300, 0.3169]}).startswith("NOT MET")
    assert premise_text({**old, "value": 0.33, "ci": [0.32, 0.34]}).startswith("met")
    assert premise_text({**old, "outcome": "does not hold"}).startswith("NOT MET")  # a newer row's own outcome
