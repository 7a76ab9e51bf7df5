"""Uncertainty helpers against values computed by hand, and claims judged over seeds."""

import json
import math

import pytest

from notbugs.cli import main
from notbugs.experiments.base import ERROR, FAILS, HOLDS, NOT_RUN
from notbugs.experiments.seeds import combine_claim, parse_seeds
from notbugs.errors import NotbugsError
from notbugs.stats import mean_sd, summarise, wilson, with_intervals


def test_wilson_matches_the_closed_form():
    lo, hi = wilson(0.5, 100)  # centre 0.5, half-width z/(1+z^2/n) * sqrt(1/400 + z^2/40000)
    z = 1.959963984540054
    half = z / (1 + z * z / 100) * math.sqrt(0.25 / 100 + z * z / 40000)
    assert lo == pytest.approx(0.5 - half) and hi == pytest.approx(0.5 + half)
    assert (round(lo, 4), round(hi, 4)) == (0.4038, 0.5962)
    lo, hi = wilson(0.0, 10)  # at 0 the interval is [0, z^2 / (n + z^2)], not a degenerate point
    assert lo == 0.0 and hi == pytest.approx(z * z / (10 + z * z))
    assert wilson(1.0, 10)[1] == 1.0 and wilson(1.0, 10)[0] == pytest.approx(10 / (10 + z * z))
    assert wilson(0.9, 10000)[1] - wilson(0.9, 10000)[0] < wilson(0.9, 500)[1] - wilson(0.9, 500)[0]
    with pytest.raises(ValueError):
        wilson(0.5, 0)


def test_with_intervals_sits_beside_each_named_proportion():
    d = {"acc": 0.5, "robust": {"1": 0.2, "2": 0.0}, "other": 3.0}
    assert with_intervals(d, 100, "acc", "robust") is d
    assert d["acc_ci"] == wilson(0.5, 100) and d["robust_ci"] == {"1": wilson(0.2, 100), "2": wilson(0.0, 100)}
    assert "other_ci" not in d
    with pytest.raises(KeyError):
        with_intervals(d, 100, "missing")


def test_mean_sd_and_summarise():
    assert mean_sd([1.0]) == (1.0, 0.0)
    m, sd = mean_sd([1.0, 2.0, 4.0])
    assert m == pytest.approx(7 / 3) and sd == pytest.approx(math.sqrt(((1 - m) ** 2 + (2 - m) ** 2 + (4 - m) ** 2) / 2))
    trees = [{"a": 0.5, "a_ci": [0.4, 0.6], "b": {"c": [1, 2]}, "name": "x", "flag": True, "only_here": 1.0,
              "d": [1, 2]},
             {"a": 0.7, "a_ci": [0.6, 0.8], "b": {"c": [3, 4]}, "name": "y", "flag": False, "d": [1]}]
    s = summarise(trees)
    assert s["a"]["mean"] == pytest.approx(0.6) and s["a"]["values"] == [0.5, 0.7]
    assert s["b"]["c"][1]["mean"] == 3.0
    assert set(s) == {"a", "b"}  # text, booleans, keys one seed lacks, lists of other lengths, intervals: left out


def test_claims_over_seeds():
    row = {"id": "c", "who": "w", "statement": "s", "published": "p", "evidence": "e"}
    held = combine_claim([{**row, "verdict": HOLDS, "ours": "1"}, {**row, "verdict": HOLDS, "ours": "2"}], [3, 7])
    assert held["verdict"] == HOLDS and held["seeds_held"] == "2 of 2 seeds" and held["ours"] == "1 / 2"
    assert held["evidence"] == "seed 3: e; seed 7: e"
    mixed = combine_claim([{**row, "verdict": HOLDS, "ours": "1"}, {**row, "verdict": FAILS, "ours": "0"},
                           {**row, "verdict": HOLDS, "ours": "1"}], [0, 1, 2])
    assert mixed["verdict"] == FAILS and mixed["held"] == 2 and mixed["seeds_held"] == "2 of 3 seeds"
    assert combine_claim([{**row, "verdict": HOLDS, "ours": "1"}, {**row, "verdict": ERROR, "ours": "–"}], [0, 1])["verdict"] == ERROR
    not_run = combine_claim([{**row, "verdict": NOT_RUN, "ours": "–"}] * 2, [0, 1])
    assert not_run["verdict"] == NOT_RUN and not_run["ours"] == "–"
    assert parse_seeds("0, 1,2") == [0, 1, 2]
    for bad in ("a,b", "1,1", ""):
        with pytest.raises(NotbugsError, match="--seeds"):
            parse_seeds(bad)


def test_reproduce_over_seeds(tmp_path, capsys):
    out = tmp_path / "seeds"
    assert main(["reproduce", "paper", "--preset", "tiny", "--seeds", "0,1", "--out", str(out), "--quiet"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["seeds"] == [0, 1] and set(res["per_seed"]) == {"0", "1"}
    for seed in ("0", "1"):  # each seed is an ordinary run with its own report
        single = json.loads((out / f"seed-{seed}" / "results.json").read_text())
        assert single["seed"] == int(seed) and (out / f"seed-{seed}" / "report.html").is_file()
        assert res["per_seed"][seed]["models"] == single["models"]
    accs = [res["per_seed"][s]["models"]["std"]["clean_accuracy"] for s in ("0", "1")]
    assert accs[0] != accs[1]  # the seeds really differ
    leaf = res["experiments"]["paper"]["summary"]["models"]["std"]["clean_accuracy"]
    assert leaf["values"] == accs and leaf["mean"] == pytest.approx(sum(accs) / 2)
    for claim in res["experiments"]["paper"]["claims"]:
        assert claim["seeds"] == 2 and claim["verdict"] in (HOLDS, FAILS)
        assert (claim["verdict"] == HOLDS) == (claim["held"] == 2)
    page = (out / "report.html").read_text()
    assert "seeds 0, 1" in page and "held on" in page and "of 2 seeds" in page and "seed-1/report.html" in page
    single_page = (out / "seed-0" / "report.html").read_text()
    assert "[" in single_page and "95 % interval" in single_page  # the paper's accuracies carry Wilson intervals
    ci = res["per_seed"]["0"]["models"]["std"]["clean_accuracy_ci"]
    assert ci[0] <= accs[0] <= ci[1]
