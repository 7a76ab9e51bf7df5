"""The experiments frame: the registry, `reproduce all` at the tiny preset, sharing, the report, failures."""

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from notbugs.cli import main
from notbugs.core.errors import NotbugsError
from notbugs.core.storage import json_text
from notbugs.core.values import shares
from notbugs.experiments import registry
from notbugs.frame import training
from notbugs.frame.base import FAILS, HOLDS, NOT_RUN
from notbugs.frame.lab import Lab
from notbugs.report import render
from notbugs.running.runner import make_preset, run_experiments
from notbugs.store.pipeline import Store
from verdicts import Outcome

NAMES = [e.name for e in registry.REGISTRY]


def test_registry_is_complete():
    """Every module of notbugs/experiments is an experiment of the registry (an added one is listed, once)."""
    folder = Path(registry.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "registry"}
    assert NAMES[0] == "paper" and len(NAMES) == len(set(NAMES)) and set(NAMES) == modules
    assert registry.references() and all(isinstance(e.reference, dict) for e in registry.REGISTRY)
    for e in registry.REGISTRY:
        assert e.question.endswith("?") and e.method and e.title
        assert {"quick", "tiny"} <= set(e.settings), e.name
        assert e.claims and all(c.statement and c.published and c.who for c in e.claims), e.name
        assert len({c.id for c in e.claims}) == len(e.claims)
        assert dataclasses.is_dataclass(e.settings["quick"](make_preset("quick"))), e.name


def test_a_dataset_brings_its_own_threat_settings():
    """--dataset mnist takes MNIST's eps from presets.THREATS; step sizes keep their ratio to eps; a dataset not
    named there (digits) keeps the preset's own, and so does the preset's own dataset."""
    from notbugs.frame.presets import THREATS

    quick, mnist = make_preset("quick"), make_preset("quick", dataset="mnist")
    threat = THREATS["mnist"]
    assert mnist.dataset == "mnist" and mnist.eval_eps == threat["eval_eps"]
    assert mnist.main_eval_eps == threat["main_eval_eps"] and mnist.main_eval_eps in mnist.eval_eps
    assert mnist.adv.eps == threat["adv_eps"]
    for name in ("adv", "rand", "det"):  # D_rand's and D_det's eps is the robust model's (None: follow it)
        before, after = getattr(quick, name), getattr(mnist, name)
        assert (after.eps is None) == (name != "adv")
        assert after.step_size / mnist.adv.eps == pytest.approx(before.step_size / quick.adv.eps)
    digits = make_preset("quick", dataset="digits")
    assert (digits.adv, digits.det, digits.eval_eps) == (quick.adv, quick.det, quick.eval_eps)
    assert make_preset("quick", dataset="fashion-mnist") == quick


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """`reproduce all` at the tiny preset, counting every model the store trains."""
    out = tmp_path_factory.mktemp("all")
    trained = Counter()
    real = training.train_model

    def counting(data, arch, cfg, folder, **kw):
        what = [data.name, len(data.train_x), float(data.train_x.sum()), int(data.train_y.sum())]  # the data itself
        trained[json.dumps([what, arch, cfg.to_dict(), kw.get("train_limit"), kw.get("arch_options")],
                           sort_keys=True)] += 1
        return real(data, arch, cfg, folder, **kw)

    training.train_model = counting
    try:
        res = run_experiments(["all"], make_preset("tiny"), out=out, progress=False)
    finally:
        training.train_model = real
    return out, res, trained


@pytest.mark.slow
def test_all_runs_every_experiment(everything):
    _, res, _ = everything
    assert list(res["experiments"]) == NAMES
    for name, entry in res["experiments"].items():
        assert entry["status"] == "done", (name, entry["error"])
        assert entry["results"] and entry["timings"]["wall"] >= 0
        declared = {c.id for c in registry.by_name()[name].claims}
        assert {c["id"] for c in entry["claims"]} == declared
        for c in entry["claims"]:
            assert c["verdict"] in set(Outcome) - {Outcome.ERROR} and c["evidence"]
            assert (c["holds"] is None) == (c["verdict"] not in (HOLDS, FAILS))
            assert (c["tests"] == []) == (c["verdict"] == NOT_RUN)  # every judged claim shows its statistic
    assert {"models", "datasets", "claims", "threat"} <= set(res)  # the paper's keys stay at the top level
    json.loads(json_text(res))


