"""The tiny reproduction end to end, resuming an interrupted batch, the report, and the command line."""

import json
import re

import pytest

from felab import batch, cli
from felab.batch import Condition
from felab.data import synthetic
from felab.report import render, segments_html
from felab.reproduce import PRESETS, reproduce


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    return out, reproduce(PRESETS["tiny"], out)


def test_tiny_reproduction_writes_results_claims_and_report(tiny):
    out, res = tiny
    assert res["simulated"] and json.loads((out / "results.json").read_text()) == res
    assert {c["id"] for c in res["claims"]} == {"sim_debate_beats_consultancy", "sim_fe_closes_incentive_gap",
                                                "sim_verification_matters"}
    assert all(c["verdict"] in ("holds", "does not hold", "inconclusive", "not testable") for c in res["claims"])
    assert (out / "seed-0" / "results.json").exists() and not list(out.glob(".seed-0*"))
    html = (out / "report.html").read_text()
    assert "Simulated." in html and "<svg" in html and "sim_fe_closes_incentive_gap" in html
    assert not re.search(r"<script|https?://", html)  # self-contained
    assert res["conditions"]["oracle_judge"]["accuracy"] >= 0.9 and res["conditions"]["blind"]["accuracy"] == 0.5


def test_interrupted_batch_resumes_from_stored_games(tmp_path):
    worlds = synthetic.generate(6, seed=1)
    conds = [Condition("d", "debate_sequential", "weigher", ("honest", "malicious"))]
    log = tmp_path / "games.jsonl"
    full = batch.run(conds, worlds, log, seed=1)
    lines = log.read_text().splitlines(keepends=True)
    assert len(lines) == 6
    log.write_text("".join(lines[:3]) + lines[3][:40])  # killed while writing the fourth game
    played = []
    real = batch.play

    def counting(*a, **k):
        played.append(1)
        return real(*a, **k)

    batch.play = counting
    try:
        again = batch.run(conds, worlds, log, seed=1)
    finally:
        batch.play = real
    assert len(played) == 3 and again == full and len(log.read_text().splitlines()) == 6
    # a changed setting never reuses stored games
    other = batch.run([Condition("d", "debate_sequential", "credulous", ("honest", "malicious"))], worlds, log, 1)
    assert other["d"][0].seat("judge").agent == "credulous" and len(log.read_text().splitlines()) == 12
    log.write_text("garbage\n" + log.read_text())
    with pytest.raises(Exception, match="damaged"):
        batch.run(conds, worlds, log, seed=1)


def test_report_escapes_what_we_did_not_write():
    from felab.domain import Segment

    html = segments_html([Segment("<b>plain</b>"), Segment("<i>v</i>", True, (0, 8), True),
                          Segment("<script>u</script>", True)])
    assert "<b>" not in html and "&lt;script&gt;" in html and 'class="v"' in html and 'class="u"' in html
    page = render({"conditions": {"<x>": {"protocol": "<p>", "judge": "j", "experts": [], "n": 1,
                                          "accuracy": 0.5, "accuracy_ci": [0.1, 0.9], "reliability": []}}})
    assert "<x>" not in page and "&lt;x&gt;" in page


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"name": "x", "experts": "debate", "rounds": [{"type": "crossfire"},
                                                                           {"type": "judge"}]}))
    noq = tmp_path / "d.jsonl"
    noq.write_text(json.dumps({"document": {"id": "d", "text": "A b."}, "questions": []}) + "\n")
    quote = tmp_path / "q.jsonl"
    quote.write_text(json.dumps({"document": {"id": "d", "text": "A b."}, "questions": [
        {"id": "q", "text": "?", "options": ["a", "b"], "correct_index": 0, "support": [[2, 50]]}]}) + "\n")
    cases = [(["run", "--protocol", str(bad), "--out", str(tmp_path / "o")], "unknown round type 'crossfire'"),
             (["run", "--protocol", "debate_sequential", "--data", str(noq), "--out", str(tmp_path / "o")],
              "has no questions"),
             (["run", "--protocol", "debate_sequential", "--data", str(quote), "--out", str(tmp_path / "o")],
              "outside the document"),
             (["run", "--protocol", "debate_sequential", "--judge", "wizard", "--out", str(tmp_path / "o")],
              "no judge agent"),
             (["reproduce", "--preset", "tiny", "--seeds", "x", "--out", str(tmp_path / "r")], "--seeds"),
             (["report", str(tmp_path / "nothing")], "not found")]
    for argv, msg in cases:
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        err = capsys.readouterr().err
        assert e.value.code == 2 and msg in err and err.count("\n") == 1, (argv, err)


def test_cli_run_report_and_gen(tmp_path, capsys):
    f = tmp_path / "w.jsonl"
    assert cli.main(["gen-synthetic", "--questions", "4", "--seed", "3", "--out", str(f)]) == 0
    assert cli.main(["run", "--protocol", "ought_fe_strict", "--judge", "weigher", "--experts",
                     "honest,fabricator", "--data", str(f), "--out", str(tmp_path / "run")]) == 0
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    assert res["simulated"] and res["conditions"]["ought_fe_strict"]["n"] == 4
    assert "per_depth" in res["conditions"]["ought_fe_strict"]
    (tmp_path / "run" / "report.html").unlink()
    assert cli.main(["report", str(tmp_path / "run")]) == 0
    assert "Transcripts" in (tmp_path / "run" / "report.html").read_text()


def test_report_shows_reanalysis_claims_apart_from_the_simulated():
    from verdicts import Outcome

    rows = [{"id": "nyu_accuracy", "verdict": Outcome.HOLDS, "statement": "<counts>", "tests": [], "premises": []}]
    page = render({"simulated": True, "claims": [], "conditions": {}}, reanalysis=rows)
    assert "Claims on published data" in page and "nyu_accuracy" in page and "&lt;counts&gt;" in page
