"""The reproduction pipeline on digits with a tiny preset: contract, caching, report."""

import json
from dataclasses import replace

import pytest

from notbugs.cli import main
from notbugs.core.storage import json_text, read_json, write_json
from notbugs.report import write_report
from notbugs.running.runner import artifact_path, make_preset, run_experiments


def tiny_preset():
    return make_preset("tiny")


def reproduce(preset, *, out, progress=False):
    return run_experiments(["paper"], preset, out=out, progress=progress)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("repro")
    return out, reproduce(tiny_preset(), out=out, progress=False)


def test_results_contract(first_run):
    _, res = first_run
    assert set(res["models"]) == {"std", "adv", "d_r", "d_nr", "d_rand", "d_det"}
    for m in res["models"].values():
        assert 0 <= m["clean_accuracy"] <= 1 and set(m["robust_accuracy"]) == {0.5, 1.0}
        assert all(0 <= v <= m["clean_accuracy"] for v in m["robust_accuracy"].values())
        assert m["clean_accuracy"].n == 400 and all(v.n == 100 for v in m["robust_accuracy"].values())
    assert res["threat"]["main_eval_eps"] == 1.0 and res["threat"]["norm"] == "l2"
    for name in ("d_rand", "d_det"):
        d = res["datasets"][name]
        assert {"attack_success", "robust_agreement_perturbed", "robust_agreement_clean"} <= set(d)
    assert {c["id"] for c in res["claims"]} >= {"robust_features_give_robustness", "d_det_generalizes"}
    for c in res["claims"]:  # four outcomes: holds and does not hold are the decided ones
        assert c["evidence"] and c["tests"] and (c["holds"] is None) == (c["verdict"] not in ("holds", "does not hold"))
    assert res["reference"]["figure2_cifar10"]["models"]["d_r"]["clean_accuracy"] == pytest.approx(0.854)
    for m in res["models"].values():  # the robust accuracy every claim reads carries its attack checks
        assert set(m["sanity"]) == {1.0} and set(m["sanity_flags"]) == {1.0}
        assert "train_accuracy" in m
        assert all({"fgsm_not_stronger", "more_steps", "restarts"} <= {c["check"] for c in rep["checks"]}
                   for rep in m["sanity"].values())
    json.loads(json_text(res))  # strict JSON


def _numbers(res):
    """Everything measured, nothing that names a folder."""
    datasets = {k: {f: v for f, v in d.items() if f not in ("artifact", "samples")} for k, d in res["datasets"].items()}
    return json_text({"models": res["models"], "datasets": datasets, "claims": res["claims"]})


