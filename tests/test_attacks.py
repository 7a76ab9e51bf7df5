"""PGD checked by properties that can fail, and against an independent implementation."""

import copy

import numpy as np
import pytest
import torch

from notbugs.attacks import PGD, PGDL2, margin, pgd
from notbugs.core.errors import NotbugsError
from notbugs.evaluation.evaluate import robust_accuracy
from notbugs.models import build_model, model_spec

NORMS = ["l2", "linf"]


def _dist(a, b, norm):
    d = (a - b).flatten(1)
    return d.norm(dim=1) if norm == "l2" else d.abs().max(dim=1).values


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("random_start", [False, True])
def test_within_eps_and_box(digits_mlp, tiny_batch, norm, random_start):
    x, y = tiny_batch
    eps = 1.0 if norm == "l2" else 0.1
    x_adv = pgd(digits_mlp, x, y, norm=norm, eps=eps, steps=10, random_start=random_start,
                generator=torch.Generator().manual_seed(0))
    assert (_dist(x_adv, x, norm) <= eps + 1e-5).all()
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (x_adv != x).any()


@pytest.mark.parametrize("norm", NORMS)
def test_per_sample_eps_respected_and_equals_scalar(digits_mlp, tiny_batch, norm):
    x, y = tiny_batch
    eps = torch.linspace(0.0, 1.0 if norm == "l2" else 0.1, len(x))
    x_adv = pgd(digits_mlp, x, y, norm=norm, eps=eps, steps=5)
    assert (_dist(x_adv, x, norm) <= eps + 1e-5).all()
    assert torch.equal(x_adv[0], x[0])  # eps 0 leaves the image alone
    scalar = pgd(digits_mlp, x, y, norm=norm, eps=0.05, steps=5, step_size=0.01)
    tensor = pgd(digits_mlp, x, y, norm=norm, eps=torch.full((len(x),), 0.05), steps=5, step_size=0.01)
    assert torch.equal(scalar, tensor)


@pytest.mark.parametrize("norm", NORMS)
def test_input_untouched_and_model_state_restored(digits_mlp, tiny_batch, norm):
    x, y = tiny_batch
    before, y_before = x.clone(), y.clone()
    model = copy.deepcopy(digits_mlp).train()
    model.head.weight.requires_grad_(True)
    model.body[1].weight.requires_grad_(False)
    pgd(model, x, y, norm=norm, eps=0.5, steps=3, random_start=True)
    assert torch.equal(x, before) and torch.equal(y, y_before)
    assert model.training
    assert model.head.weight.requires_grad and not model.body[1].weight.requires_grad
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("random_start", [False, True])
def test_batch_equals_per_example(digits_mlp, tiny_batch, norm, random_start):
    model = copy.deepcopy(digits_mlp).double()
    x, y = tiny_batch
    x = x[:6].double()
    y = y[:6]
    eps = 0.8 if norm == "l2" else 0.08
    batch = pgd(model, x, y, norm=norm, eps=eps, steps=8, random_start=random_start,
                generator=torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)
    single = torch.cat([pgd(model, x[i:i + 1], y[i:i + 1], norm=norm, eps=eps, steps=8, random_start=random_start,
                            generator=gen) for i in range(len(x))])
    assert torch.allclose(batch, single, atol=1e-10)


@pytest.mark.parametrize("norm", NORMS)
def test_robust_accuracy_monotone_in_steps_and_eps(digits_mlp, digits, norm):
    x, y = digits.test_x[:200], digits.test_y[:200]
    step = 0.1 if norm == "l2" else 0.01
    by_steps = [robust_accuracy(digits_mlp, x, y, norm=norm, eps=5 * step, steps=k, step_size=step) for k in (0, 2, 5,
                                                                                                              10, 20)]
    assert all(a >= b for a, b in zip(by_steps, by_steps[1:])), by_steps
    assert by_steps[0] > by_steps[-1]
    eps_list = [0, 2 * step, 4 * step, 8 * step, 16 * step, 64 * step]
    by_eps = [robust_accuracy(digits_mlp, x, y, norm=norm, eps=e, steps=20, step_size=2.5 * e / 20) for e in eps_list]
    assert all(a >= b for a, b in zip(by_eps, by_eps[1:])), by_eps
    assert by_eps[-1] == 0.0  # a large enough ball breaks every example


@pytest.mark.parametrize("norm", NORMS)
def test_targeted_reaches_target(digits_mlp, tiny_batch, norm):
    x, y = tiny_batch
    target = (y + 1) % 10
    eps = 3.0 if norm == "l2" else 0.3
    x_adv = pgd(digits_mlp, x, target, norm=norm, eps=eps, steps=50, targeted=True)
    with torch.no_grad():
        hit = (digits_mlp(x_adv).argmax(1) == target).float().mean().item()
    assert hit >= 0.95


def test_untargeted_beats_clean(digits_mlp, tiny_batch):
    x, y = tiny_batch
    with torch.no_grad():
        clean = (digits_mlp(x).argmax(1) == y).float().mean()
        adv = (digits_mlp(pgd(digits_mlp, x, y, norm="l2", eps=1.0, steps=10)).argmax(1) == y).float().mean()
    assert adv < clean - 0.3


def test_best_iterate_never_worse_than_last(digits_mlp, tiny_batch):
    x, y = tiny_batch
    kw = dict(norm="linf", eps=0.1, steps=10, step_size=0.05)  # a large step makes the last iterate oscillate
    with torch.no_grad():
        last = margin(digits_mlp(pgd(digits_mlp, x, y, **kw)), y)
        best = margin(digits_mlp(pgd(digits_mlp, x, y, best=True, select=margin, **kw)), y)
    assert (best >= last - 1e-6).all()