@pytest.mark.slow
def test_every_accuracy_carries_its_sample_size(everything):
    out, res, _ = everything
    without_accuracies = {"theory", "style"}  # closed forms and feature distances, no test-set proportions
    for name, entry in res["experiments"].items():
        found = list(shares(entry["results"]))
        assert bool(found) == (name not in without_accuracies), name
        for path, p in found:
            lo, hi = p.ci
            assert p.n >= 1 and 0 <= lo <= p <= hi <= 1, (name, path)
        section = registry.by_name()[name].section(entry)
        assert (name in without_accuracies) or "[" in section, name  # the report shows the intervals


@pytest.mark.slow
def test_shared_models_are_trained_once(everything):
    _, res, trained = everything
    assert trained and max(trained.values()) == 1, [k for k, v in trained.items() if v > 1]
    std_key = next(s["key"] for s in res["steps"] if s["step"] == "train std")
    assert len([s for s in res["steps"] if s["key"] == std_key]) == 1  # one step, however many ask for it
    # stress reuses the paper's models: its own steps are only its measurements
    assert set(res["experiments"]["stress"]["timings"]["steps"]) <= {"stress adv", "stress d_r", "stress d_nr"}


@pytest.mark.slow
def test_second_run_is_cached_and_equal(everything):
    out, res, _ = everything
    again = run_experiments(["all"], make_preset("tiny"), out=out, progress=False)
    assert all(step["cached"] for step in again["steps"])
    for name in NAMES:  # each experiment's results come from the store, equal to the first run's
        assert again["experiments"][name]["timings"]["from_store"], name
        assert not res["experiments"][name]["timings"]["from_store"], name
        assert again["experiments"][name]["results"] == res["experiments"][name]["results"], name
        # what it costs from scratch is remembered, not the rerun's near-zero time
        assert again["experiments"][name]["timings"]["uncached"] == res["experiments"][name]["timings"]["uncached"]
        assert [c["verdict"] for c in again["experiments"][name]["claims"]] == \
               [c["verdict"] for c in res["experiments"][name]["claims"]]


@pytest.mark.slow
def test_report_has_the_map_and_every_section(everything, tmp_path):
    _, res, _ = everything
    page = render(res, tmp_path)
    assert "argument map" in page
    for name in NAMES:
        assert f'id="{name}"' in page and f'href="#{name}"' in page
    rows = re.findall(r'<tr><td><a href="#', page)
    assert len(rows) == sum(len(e.claims) for e in registry.REGISTRY)
    assert "src=\"http" not in page
    # a results.json in the paper-only format of earlier versions renders as the paper alone
    old = {k: v for k, v in res.items() if k != "experiments"}
    old["claims"] = [{k: c[k] for k in ("id", "statement", "holds", "evidence")} for c in res["claims"]]
    page = render(json.loads(json_text(old)))
    assert 'id="paper"' in page and "Figure 2" in page


@pytest.mark.slow
def test_report_keeps_the_discussion_order_after_a_round_trip(everything, tmp_path):
    _, res, _ = everything
    page = render(json.loads(json.dumps(json.loads(json_text(res)), sort_keys=True)))
    positions = [page.index(f'<h2 id="{name}"') for name in NAMES]
    assert positions == sorted(positions)