@pytest.mark.slow
def test_same_seed_gives_bit_identical_numbers(first_run, tmp_path):
    _, res = first_run
    again = reproduce(tiny_preset(), out=tmp_path, progress=False)
    assert not any(step["cached"] for step in again["steps"])
    assert _numbers(again) == _numbers(res)


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_uninterrupted_result(first_run, tmp_path, monkeypatch):
    import notbugs.frame.datasets as lab

    _, res = first_run
    real = lab.build_dataset

    def interrupted(kind, *args, **kwargs):
        if kind == "det":
            raise KeyboardInterrupt  # Ctrl-C half-way through the constructions
        return real(kind, *args, **kwargs)

    monkeypatch.setattr(lab, "build_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reproduce(tiny_preset(), out=tmp_path, progress=False)
    assert not list((tmp_path / "cache").glob("*/.*partial*"))  # nothing half-made is left
    monkeypatch.setattr(lab, "build_dataset", real)
    resumed = reproduce(tiny_preset(), out=tmp_path, progress=False)
    done_before = {s["step"] for s in resumed["steps"] if s["cached"]}
    assert {"train std", "train adv", "construct d_r", "construct d_nr", "construct d_rand"} <= done_before
    assert "construct d_det" not in done_before
    assert _numbers(resumed) == _numbers(res)


def test_second_run_is_all_cached_and_equal(first_run):
    out, res = first_run
    again = reproduce(tiny_preset(), out=out, progress=False)
    assert all(step["cached"] for step in again["steps"])
    assert again["models"] == res["models"] and again["datasets"] == res["datasets"]


def test_changing_one_setting_recomputes_only_its_dependents(first_run):
    out, _ = first_run
    preset = tiny_preset()
    changed = replace(preset, det=replace(preset.det, eps=0.8))
    res = reproduce(changed, out=out, progress=False)
    recomputed = sorted(step["step"] for step in res["steps"] if not step["cached"])
    assert recomputed == ["construct d_det", "evaluate d_det", "leakage of d_det", "train d_det"]


def test_report_is_self_contained(first_run, tmp_path):
    out, res = first_run
    page = write_report(res, tmp_path / "report.html", base=out).read_text()
    assert page.count("data:image/png;base64,") >= 3 + 5  # three charts, D and the four datasets' grids
    assert "does not hold" in page or "holds" in page
    assert "src=\"http" not in page


def test_a_run_folder_moved_elsewhere_renders_with_all_its_pictures(first_run, tmp_path):
    import shutil

    out, res = first_run
    write_json(out / "results.json", res)
    moved = tmp_path / "moved"
    shutil.copytree(out, moved, ignore=shutil.ignore_patterns("cache"))  # the run folder without its store
    assert main(["report", str(moved / "results.json")]) == 0
    page = (moved / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3 + 5 and "picture not found" not in page
    assert read_json(moved / "results.json")["artifacts"]["samples_d"].startswith("pictures/")


def _model_folder(res, out, name):
    return str(artifact_path(res, res["artifacts"]["models"][name], out))


def test_constructed_dataset_via_cli(first_run, tmp_path):
    out, res = first_run
    std, adv = _model_folder(res, out, "std"), _model_folder(res, out, "adv")
    assert main(["construct", "det", "--model", std, "--robust-model", adv, "--limit", "50", "--steps", "3",
                 "--eps", "1.0", "--out", str(tmp_path / "ddet"), "--quiet"]) == 0
    info = read_json(tmp_path / "ddet" / "manifest.json")
    success = info["stats"]["attack_success"]
    assert info["builder"] == "det" and 0 <= success <= 1 and success.n == 50
    assert (tmp_path / "ddet" / "samples.png").stat().st_size > 1000


def test_construct_takes_a_robust_model_file(first_run, tmp_path, capsys):
    """The leakage check's robust model may be a bare .pt state dict (with --robust-arch): same numbers as from
    its run folder; a model of the wrong shape is refused with the reason."""
    import torch
    from safetensors.torch import load_file

    out, res = first_run
    std, adv = _model_folder(res, out, "std"), _model_folder(res, out, "adv")
    torch.save(load_file(f"{adv}/model.safetensors"), tmp_path / "adv.pt")
    args = ["construct", "det", "--model", std, "--limit", "40", "--steps", "2", "--eps", "1.0", "--quiet"]
    assert main(args + ["--robust-model", adv, "--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--robust-model", str(tmp_path / "adv.pt"), "--robust-arch", "cnn",
                        "--out", str(tmp_path / "b")]) == 0
    stats = [read_json(tmp_path / k / "manifest.json")["stats"] for k in "ab"]
    assert "robust_agreement_perturbed" in stats[0] and stats[0] == stats[1]
    assert main(args + ["--robust-model", str(tmp_path / "adv.pt"), "--robust-arch", "mlp",
                        "--out", str(tmp_path / "c")]) == 2
    assert "adv.pt" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_fresh_model_evaluates_on_the_original_test_set(first_run, capsys):
    out, res = first_run
    assert main(["eval", "--model", _model_folder(res, out, "d_det"), "--eps", "0.5", "--steps", "2",
                 "--limit", "50", "--quiet"]) == 0
    assert "digits test set" in capsys.readouterr().out
