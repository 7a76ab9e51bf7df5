"""The run's seed has one home, the preset's ``seed``: the lab hands it to every step (nothing writes it into the
steps' configs), a step's config refuses one, and a results.json written before still gives its run back."""

import json

from notbugs.cli import main
from notbugs.frame.config import read_config
from notbugs.frame.lab import Lab
from notbugs.frame.presets import SEEDED
from notbugs.running.runner import make_preset


class _Captured:
    """A store that records each step's parameters instead of building it."""

    def __init__(self):
        self.params = []

    def get(self, kind, params, make, **options):
        self.params.append((options.get("label"), params))
        return type("Art", (), {"key": f"k{len(self.params)}", "summary": {}, "lineage": set()})()


def test_the_seed_lives_in_the_preset_and_not_in_its_steps():
    preset = make_preset("tiny", seed=7)
    assert preset.seed == 7
    assert [getattr(preset, name).seed for name in SEEDED] == [0] * len(SEEDED)


def test_the_lab_hands_each_step_the_runs_seed_or_the_one_asked_for():
    store = _Captured()
    lab = Lab(make_preset("tiny", seed=5), store)
    lab.std()
    lab.ensemble(2)
    lab.dataset("det")
    seeds = {label: params.get("train", params.get("settings", {})).get("seed") for label, params in store.params}
    assert seeds["train std"] == 5
    assert seeds["train std #1"] == 1005 and seeds["train std #2"] == 2005
    assert seeds["construct d_det"] == 5 and dict(store.params)["construct d_det"]["seed"] == 5


def test_a_steps_seed_is_refused_in_one_line(capsys):
    assert main(["reproduce", "paper", "--preset", "tiny", "--set", "std.seed=5", "--out", "unused"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "std.seed is not a setting" in err and "--seed" in err


def test_a_results_json_that_seeded_every_step_gives_its_seed_back(tmp_path):
    old = {"settings": {"name": "tiny", "std": {"seed": 3, "epochs": 2}, "fresh": {"seed": 3}},
           "experiments": {"paper": {"settings": {"name": "tiny", "std": {"seed": 3}, "det": {"seed": 3}}}}}
    (tmp_path / "results.json").write_text(json.dumps(old))
    preset = make_preset(overrides=read_config(tmp_path / "results.json"))
    assert preset.seed == 3 and preset.std.seed == 0 and preset.std.epochs == 2
