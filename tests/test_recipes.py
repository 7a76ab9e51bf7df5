"""The paper's recipe one flag away (notbugs/frame/recipes.py): each part sets the paper's values, a field given
with --set still wins, and a wrong name or a ResNet-50 off CIFAR-10 is one line and exit 2."""

import pytest

from notbugs.cli import main
from notbugs.core.errors import NotbugsError
from notbugs.frame.config import changed
from notbugs.frame.presets import ROBUSTNESS_AUGMENT
from notbugs.frame.recipes import PAPER, parse_recipe
from notbugs.running.runner import make_preset


def test_the_paper_recipe_sets_the_published_values_and_nothing_else():
    quick = make_preset("quick")
    paper = make_preset("quick", recipe=parse_recipe("paper"))
    for model in (paper.std, paper.adv):
        assert {k: getattr(model, k) for k in ROBUSTNESS_AUGMENT} == ROBUSTNESS_AUGMENT
    for fresh in (paper.fresh, paper.fresh_det):
        assert (fresh.optimizer, fresh.lr, fresh.momentum, fresh.weight_decay, fresh.schedule) == (
            "sgd", 0.1, 0.9, 5e-4, "step")
        assert fresh.epochs == quick.fresh.epochs  # the paper's schedule at the preset's length
    assert paper.fresh_det.crop_padding == 0 and not paper.fresh_det.flip  # D_det stays without augmentation
    inv = paper.inversion
    assert (inv.optimizer, inv.steps, inv.step_size, inv.schedule, inv.momentum, inv.use_best) == (
        "normalized", 1000, 0.1, "constant", 0.0, True)
    for relabel in (paper.rand, paper.det):  # 100 steps along 20 eps (the paper: 100 x 0.1 at eps 0.5)
        assert relabel.steps == 100 and relabel.step_size * relabel.steps == pytest.approx(20 * quick.adv.eps)
        assert relabel.use_best
    touched = {line.split(":")[0].split(".")[0] for line in changed(quick, paper)}
    assert touched == {"std", "adv", "inversion", "rand", "det"}  # the fresh models' SGD is quick's own already
    assert parse_recipe("paper") == PAPER and "resnet50" not in PAPER


def test_one_part_alone_and_set_after_it():
    quick = make_preset("quick")
    one = make_preset("quick", recipe=parse_recipe("augmented-models"))
    assert [line.split(".")[0] for line in changed(quick, one)] == ["std"] * 4 + ["adv"] * 4
    mine = make_preset("quick", recipe=parse_recipe("paper-inversion"), overrides={"inversion": {"steps": 300}})
    assert mine.inversion.steps == 300 and mine.inversion.schedule == "constant"


def test_a_wrong_recipe_is_one_line(capsys, tmp_path):
    for bad in ("nope", "paper,sgd-fresh", "sgd-fresh,sgd-fresh", ""):
        with pytest.raises(NotbugsError, match="--recipe takes"):
            parse_recipe(bad)
    with pytest.raises(NotbugsError, match="cifar10"):
        make_preset("quick", recipe=parse_recipe("resnet50"))
    assert make_preset("cifar10", recipe=parse_recipe("resnet50")).arch == "madry-resnet50"
    assert main(["reproduce", "--preset", "tiny", "--recipe", "nope", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "augmented-models" in err
    assert not (tmp_path / "r").exists()


def test_the_best_iterate_is_the_closest_one_and_keys_stay_without_it():
    """With use_best the inversion returns each image's closest iterate (robustness' default): never farther than
    the last, and closer when a constant step overshoots; off, it is the last iterate and no store key changes."""
    import torch
    from torch import nn

    from notbugs.methods.construct import InversionConfig, RelabelConfig, feature_distance, invert

    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Linear(16, 4)

        def features(self, x):
            return self.w(x.flatten(1))

    torch.manual_seed(0)
    model = Linear()
    target, start = torch.rand(8, 1, 4, 4), torch.rand(8, 1, 4, 4)
    kw = dict(steps=40, step_size=0.3)  # a constant step too long to settle: the last iterate oscillates
    last, _ = invert(model, target, start, **kw)
    best, _ = invert(model, target, start, use_best=True, **kw)
    d_last, d_best = feature_distance(model, last, target), feature_distance(model, best, target)
    assert (d_best <= d_last + 1e-6).all() and (d_best < d_last - 1e-3).any()
    assert "use_best" not in InversionConfig(use_best=False).key() and InversionConfig(use_best=True).key()["use_best"]
    assert "use_best" not in RelabelConfig().key() and RelabelConfig(use_best=True).key()["use_best"] is True
