"""Projected gradient descent (Madry et al. 2018) for L2 and Linf.

Each step: gradient of the per-example loss w.r.t. the input, a norm-specific
step (sign for Linf, normalized for L2), projection onto the eps-ball around
x, clamp to [0, 1]. Targeted attacks descend the loss towards ``y``;
untargeted ones ascend it away from ``y``. The model runs in eval mode with
parameter gradients off; its mode and flags are restored afterwards. The
input tensor is never modified.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import NotbugsError
from ..inputs import check_batch, check_classes, check_device, check_images
from .threat import THREATS

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@contextmanager
def frozen(model: nn.Module):
    """Eval mode and no parameter gradients for the duration; restore both after."""
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(was_training)


def as_eps(eps, x: torch.Tensor, what: str = "eps") -> torch.Tensor:
    """A scalar or a length-N eps as an (N, 1, 1, 1) tensor on x's device; refuse negatives."""
    eps_t = torch.as_tensor(eps, dtype=x.dtype, device=x.device)
    if eps_t.ndim == 0:
        eps_t = eps_t.expand(len(x))
    if eps_t.shape != (len(x),):
        raise NotbugsError(f"{what} must be a scalar or have one value per example ({len(x)}), got shape {tuple(eps_t.shape)}")
    if torch.isnan(eps_t).any() or (eps_t < 0).any():
        raise NotbugsError(f"{what} must be >= 0, got {eps if eps_t.numel() == 1 else 'negative or NaN entries'}")
    return eps_t.view(-1, *([1] * (x.ndim - 1)))


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Best other logit minus the logit of y: positive exactly when y is not predicted."""
    other = logits.clone()
    other.scatter_(1, y[:, None], float("-inf"))
    return other.max(dim=1).values - logits.gather(1, y[:, None]).squeeze(1)


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: str,
    eps,
    steps: int,
    step_size=None,
    targeted: bool = False,
    random_start: bool = False,
    best: bool = False,
    loss_fn: LossFn = cross_entropy,
    select: LossFn | None = None,
    generator: torch.Generator | None = None,
    checked: bool = False,
) -> torch.Tensor:
    """Return adversarial examples for ``x`` within ``eps`` of it in ``norm``.

    eps and step_size are scalars or one value per example (default step
    size 2.5 * eps / steps, Madry et al.). ``loss_fn(logits, y)`` must return
    one loss per example. ``best`` returns, per example, the iterate (start
    included) with the highest ``select`` score (default: the loss; negated
    when targeted) instead of the last one. The random start (uniform in the
    ball) draws from ``generator``, one example after another. ``x`` must be
    images in [0, 1] (normalisation inside the model); ``y`` class indices for
    the built-in losses, anything with one row per image for a custom one.
    ``checked``: the caller checked its whole data once (the training loop,
    the constructions); the per-call checks, which read values back and so
    wait for a GPU, are skipped.
    """
    check_values = loss_fn in (cross_entropy, margin) and not checked  # class indices, checked on the first logits
    if check_values:
        y = check_batch(x, y)
    elif not checked:
        check_images(x)
        if len(y) != len(x):
            raise NotbugsError(f"{len(x)} images but {len(y)} targets; give one per image")
    check_device(model, x, y)  # no values read: free on any device
    if norm not in THREATS:
        raise NotbugsError(f"unknown norm '{norm}'; use one of {', '.join(THREATS)}")
    if steps < 0:
        raise NotbugsError(f"steps must be >= 0, got {steps}")
    threat = THREATS[norm]
    eps_t = as_eps(eps, x)
    alpha = as_eps(step_size if step_size is not None else 2.5 * eps_t.flatten() / max(steps, 1), x, "step_size")
    sign = -1.0 if targeted else 1.0
    x0 = x.detach()
    delta = torch.zeros_like(x0)
    if random_start:
        noise = threat.random(x0.shape, eps_t.cpu(), generator, x0.dtype).to(x0.device)
        delta = (x0 + noise).clamp(0, 1) - x0

    with frozen(model), torch.enable_grad():  # callers may be inside no_grad
        best_x = best_loss = None
        for i in range(steps + 1 if best else steps):  # only ``best`` needs the last iterate's forward pass
            x_adv = (x0 + delta).requires_grad_(True)
            logits = model(x_adv)
            if i == 0 and check_values:
                check_classes(logits.shape[-1], y)
            loss = loss_fn(logits, y)
            if best:
                score = sign * (loss if select is None else select(logits, y)).detach().float()
                if best_loss is None:
                    best_loss, best_x = score, x_adv.detach().clone()
                else:
                    better = score > best_loss
                    best_loss = torch.where(better, score, best_loss)
                    best_x[better] = x_adv.detach()[better]
            if i == steps:
                break
            (grad,) = torch.autograd.grad(loss.sum(), x_adv)
            delta = threat.project(delta + sign * threat.step(grad, alpha), eps_t)
            delta = (x0 + delta).clamp(0, 1) - x0
    return best_x if best else (x0 + delta).detach()


class PGD:
    """The call shape torchattacks users know: ``PGD(model, norm=..., eps=..., steps=...)(x, y)``."""

    def __init__(self, model: nn.Module, *, norm: str = "linf", eps=8 / 255, steps: int = 10, step_size=None, **options):
        self.model, self.kwargs = model, dict(norm=norm, eps=eps, steps=steps, step_size=step_size, **options)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return pgd(self.model, x, y, **self.kwargs)
