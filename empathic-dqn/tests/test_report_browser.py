"""The tiny report as its reader sees it in Chromium: no tag or escaped tag in its text, each verdict with the
kernel's symbol and word (the console's too), and a tiny run that says first and last it is a smoke test."""

import json
import re

import pytest

from empathic.cli import main
from verdicts import browser
from verdicts.table import verdict_text


@pytest.mark.slow
def test_the_tiny_report_reads_right_in_a_browser(tmp_path, capsys):
    browser.require()
    out = tmp_path / "run"
    assert main(["reproduce", "--preset", "tiny", "--claims-only", "--world", "sharing", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("SMOKE TEST") and lines[-1].startswith("SMOKE TEST")
    seen = browser.seen(out / "report.html", select="table.claims .verdict")
    assert not re.findall(r"<[a-z/!][^>]*>?", seen.text) and "&lt;" not in seen.text, "tags show as text"
    assert not seen.broken_links
    claims = json.loads((out / "results.json").read_text())["claims"]
    words = [verdict_text({"verdict": c["verdict"]}) for c in claims]
    assert seen.selected == words
    console = "\n".join(lines)
    assert all(word in console for word in words)  # the console's words and symbols are the report's