def test_an_experiment_that_raises_is_an_error_and_the_others_run(tmp_path, monkeypatch):
    def broken(settings, lab):
        raise RuntimeError("boom\nsecond line")

    exps = [dataclasses.replace(e, run=broken) if e.name == "theory" else e for e in registry.REGISTRY]
    monkeypatch.setattr(registry, "REGISTRY", exps)
    import notbugs.running.runner as runner

    monkeypatch.setattr(runner, "REGISTRY", exps)
    res = run_experiments(["theory", "linear_features"], make_preset("tiny"), out=tmp_path, progress=False)
    assert res["experiments"]["theory"]["status"] == "error"
    assert res["experiments"]["theory"]["error"] == "RuntimeError: boom"
    assert all(c["verdict"] == "error" for c in res["experiments"]["theory"]["claims"])
    assert res["experiments"]["linear_features"]["status"] == "done"
    assert res["experiments"]["paper"]["status"] == NOT_RUN
    assert "boom" in render(res)


def test_cli_exit_codes(tmp_path, capsys, monkeypatch):
    assert main(["reproduce", "nonsense", "--preset", "tiny", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'nonsense'" in err and all(n in err for n in NAMES)
    assert main(["reproduce", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(n in listing for n in NAMES) and "presets:" in listing
    assert main(["reproduce", "linear_features", "--preset", "tiny", "--out", str(tmp_path / "lf"), "--quiet"]) == 0
    assert (tmp_path / "lf" / "report.html").is_file() and (tmp_path / "lf" / "results.json").is_file()


def test_experiment_without_settings_for_a_preset_says_so(tmp_path, monkeypatch):
    from notbugs.experiments import wallace

    monkeypatch.delitem(wallace.EXPERIMENT.settings, "tiny")  # every experiment has settings for every preset now
    with pytest.raises(NotbugsError, match="cannot run here: no settings for preset 'tiny'"):
        run_experiments(["wallace"], make_preset("tiny"), out=tmp_path)


def test_bad_pair_is_refused_before_work(tmp_path):
    from notbugs.experiments import linear_features

    preset = make_preset("tiny")
    lab = Lab(preset, Store(tmp_path))
    with pytest.raises(NotbugsError, match="class 'Shirt' is not one of"):
        linear_features.run(linear_features.Settings(pair=("3", "Shirt")), lab)
    assert not list(tmp_path.iterdir())


def test_results_of_earlier_versions_still_render():
    """A results.json written before typed values (accuracies with ``<key>_ci`` beside them, sections and pictures
    named by absolute paths) renders: every section drawn, intervals shown, no picture read from elsewhere."""
    from notbugs.core.storage import read_json

    old = read_json(Path(__file__).parents[1] / "benchmarks/results/h100-2026-11-26/quick-gpu-results.json")
    page = render(old)
    assert 'id="paper"' in page and "could not be drawn" not in page and "Figure 2" in page
    assert "[" in page and "data:image/png;base64" in page  # charts drawn from the numbers; pictures not found


@pytest.mark.slow
def test_differences_on_the_same_images_are_judged_with_paired_intervals(everything):
    """The gap, the premise 'D_NR no more robust than the standard model' and noise_start's gap compare models on
    the same test images: their tests carry the paired interval the run computed from each image's outcome."""
    _, res, _ = everything
    paper = res["experiments"]["paper"]
    paired = paper["results"]["paired"]
    assert set(paired) == {"d_r - d_nr", "d_nr - std", "adv - std"}
    row = next(c for c in paper["claims"] if c["id"] == "robust_features_give_robustness")
    gap = next(t for t in row["tests"] if t["name"].startswith("D_R minus D_NR"))
    premise = next(p for p in row["premises"] if p["name"].startswith("D_NR minus standard"))
    for shown, measured in ((gap, paired["d_r - d_nr"]), (premise, paired["d_nr - std"])):
        assert shown["value"] == pytest.approx(float(measured)) and shown["ci"] == pytest.approx(list(measured.ci))
    noise = res["experiments"]["noise_start"]
    row = next(c for c in noise["claims"] if c["id"] == "d_r_from_noise_robust")
    assert row["tests"][0]["ci"] == pytest.approx(list(noise["results"]["paired"]["d_r_noise - d_nr_noise"].ci))
