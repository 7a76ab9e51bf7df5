"""Uncertainty helpers against values computed by hand, and claims judged over seeds."""

import json
import math

import pytest

from notbugs.cli import main
from notbugs.core.stats import bootstrap, bootstrap_means
from notbugs.core.values import ByNumber, summarise
from notbugs.frame.base import ERROR, FAILS, HOLDS, INCONCLUSIVE, NOT_RUN, NOT_TESTABLE
from notbugs.running.seeds import combine_claim
from verdicts import Bound, Proportion, UsageError, judged_test, mean_sd, parse_seeds, premise_row, t_interval


def test_mean_sd_and_summarise():
    assert mean_sd([1.0]) == (1.0, 0.0)
    m, sd = mean_sd([1.0, 2.0, 4.0])
    assert m == pytest.approx(7 / 3)
    assert sd == pytest.approx(math.sqrt(((1 - m) ** 2 + (2 - m) ** 2 + (4 - m) ** 2) / 2))
    trees = [{"a": Proportion(0.5, 100), "b": {"c": [1.5, 2.0]}, "name": "x", "flag": True, "only_here": 1.0,
              "d": [1, 2], "images": 5000, "wrong": 18, "r": ByNumber({0.5: Proportion(0.1, 10)})},
             {"a": Proportion(0.7, 100), "b": {"c": [3.5, 4.0]}, "name": "y", "flag": False, "d": [1],
              "images": 5000, "wrong": 21, "r": ByNumber({0.5: Proportion(0.3, 10)})}]
    s = summarise(trees)
    assert s["a"]["mean"] == pytest.approx(0.6) and s["a"]["values"] == [0.5, 0.7] and s["a"]["kind"] == "proportion"
    assert s["b"]["c"][1]["mean"] == 3.0 and s["b"]["c"][1]["kind"] == "number"
    assert s["r"][0.5]["mean"] == pytest.approx(0.2)
    # a setting shared by every seed (transfer_images: 5000) is no measurement, and a count is never averaged
    assert "images" not in s and s["wrong"] == {"values": [18, 21], "kind": "count"}
    assert set(s) == {"a", "b", "r", "wrong"}  # text, booleans, keys one seed lacks, lists of other lengths: left out


def _seed_row(verdict, gap, premise=0.05):
    """One seed's claim row as ``base.claim_rows`` writes it: a gap test (>= 0.25) and a premise (<= 0.10)."""
    test = judged_test(Bound("gap", ">=", 0.25), gap)
    prem = premise_row(Bound("distance", "<=", 0.10), premise)
    return {"id": "c", "who": "w", "statement": "s", "published": "p", "evidence": "e", "verdict": verdict,
            "ours": f"{gap}", "tests": [test], "premises": [prem]}


