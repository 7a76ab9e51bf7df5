"""What the store's keys hold: data by content, every input declared, code versions; models safe on any device.

Each test counts the steps a second run builds, on the tiny preset (digits).
"""

import dataclasses
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from notbugs.cli import main
from notbugs.data import content, load_dataset
from notbugs.experiments import registry
from notbugs.frame import lab as lab_module
from notbugs.running.runner import make_preset, run_experiments


def built(res) -> set[str]:
    return {s["step"] for s in res["steps"] if not s["cached"]}


@pytest.fixture()
def folder_data(tmp_path, monkeypatch):
    """A 10-class image folder (digits as PNGs) and a private hash cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    d = load_dataset("digits")
    root = tmp_path / "fold"
    for split, xs, ys in (("train", d.train_x[:500], d.train_y[:500]), ("test", d.test_x[:100], d.test_y[:100])):
        for i, (x, y) in enumerate(zip(xs, ys)):
            f = root / split / str(int(y))
            f.mkdir(parents=True, exist_ok=True)
            Image.fromarray((x[0].numpy() * 255).astype(np.uint8)).save(f / f"{i}.png")
    return root


@pytest.mark.slow
def test_editing_a_folder_dataset_rebuilds_what_was_trained_on_it(folder_data, tmp_path):
    preset = replace(make_preset("tiny", dataset=f"folder:{folder_data}"), construct_limit=100)
    first = run_experiments(["paper"], preset, out=tmp_path / "o1", cache=tmp_path / "c", progress=False)
    assert {"train std", "train adv", "construct d_r"} <= built(first)
    # an untouched dataset: the next process hashes no file (sizes and times are remembered)
    content._MEMO.clear()
    hashed = content.HASHED["files"]
    again = run_experiments(["paper"], preset, out=tmp_path / "o2", cache=tmp_path / "c", progress=False)
    assert not built(again) and content.HASHED["files"] == hashed
    # two classes relabelled (their folders swapped) and some images deleted
    train = folder_data / "train"
    (train / "3").rename(train / "swap")
    (train / "5").rename(train / "3")
    (train / "swap").rename(train / "5")
    for f in sorted((folder_data / "train" / "7").iterdir())[:10]:
        f.unlink()
    edited = run_experiments(["paper"], preset, out=tmp_path / "o3", cache=tmp_path / "c", progress=False)
    assert {"train std", "train adv", "construct d_r", "construct d_nr", "construct d_rand", "construct d_det",
            "train d_r", "evaluate std"} <= built(edited)
    assert edited["models"]["std"]["clean_accuracy"] != first["models"]["std"]["clean_accuracy"]


@pytest.fixture(scope="module")
def paper_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    run_experiments(["paper"], make_preset("tiny"), out=root / "o", cache=root / "c", progress=False)
    return root


@pytest.mark.slow
def test_changing_the_robust_recipe_leaves_d_nr_alone(paper_store, tmp_path):
    preset = make_preset("tiny")
    changed = replace(preset, adv=replace(preset.adv, epochs=preset.adv.epochs + 1))
    res = run_experiments(["paper"], changed, out=tmp_path, cache=paper_store / "c", progress=False)
    assert built(res) == {"train adv", "evaluate adv", "construct d_r", "train d_r", "evaluate d_r",
                          "inversions of d_r", "leakage of d_rand", "leakage of d_det"}


@pytest.mark.slow
def test_changing_the_standard_model_rebuilds_every_evaluation(paper_store, tmp_path):
    """The standard model is the transfer surrogate of every other model's attack checks."""
    preset = make_preset("tiny")
    changed = replace(preset, std=replace(preset.std, epochs=preset.std.epochs + 1))
    res = run_experiments(["paper"], changed, out=tmp_path, cache=paper_store / "c", progress=False)
    assert {"evaluate adv", "evaluate d_r"} <= built(res)  # neither model changed: their sanity checks did
    assert "train adv" not in built(res) and "construct d_r" not in built(res)


@pytest.mark.slow
def test_editing_an_experiment_recomputes_its_results_and_nothing_shared(paper_store, tmp_path, monkeypatch):
    import notbugs.running.runner as runner

    preset = make_preset("tiny")
    first = run_experiments(["theory", "paper"], preset, out=tmp_path / "a", cache=paper_store / "c", progress=False)
    assert first["experiments"]["paper"]["timings"]["from_store"]

    theory = registry.by_name()["theory"]

    def edited_run(settings, lab):  # the experiment's code, edited
        return {**theory.run(settings, lab), "d": 999}

    exps = [dataclasses.replace(e, run=edited_run) if e.name == "theory" else e for e in registry.REGISTRY]
    monkeypatch.setattr(registry, "REGISTRY", exps)
    monkeypatch.setattr(runner, "REGISTRY", exps)
    res = run_experiments(["theory", "paper"], preset, out=tmp_path / "b", cache=paper_store / "c", progress=False)
    theory = res["experiments"]["theory"]
    assert theory["results"]["d"] == 999 and not theory["timings"]["from_store"]
    assert res["experiments"]["paper"]["timings"]["from_store"] and not built(res)


