"""APGD (AutoAttack's APGD-CE and APGD-T), the lab's own: by properties, by the paper's schedule, and against
torchattacks' implementation on the same images."""

import math

import pytest
import torch

from notbugs.attacks import apgd, dlr_targeted
from notbugs.attacks.apgd import checkpoint_steps
from notbugs.core.errors import NotbugsError, NotbugsWarning

EPS = {"l2": 1.0, "linf": 0.1}


def _robust(model, x, y, x_adv):
    with torch.no_grad():
        return ((model(x).argmax(1) == y) & (model(x_adv).argmax(1) == y)).float().mean().item()


def test_checkpoints_follow_the_papers_recurrence():
    """p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06); checkpoints at ceil(p_j * N)."""
    p = [0.0, 0.22]
    while p[-1] + max(p[-1] - p[-2] - 0.03, 0.06) <= 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    assert checkpoint_steps(100) == [math.ceil(round(q * 100, 6)) for q in p[1:]]


def test_dlr_is_invariant_to_shifting_and_scaling_the_logits():
    torch.manual_seed(0)
    z, y, t = torch.randn(16, 10), torch.randint(0, 10, (16,)), torch.randint(0, 10, (16,))
    assert torch.allclose(dlr_targeted(z, y, t), dlr_targeted(3 * z + 7, y, t), atol=1e-5)
    with pytest.raises(NotbugsError, match="at least 4 classes"):
        dlr_targeted(torch.randn(4, 3), torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long))


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("loss", ["ce", "dlr-t"])
def test_within_eps_in_the_box_input_untouched_and_batch_equals_one_by_one(digits_mlp, digits, norm, loss):
    x, y = digits.test_x[:24].clone(), digits.test_y[:24].clone()
    before = x.clone()
    adv = apgd(digits_mlp, x, y, eps=EPS[norm], norm=norm, steps=20, loss=loss, targets=3)
    assert torch.equal(x, before)
    d = (adv - x).flatten(1)
    dist = d.norm(dim=1) if norm == "l2" else d.abs().max(dim=1).values
    assert (dist <= EPS[norm] + 1e-5).all() and adv.min() >= 0 and adv.max() <= 1
    alone = torch.cat([apgd(digits_mlp, x[i:i + 1], y[i:i + 1], eps=EPS[norm], norm=norm, steps=20, loss=loss,
                            targets=3) for i in (0, 5, 11)])
    assert torch.allclose(alone, adv[[0, 5, 11]], atol=1e-5)


def test_more_steps_are_never_weaker(digits_mlp, digits):
    x, y = digits.test_x[:200], digits.test_y[:200]
    acc = [_robust(digits_mlp, x, y, apgd(digits_mlp, x, y, eps=0.6, steps=k)) for k in (5, 25, 100)]
    assert acc[0] >= acc[1] >= acc[2]


@pytest.mark.parametrize("loss", ["ce", "dlr-t"])
@pytest.mark.slow
def test_agrees_with_torchattacks_within_half_a_point(digits_mlp, digits, loss):
    """The same images, AutoAttack's standard settings (100 steps, 9 targets for APGD-T), L2 eps 0.6: robust
    accuracies within 0.5 points (here: 2 of 400 images)."""
    import torchattacks

    x, y = digits.test_x[:400], digits.test_y[:400]
    ours = _robust(digits_mlp, x, y, apgd(digits_mlp, x, y, eps=0.6, steps=100, loss=loss))
    if loss == "ce":
        theirs_attack = torchattacks.APGD(digits_mlp, norm="L2", eps=0.6, steps=100, n_restarts=1, loss="ce", seed=0)
    else:
        theirs_attack = torchattacks.APGDT(digits_mlp, norm="L2", eps=0.6, steps=100, n_restarts=1, n_classes=10,
                                           seed=0)
    theirs = _robust(digits_mlp, x, y, theirs_attack(x, y))
    assert 0.05 < theirs < 0.95  # the attack neither trivially wins nor loses: the comparison can fail
    assert abs(ours - theirs) <= 0.005, (ours, theirs)


def test_autoattack_without_torchattacks_runs_the_labs_apgd_and_says_what_it_left_out(digits_mlp, digits,
                                                                                        monkeypatch):
    from notbugs.evaluation import autoattack as aa

    monkeypatch.setattr(aa, "_torchattacks", lambda: None)
    x, y = digits.test_x[:60], digits.test_y[:60]
    with pytest.warns(NotbugsWarning, match="without fab-t, square"):
        res = aa.autoattack(digits_mlp, x, y, norm="l2", eps=0.6, steps=20)
    assert [s["attack"] for s in res["after"]] == ["clean", "apgd-ce", "apgd-t"]
    assert res["left_out"] == ["fab-t", "square"]
