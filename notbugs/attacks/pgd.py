"""Projected gradient descent (Madry et al. 2018) for L2 and Linf.

Each step: gradient of the per-example loss w.r.t. the input, a norm-specific
step (sign for Linf, normalized for L2), projection onto the eps-ball around
x, clamp to [0, 1]. Targeted attacks descend the loss towards ``y``;
untargeted ones ascend it away from ``y``. The model runs in eval mode with
parameter gradients off; its mode and flags are restored afterwards. The
input tensor is never modified.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..core.errors import NotbugsError, NotbugsWarning
from ..core.inputs import check_batch, check_classes, check_device, check_images, check_logits
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


def norm_name(norm: str) -> str:
    """The threat model's name in any of the field's spellings: l2 / L2, linf / Linf / LINF / inf."""
    name = str(norm).lower().replace("_", "")
    name = {"inf": "linf", "l-inf": "linf", "linfinity": "linf", "2": "l2"}.get(name, name)
    if name not in THREATS:
        raise NotbugsError(f"unknown norm '{norm}'; use one of L2 or Linf")
    return name


def as_eps(eps, x: torch.Tensor, what: str = "eps") -> torch.Tensor:
    """A scalar or a length-N eps as an (N, 1, 1, 1) tensor on x's device; refuse negatives and non-finite values."""
    eps_t = torch.as_tensor(eps, dtype=x.dtype, device=x.device)
    if eps_t.ndim == 0:
        eps_t = eps_t.expand(len(x))
    if eps_t.shape != (len(x),):
        raise NotbugsError(f"{what} must be a scalar or have one value per example ({len(x)}), got shape "
                           f"{tuple(eps_t.shape)}")
    if not torch.isfinite(eps_t).all() or (eps_t < 0).any():
        raise NotbugsError(f"{what} must be a finite number >= 0, got "
                           f"{eps if eps_t.numel() == 1 else 'negative, NaN or infinite entries'}")
    return eps_t.view(-1, *([1] * (x.ndim - 1)))


def pixel_box(norm: str, x: torch.Tensor) -> float:
    """The radius of the ball that holds the whole [0, 1] pixel box around any image: larger eps mean the same."""
    return 1.0 if norm == "linf" else math.sqrt(x[0].numel())


def within_box(eps_t: torch.Tensor, norm: str, x: torch.Tensor) -> torch.Tensor:
    """eps capped at the whole pixel box, with a warning when it was above it: the attack is then unbounded (any
    image at all), and an L2 eps of 1e20 would otherwise overflow float32 norms into keeping the clean image."""
    box = pixel_box(norm, x)
    if len(x) and bool((eps_t > box).any()):
        warnings.warn(NotbugsWarning(f"{norm} eps {float(eps_t.max()):g} covers the whole pixel box (radius "
                                     f"{box:.3g} for these images): the attack is unbounded"), stacklevel=3)
        return eps_t.clamp(max=box)
    return eps_t


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
    """PGD of 'Towards Deep Learning Models Resistant to Adversarial Attacks' (Madry et al. 2018)
    [https://arxiv.org/abs/1706.06083]: adversarial examples for ``x`` within ``eps`` of it in ``norm``.

    Distance measure: L2 or Linf.

    Arguments:
        model (nn.Module): the classifier (logits; normalisation inside it); run frozen, restored after.
        norm (str): "l2" or "linf" (any of the field's spellings).
        eps (float or N floats): the radius, in [0, 1] pixel space.
        steps (int): gradient steps. step_size (float or N floats): each step's length. (Default: 2.5 * eps / steps)
        targeted (bool): descend the loss towards ``y`` instead of ascending it away. (Default: False)
        random_start (bool): start uniform in the ball, drawn from ``generator`` one example after another.
            (Default: False)
        best (bool): return each example's iterate (start included) with the highest ``select`` score instead
            of the last. (Default: False)
        loss_fn (callable): ``loss_fn(logits, y)``, one loss per example. (Default: cross-entropy)
        select (callable): the score ``best`` keeps. (Default: the loss; negated when targeted)
        checked (bool): the caller checked its whole data once; the per-call checks, which read values back
            and so wait for a GPU, are skipped. (Default: False)

    Shape:
        - x: (N, C, H, W), floats in [0, 1]. - y: (N,) class indices (for a custom loss, one row per image).
        - output: (N, C, H, W), within eps of x, in [0, 1]; ``x`` is never modified.

    Example::

        >>> x_adv = pgd(model, x, y, norm="l2", eps=0.5, steps=20)
        >>> (model(x_adv).argmax(1) == y).float().mean()
    """
    check_values = loss_fn in (cross_entropy, margin) and not checked  # class indices, checked on the first logits
    if check_values:
        y = check_batch(x, y)
    elif not checked:
        check_images(x)
        if len(y) != len(x):
            raise NotbugsError(f"{len(x)} images but {len(y)} targets; give one per image")
    check_device(model, x, y)  # no values read: free on any device
    norm = norm_name(norm)
    if steps < 0:
        raise NotbugsError(f"steps must be >= 0, got {steps}")
    threat = THREATS[norm]
    if len(x) == 0:  # nothing to attack (e.g. no image every ensemble member classifies correctly)
        return x.detach().clone()
    eps_t = within_box(as_eps(eps, x), norm, x)
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
            if i == 0:
                if not isinstance(logits, torch.Tensor):
                    check_logits(logits, model)
                if check_values:
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
    """PGD (Madry et al. 2018, https://arxiv.org/abs/1706.06083) with torchattacks' call shape and defaults.

    Distance measure: Linf unless ``norm`` says otherwise.

    Arguments:
        model (nn.Module): the classifier. eps (float): the radius. (Default: 8/255)
        alpha (float): the step size; ``step_size`` is accepted too. (Default: 2/255)
        steps (int): gradient steps. (Default: 10) random_start (bool): start uniform in the ball. (Default: True)
        norm (str): "Linf" or "L2". (Default: "Linf") seed (int): the random start's seed. (Default: None)

    Shape:
        - images: (N, C, H, W) in [0, 1]. - labels: (N,). - output: (N, C, H, W).

    Example::

        >>> attack = PGD(model, eps=8/255, alpha=2/255, steps=10, random_start=True)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, eps=8 / 255, alpha=2 / 255, steps: int = 10, random_start: bool = True,
                 *, norm: str = "Linf", step_size=None, seed: int | None = None, **options):
        if step_size is not None and alpha not in (None, 2 / 255) and step_size != alpha:
            raise NotbugsError("give the step size once, as alpha (torchattacks' name) or step_size")
        self.model = model
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.kwargs = dict(norm=norm_name(norm), eps=eps, steps=steps,
                           step_size=step_size if step_size is not None else alpha, random_start=random_start,
                           **options)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return pgd(self.model, x, y, generator=self.generator, **self.kwargs)


class PGDL2(PGD):
    """torchattacks' ``PGDL2``: ``PGDL2(model, eps=1.0, alpha=0.2, steps=10, random_start=True)(x, y)``."""

    def __init__(self, model: nn.Module, eps=1.0, alpha=0.2, steps: int = 10, random_start: bool = True, **options):
        super().__init__(model, eps=eps, alpha=alpha, steps=steps, random_start=random_start, norm="L2", **options)