@pytest.mark.slow
def test_rebuild_names_a_kind_and_rebuilds_its_dependents(paper_store, tmp_path):
    res = run_experiments(["paper"], make_preset("tiny"), out=tmp_path, cache=paper_store / "c", progress=False,
                          rebuild=("leakage",))
    assert built(res) == {"leakage of d_rand", "leakage of d_det"}
    res = run_experiments(["paper"], make_preset("tiny"), out=tmp_path, cache=paper_store / "c", progress=False,
                          rebuild=("dataset",))
    assert {"construct d_r", "train d_r", "evaluate d_r", "leakage of d_det"} <= built(res)
    assert not {"train std", "train adv", "evaluate std", "evaluate adv"} & built(res)


@pytest.mark.slow
def test_every_experiment_computes_on_the_presets_device_and_moves_no_shared_model(tmp_path, monkeypatch):
    """The preset's device is spelled 'cpu:0' here, which no default ('cpu') spells: every training run and every
    model the lab hands out must be on it, and no experiment may move a model the lab handed out."""
    import notbugs.methods.train as train_module

    preset = replace(make_preset("tiny"), device="cpu:0")
    trained, handed, moved = [], {}, []
    real_train, real_model, real_to = train_module.train, lab_module.Lab.model, torch.nn.Module.to

    def recording_train(model, x, y, cfg, **kw):
        trained.append(cfg.device)
        return real_train(model, x, y, cfg, **kw)

    def recording_model(self, artifact):
        m = real_model(self, artifact)
        handed[id(m)] = artifact.label
        return m

    def guarded_to(self, *args, **kwargs):
        if id(self) in handed:
            moved.append(handed[id(self)])
        return real_to(self, *args, **kwargs)

    for module in ("notbugs.methods.tasks", "notbugs.experiments.wallace", "notbugs.experiments.nakkiran"):
        monkeypatch.setattr(f"{module}.train", recording_train)
    monkeypatch.setattr(lab_module.Lab, "model", recording_model)
    monkeypatch.setattr(torch.nn.Module, "to", guarded_to)
    res = run_experiments(["all"], preset, out=tmp_path, progress=False)
    assert all(e["status"] == "done" for e in res["experiments"].values())
    assert trained and set(trained) == {"cpu:0"}, set(trained)
    assert not moved, moved


def test_a_device_this_machine_lacks_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # what a CPU-only machine says
    out = tmp_path / "o"
    assert main(["reproduce", "--preset", "tiny", "--device", "cuda", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("notbugs: error:") and "no CUDA device" in err and err.count("\n") == 1
    assert not out.exists()


def test_a_key_refuses_what_has_no_exact_json_form():
    from notbugs.core.errors import NotbugsError
    from notbugs.store.pipeline import step_key

    a, b = torch.zeros(2000), torch.zeros(2000)
    b[1000] = 1.0
    assert str(a) == str(b)  # what the 0.3.0 encoder keyed a tensor by: these two had one key
    for t in (a, b):
        with pytest.raises(NotbugsError, match="cannot hold a torch.Tensor"):
            step_key("measure", {"x": t}, {}, 1, {})
    assert step_key("measure", {"x": [0.5, "a", None]}, {}, 1, {}) != step_key("measure", {"x": [0.5, "b", None]},
                                                                                {}, 1, {})


def test_another_experiments_override_does_not_re_measure_this_one(paper_store, tmp_path):
    changed = make_preset("tiny", overrides={"experiments": {"stress": {"images": 20}}})
    res = run_experiments(["paper"], changed, out=tmp_path, cache=paper_store / "c", progress=False)
    assert res["experiments"]["paper"]["timings"]["from_store"] and not built(res)


def test_relabelling_follows_the_robust_models_eps(tmp_path):
    """RelabelConfig.eps None is the robust model's training eps; a set one that differs is warned of."""
    from notbugs.core.errors import NotbugsWarning
    from notbugs.store.pipeline import Store

    preset = make_preset("tiny")
    assert preset.det.eps is None and preset.rand.eps is None
    lab = lab_module.Lab(preset, Store(tmp_path))
    assert lab.relabel_eps("det") == lab.relabel_eps("rand") == preset.adv.eps
    odd = lab_module.Lab(replace(preset, det=replace(preset.det, eps=preset.adv.eps / 2)), Store(tmp_path))
    with pytest.warns(NotbugsWarning, match="robust model was trained at"):
        assert odd.relabel_eps("det") == preset.adv.eps / 2
    # on MNIST the robust model's eps is 3: the relabelling follows it, its step keeps its ratio
    mnist = preset.on_dataset("mnist")
    assert mnist.adv.eps == 3.0 and mnist.det.eps is None
    assert mnist.det.step_size == pytest.approx(preset.det.step_size * 3.0 / preset.adv.eps)


def test_a_config_field_added_with_a_default_that_keeps_todays_behaviour_keeps_every_key():
    """A key holds the fields that differ from their defaults, so the new field re-keys nothing; the class's
    defaults are code of the kinds that read it (tests/test_versions.py catches an edited default)."""
    from dataclasses import field, make_dataclass

    from notbugs.methods.train import TrainConfig

    extended = make_dataclass("Extended", [("new_knob", float, field(default=0.0))], bases=(TrainConfig,))
    assert extended(epochs=3, lr=1e-3).key() == TrainConfig(epochs=3, lr=1e-3).key() == {"epochs": 3}
    assert extended(epochs=3, new_knob=0.5).key() == {"epochs": 3, "new_knob": 0.5}
