"""felab's tiny report as its reader sees it in Chromium: no tag or escaped tag in its visible text, every in-page
link lands, and each claim's verdict shows the kernel's symbol and word, with the simulation labelled."""

import re

import pytest

from felab.reproduce import PRESETS, reproduce
from verdicts import browser
from verdicts.table import verdict_text


@pytest.mark.slow
def test_the_tiny_report_reads_right_in_a_browser(tmp_path):
    browser.require()
    out = tmp_path / "tiny"
    results = reproduce(PRESETS["tiny"], out)
    seen = browser.seen(out / "report.html", select="table.claims .verdict")
    assert not re.findall(r"<[a-z/!][^>]*>?", seen.text) and "&lt;" not in seen.text, "tags show as text"
    assert not seen.broken_links
    assert "Simulated" in seen.text
    assert seen.selected == [verdict_text({"verdict": c["verdict"]}) for c in results["claims"]]