def test_claims_over_seeds():
    held = combine_claim([_seed_row(HOLDS, 0.30), _seed_row(HOLDS, 0.32), _seed_row(HOLDS, 0.31)], [3, 7, 9])
    assert held["verdict"] == HOLDS and held["seeds_held"] == "3 of 3 seeds" and held["ours"] == "0.3 / 0.32 / 0.31"
    assert held["evidence"] == "seed 3: e; seed 7: e; seed 9: e"
    test = held["tests"][0]
    assert math.isclose(test["value"], 0.31) and test["ci"] == t_interval([0.30, 0.32, 0.31])
    assert test["outcomes"] == [HOLDS] * 3
    # two seeds of three hold on their own, but the interval over seeds straddles the margin: not decided
    spread = combine_claim([_seed_row(HOLDS, 0.30), _seed_row(FAILS, 0.10), _seed_row(HOLDS, 0.31)], [0, 1, 2])
    assert spread["verdict"] == INCONCLUSIVE and spread["held"] == 2 and spread["seeds_held"] == "2 of 3 seeds"
    assert spread["per_seed"] == [HOLDS, FAILS, HOLDS]
    below = combine_claim([_seed_row(FAILS, 0.10), _seed_row(FAILS, 0.12), _seed_row(FAILS, 0.11)], [0, 1, 2])
    assert below["verdict"] == FAILS
    # premises are judged by their interval over seeds too
    unmet = combine_claim([_seed_row(HOLDS, 0.30, 0.20), _seed_row(HOLDS, 0.32, 0.21)], [0, 1])
    assert unmet["verdict"] == NOT_TESTABLE and unmet["premises"][0]["outcome"] == FAILS
    undecided = combine_claim([_seed_row(HOLDS, 0.30, 0.02), _seed_row(HOLDS, 0.32, 0.15)], [0, 1])
    assert undecided["verdict"] == INCONCLUSIVE and undecided["premises"][0]["outcome"] == INCONCLUSIVE
    one = combine_claim([_seed_row(FAILS, 0.10)], [0])
    assert one["verdict"] == FAILS  # a single seed keeps its own verdict
    assert combine_claim([_seed_row(HOLDS, 0.3), {**_seed_row(ERROR, 0.3), "tests": []}], [0, 1])["verdict"] == ERROR
    row = {"id": "c", "who": "w", "statement": "s", "published": "p", "evidence": "e"}
    not_run = combine_claim([{**row, "verdict": NOT_RUN, "ours": "–"}] * 2, [0, 1])
    assert not_run["verdict"] == NOT_RUN and not_run["ours"] == "–"
    assert parse_seeds("0, 1,2") == [0, 1, 2]
    for bad in ("a,b", "1,1", ""):
        with pytest.raises(UsageError, match="--seeds"):
            parse_seeds(bad)


