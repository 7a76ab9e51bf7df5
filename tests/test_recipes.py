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
    assert (inv.optimizer, inv.steps, inv.step_size, inv.schedule, inv.momentum) == ("normalized", 1000, 0.1,
                                                                                     "constant", 0.0)
    for relabel in (paper.rand, paper.det):  # 100 steps along 20 eps (the paper: 100 x 0.1 at eps 0.5)
        assert relabel.steps == 100 and relabel.step_size * relabel.steps == pytest.approx(20 * quick.adv.eps)
    touched = {line.split(":")[0].split(".")[0] for line in changed(quick, paper)}
    assert touched == {"std", "adv", "fresh", "fresh_det", "inversion", "rand", "det"}
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
