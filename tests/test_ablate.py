"""notbugs ablate: each part of the paper's recipe against the preset's departure. The pairs it runs, the effect
as the paired difference over seeds (checked against each side's own results), the parts it cannot ablate, and a
tiny run end to end whose page shows no markup as text."""

import json

import pytest
from scipy import stats

from notbugs.cli import main
from notbugs.core.errors import NotbugsError
from notbugs.core.values import from_json
from notbugs.frame.presets import ADAM, SGD
from notbugs.frame.recipes import contrast, with_recipe
from notbugs.running.ablation import PRESET, effects, sides
from notbugs.running.runner import make_preset


def test_each_part_pairs_the_departure_with_the_papers_value():
    quick = make_preset("quick")
    departure, paper = contrast(quick, "sgd-fresh")  # quick's fresh models have the paper's SGD since issue 45
    assert paper == quick and {k: getattr(departure.fresh, k) for k in ADAM} == ADAM
    assert {k: getattr(quick.fresh, k) for k in SGD} == SGD and departure.std == quick.std
    departure, paper = contrast(quick, "augmented-models")  # still one flag away: the preset is the departure
    assert departure == quick and paper.std.crop_padding == 4
    with pytest.raises(NotbugsError, match="cifar10"):
        contrast(quick, "resnet50")
    inverted = with_recipe(quick, ("paper-inversion",))  # the paper's value with no departure kept: nothing to pair
    assert contrast(inverted, "paper-inversion") is None
    assert contrast(make_preset("cifar10"), "sgd-fresh") is None  # always SGD there: Adam was never its departure
    runs, plan, skipped = sides(quick, ("sgd-fresh", "augmented-models", "resnet50"))
    assert set(runs) == {PRESET, "sgd-fresh-departure", "augmented-models-paper"} and runs[PRESET] == quick
    assert plan["sgd-fresh"]["paper"] == PRESET and plan["augmented-models"]["departure"] == PRESET
    assert "cifar10" in skipped["resnet50"]


def _combined(values: dict[str, list], verdict: str, outcome: str | None = None) -> dict:
    tests = [{"name": n, "value": sum(v) / len(v), "values": v, "percent": True, "outcome": outcome or verdict}
             for n, v in values.items()]
    return {"experiments": {"paper": {"claims": [{"id": "gap", "verdict": verdict, "tests": tests, "premises": []}]}}}


def test_the_effect_is_the_paired_difference_with_its_t_interval_and_unmoved_statistics_drop():
    plan = {"p": {"departure": "a", "paper": "b"}}
    a = _combined({"moved": [0.50, 0.60, 0.70], "upstream": [0.9, 0.8, 0.85]}, "inconclusive")
    b = _combined({"moved": [0.60, 0.65, 0.90], "upstream": [0.9, 0.8, 0.85]}, "holds")
    rows = effects(plan, {"a": a, "b": b})
    assert [r["statistic"] for r in rows] == ["moved"]
    diffs = [0.10, 0.05, 0.20]
    mean, sem = sum(diffs) / 3, stats.sem(diffs)
    low, high = stats.t.interval(0.95, 2, loc=mean, scale=sem)
    row = rows[0]
    assert row["effect"] == pytest.approx(mean) and row["ci"] == pytest.approx([low, high])
    assert (row["departure_verdict"], row["paper_verdict"], row["pairs"]) == ("inconclusive", "holds", 3)
    # seeds that differ a lot but move together: paired, the effect is clear; two independent samples would not see it
    a = _combined({"moved": [0.20, 0.50, 0.80]}, "holds")
    b = _combined({"moved": [0.25, 0.56, 0.84]}, "holds")
    row = effects(plan, {"a": a, "b": b})[0]
    assert row["ci"][0] > 0
    assert stats.ttest_ind([0.25, 0.56, 0.84], [0.20, 0.50, 0.80]).pvalue > 0.5


def test_each_side_shows_the_statistics_own_outcome_beside_the_claims_verdict():
    """A premise met on one side while its claim stays inconclusive for its test: the row says both."""
    from notbugs.report.ablation import render, side_text

    plan = {"p": {"departure": "a", "paper": "b", "what": "w", "fields": ["x: 1 -> 2"]}}
    a = _combined({"premise": [0.05, 0.02, 0.06]}, "inconclusive")
    b = _combined({"premise": [-0.04, -0.03, -0.02]}, "inconclusive", outcome="holds")
    row = effects(plan, {"a": a, "b": b})[0]
    assert (row["paper_outcome"], row["paper_verdict"]) == ("holds", "inconclusive")
    assert side_text(row, "paper") == "-3.0 (holds)"
    page = render({"preset": "quick", "dataset": "<x>", "seeds": [0, 1, 2], "parts": plan, "rows": [row]})
    assert "&lt;x&gt;" in page and "<x>" not in page and page.count("v-holds") >= 2  # the legend's and the row's


def test_what_cannot_be_ablated_is_one_line(capsys, tmp_path):
    assert main(["ablate", "--preset", "tiny", "--seeds", "3", "--out", str(tmp_path / "a")]) == 2
    assert "two seeds" in capsys.readouterr().err
    assert main(["ablate", "--preset", "tiny", "--seeds", "0,1", "--parts", "nope", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--parts takes" in err
    assert main(["ablate", "--preset", "tiny", "--seeds", "0,1", "--parts", "resnet50", "--out",
                 str(tmp_path / "a")]) == 2
    assert "nothing to ablate" in capsys.readouterr().err and not (tmp_path / "a").exists()


@pytest.mark.slow
def test_a_tiny_ablation_end_to_end(tmp_path, capsys):
    out = tmp_path / "ablate"
    assert main(["ablate", "--preset", "tiny", "--seeds", "0,1", "--parts", "sgd-fresh", "--out", str(out),
                 "--cache", str(tmp_path / "cache"), "--quiet"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["parts"]["sgd-fresh"]["departure"] == PRESET  # tiny trains its fresh models with Adam
    sides_ = {label: json.loads((out / label / "results.json").read_text()) for label in (PRESET, "sgd-fresh-paper")}
    assert res["rows"] and {r["part"] for r in res["rows"]} == {"sgd-fresh"}
    for row in res["rows"]:  # each effect from the two sides' own per-seed results
        per = []
        for seed in (0, 1):
            value = {}
            for label, results in sides_.items():
                claim = next(c for c in results["per_seed"][str(seed)]["experiments"][row["experiment"]]["claims"]
                             if c["id"] == row["claim"])
                v = next(t["value"] for t in claim[row["kind"] + "s"] if t["name"] == row["statistic"])
                value[label] = float(from_json(v))  # a proportion or an estimate with its interval
            per.append(value["sgd-fresh-paper"] - value[PRESET])
        assert row["effect"] == pytest.approx(sum(per) / 2)
    stats_ = {r["statistic"] for r in res["rows"]}
    assert "D_NR clean accuracy" in stats_  # downstream of the fresh models
    assert not any("standard model" in s and "minus" not in s and "D_" not in s for s in stats_)  # upstream: none
    for label in sides_:  # each side's seeds as reproduce --seeds writes them, which its page links to
        assert all((out / label / f"seed-{s}" / "report.html").is_file() for s in (0, 1))
    page = (out / "report.html").read_text()
    assert "&lt;" not in page and "sgd-fresh" in page and "fresh.optimizer" in page
    printed = capsys.readouterr().out
    assert "effect (paper" in printed and "SMOKE TEST" in printed and "smoke test, not evidence" in page