@pytest.mark.slow
def test_reproduce_over_seeds(tmp_path, capsys):
    out = tmp_path / "seeds"
    assert main(["reproduce", "paper", "--preset", "tiny", "--seeds", "0,1", "--out", str(out), "--quiet"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["seeds"] == [0, 1] and set(res["per_seed"]) == {"0", "1"}
    for seed in ("0", "1"):  # each seed is an ordinary run with its own report
        single = json.loads((out / f"seed-{seed}" / "results.json").read_text())
        assert single["seed"] == int(seed) and (out / f"seed-{seed}" / "report.html").is_file()
        assert res["per_seed"][seed]["models"] == single["models"]
    accs = [res["per_seed"][s]["models"]["std"]["clean_accuracy"]["p"] for s in ("0", "1")]
    assert accs[0] != accs[1]  # the seeds really differ
    leaf = res["experiments"]["paper"]["summary"]["models"]["std"]["clean_accuracy"]
    assert leaf["values"] == accs and leaf["mean"] == pytest.approx(sum(accs) / 2)
    for claim in res["experiments"]["paper"]["claims"]:
        assert claim["seeds"] == 2 and claim["verdict"] != "not run"
        assert (claim["verdict"] == HOLDS) == (claim["held"] == 2)
        assert len(claim["tests"][0]["values"]) == 2  # each test's statistic on each seed, with its mean
    page = (out / "report.html").read_text()
    assert "seeds 0, 1" in page and "held on" in page and "of 2 seeds" in page and "seed-1/report.html" in page
    single_page = (out / "seed-0" / "report.html").read_text()
    assert "[" in single_page and "95 % interval" in single_page  # the paper's accuracies carry Wilson intervals
    std = res["per_seed"]["0"]["models"]["std"]["clean_accuracy"]
    assert std["ci"][0] <= accs[0] <= std["ci"][1] and std["n"] == 400


def test_bootstrap_means_agrees_with_normal_theory_and_with_the_plain_bootstrap():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, 4000)
    lo, hi = bootstrap_means(x[:, None], lambda m: m[:, 0])
    half = 1.959963984540054 * x.std(ddof=1) / math.sqrt(len(x))
    assert lo == pytest.approx(x.mean() - half, abs=0.2 * half) and hi == pytest.approx(x.mean() + half, abs=0.2 * half)
    # a ratio of means over pairs, against the one-value-at-a-time bootstrap of the same pairs
    pairs = rng.normal([1.0, 2.0], [0.5, 0.5], (300, 2))
    ours = bootstrap_means(pairs, lambda m: m[:, 0] / m[:, 1], rounds=4000)
    plain = bootstrap(lambda g: sum(p[0] for p in g[0]) / sum(p[1] for p in g[0]), [pairs.tolist()], rounds=4000)
    width = plain[1] - plain[0]
    assert ours == pytest.approx(plain, abs=0.1 * width)


def test_an_undecided_claim_over_seeds_says_how_many_seeds_would_decide_it():
    """Inconclusive over seeds: the test (and an undecided premise) carries the kernel's count of the seeds its
    observed spread would need, and the report prints it; a decided test carries none."""
    from notbugs.report import premise_text, statistic
    from verdicts import seeds_to_decide

    gaps = [0.30, 0.21, 0.31]
    spread = combine_claim([_seed_row(HOLDS, g, p) for g, p in zip(gaps, (0.02, 0.15, 0.05))], [0, 1, 2])
    test, premise = spread["tests"][0], spread["premises"][0]
    assert test["outcome"] == INCONCLUSIVE and test["seeds_to_decide"] == seeds_to_decide(gaps, 0.25) > 3
    assert f"about {test['seeds_to_decide']} seeds would decide it" in statistic(test)
    assert premise["outcome"] == INCONCLUSIVE and premise["seeds_to_decide"] == seeds_to_decide([0.02, 0.15, 0.05],
                                                                                                0.10, "<=")
    assert "seeds would decide it" in premise_text(premise)
    held = combine_claim([_seed_row(HOLDS, g) for g in (0.30, 0.32, 0.31)], [0, 1, 2])
    assert held["tests"][0]["seeds_to_decide"] is None and "would decide" not in statistic(held["tests"][0])


def test_the_paired_interval_covers_and_is_narrower_for_models_right_on_the_same_images():
    """Newcombe's method 10: about 95 % coverage on correlated pairs, narrower than the interval for independent
    samples there, the same as it when the table shows no correlation; and the booleans' text form round-trips."""
    import numpy as np

    from notbugs.core.stats import newcombe, newcombe_paired
    from notbugs.core.values import pack_bools, unpack_bools

    rng = np.random.default_rng(0)
    covered, narrower = 0, 0
    for _ in range(400):
        u = rng.random(1000)
        a, b = u < 0.20, u < 0.17  # the same images: the second model is right on a subset of the first's
        b = np.where(rng.random(1000) < 0.05, rng.random(1000) < 0.17, b)  # marginals stay 0.20 and 0.17
        lo, hi = newcombe_paired(a, b)
        covered += lo <= 0.03 <= hi
        ulo, uhi = newcombe(a.mean(), 1000, b.mean(), 1000)
        narrower += (hi - lo) < 0.6 * (uhi - ulo)
    assert 0.92 <= covered / 400 <= 0.98 and narrower == 400
    a = [True] * 50 + [False] * 50
    b = [True] * 30 + [False] * 20 + [True] * 10 + [False] * 40  # d = 0.5 - 0.4: only a 20, only b 10
    lo, hi = newcombe_paired(a, b)
    assert lo < 0.1 < hi and hi - lo < newcombe(0.5, 100, 0.4, 100)[1] - newcombe(0.5, 100, 0.4, 100)[0]
    independent = [True, False] * 50, [True] * 50 + [False] * 50  # ad - bc = 0: phi 0
    assert newcombe_paired(*independent) == pytest.approx(newcombe(0.5, 100, 0.5, 100))
    flags = rng.random(10_001) < 0.3
    assert unpack_bools(pack_bools(flags), len(flags)) == flags.tolist()
    with pytest.raises(ValueError):
        newcombe_paired(a, b[:10])