def test_custom_loss_hook_is_used(digits_mlp, tiny_batch):
    x, y = tiny_batch
    calls = []

    def loss(logits, target):
        calls.append(len(target))
        return -logits.gather(1, target[:, None]).squeeze(1)

    pgd(digits_mlp, x, y, norm="l2", eps=0.5, steps=4, loss_fn=loss)
    assert calls == [len(x)] * 4  # one gradient per step, no forward pass wasted on the last iterate
    calls.clear()
    pgd(digits_mlp, x, y, norm="l2", eps=0.5, steps=4, loss_fn=loss, best=True)
    assert calls == [len(x)] * 5  # best also scores the last iterate


def test_torchattacks_call_shape(digits_mlp, tiny_batch):
    """torchattacks' keywords and defaults: eps, alpha (the step), steps, random_start=True, Linf."""
    x, y = tiny_batch
    atk = PGD(digits_mlp, eps=8 / 255, alpha=2 / 255, steps=10, random_start=False)
    assert torch.equal(atk(x, y), pgd(digits_mlp, x, y, norm="linf", eps=8 / 255, steps=10, step_size=2 / 255))
    assert torch.equal(PGD(digits_mlp, norm="L2", eps=0.5, alpha=0.1, steps=5, random_start=False)(x, y),
                       pgd(digits_mlp, x, y, norm="l2", eps=0.5, steps=5, step_size=0.1))
    started = PGD(digits_mlp, seed=0)(x, y)  # the default random start, reproducible with a seed
    assert torch.equal(started, PGD(digits_mlp, seed=0)(x, y)) and (started - x).abs().max() <= 8 / 255 + 1e-6
    assert torch.equal(PGDL2(digits_mlp, seed=1)(x, y), PGD(digits_mlp, eps=1.0, alpha=0.2, norm="l2", seed=1)(x, y))


@pytest.mark.parametrize("norm", ["Linf", "LINF", "linf", "inf"])
def test_the_fields_spellings_of_a_norm(digits_mlp, tiny_batch, norm):
    x, y = tiny_batch
    assert torch.equal(pgd(digits_mlp, x, y, norm=norm, eps=0.1, steps=2),
                       pgd(digits_mlp, x, y, norm="linf", eps=0.1, steps=2))


@pytest.mark.parametrize("bad", [dict(eps=-0.1), dict(norm="l3"), dict(steps=-1), dict(eps=torch.ones(3))])
def test_bad_arguments_are_refused(digits_mlp, tiny_batch, bad):
    x, y = tiny_batch
    kw = dict(norm="l2", eps=0.5, steps=2) | bad
    with pytest.raises(NotbugsError):
        pgd(digits_mlp, x, y, **kw)


# ---------------------------------------------------------------------------
# An independent implementation, written from the equations in numpy, for a
# linear softmax model (whose input gradient has a closed form):
#   p = softmax(W z + b), z = (x - m) / s,   dL/dx = (W^T (p - e_y)) / s
# Linf: x <- clip(x0 + clip(x + a sign(g) - x0, -eps, eps), 0, 1)
# L2:   x <- clip(x0 + P_eps(x + a g / |g| - x0), 0, 1),  P_eps(d) = d min(1, eps/|d|)
# ---------------------------------------------------------------------------
def _numpy_pgd(W, b, m, s, x0, y, norm, eps, steps, alpha, targeted):
    x = x0.copy()
    for _ in range(steps):
        z = (x - m) / s
        logits = W @ z + b
        p = np.exp(logits - logits.max())
        p /= p.sum()
        onehot = np.zeros_like(p)
        onehot[y] = 1
        g = (W.T @ (p - onehot)) / s
        direction = -g if targeted else g
        if norm == "linf":
            x = x + alpha * np.sign(direction)
            d = np.clip(x - x0, -eps, eps)
        else:
            x = x + alpha * direction / (np.linalg.norm(direction) + 1e-12)
            d = x - x0
            d = d * min(1.0, eps / (np.linalg.norm(d) + 1e-12))
        x = np.clip(x0 + d, 0.0, 1.0)
    return x


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("targeted", [False, True])
def test_agrees_with_independent_numpy_pgd(digits, norm, targeted):
    torch.manual_seed(0)
    model = build_model(model_spec("linear", digits.image_shape, 10, digits.mean, digits.std)).double().eval()
    with torch.no_grad():  # a moderate scale: a saturated softmax makes p - e_y pure rounding noise
        model.head.weight.mul_(3)
    x, y = digits.test_x[:8].double(), digits.test_y[:8]
    if targeted:
        y = (y + 3) % 10
    eps, alpha = (1.0, 0.2) if norm == "l2" else (0.1, 0.02)
    ours = pgd(model, x, y, norm=norm, eps=eps, steps=10, step_size=alpha, targeted=targeted).numpy()
    assert np.abs(ours - x.numpy()).max() > 0.01
    W = model.head.weight.detach().numpy()
    b = model.head.bias.detach().numpy()
    m, s = model.normalize.mean.item(), model.normalize.std.item()
    for i in range(len(x)):
        ref = _numpy_pgd(W, b, m, s, x[i].flatten().numpy(), int(y[i]), norm, eps, 10, alpha, targeted)
        np.testing.assert_allclose(ours[i].flatten(), ref, atol=1e-9)
