"""APGD, the step-size-free PGD of AutoAttack (Croce & Hein, ICML 2020, https://arxiv.org/abs/2003.01690).

PGD with momentum 0.75 whose step size starts at 2 eps and halves at
checkpoints where the loss stalls; after a halving the attack restarts from
the best point found so far. Checkpoint intervals follow the paper: 22 % of
the steps, then 3 % shorter each time, never below 6 %. At a checkpoint the
step halves where (1) the loss rose on at most 75 % of the steps since the
last one, or (2) the step was not halved last time and the best loss has not
improved since. Two losses: the cross-entropy (APGD-CE) and the targeted DLR
loss (APGD-T, run against each of the most likely wrong classes in turn).

Every quantity is per example (step size, best point, checkpoint tests; the
random start is drawn from ``seed`` and the example's own pixels), so a batch
gives what each of its examples would give alone. The model runs frozen; the input is never
modified. Written from the paper; where torchattacks 3.5.1 differs (its L2
step uses the first example's step size for the whole batch) this follows the
paper and the authors' code.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn
from torch.nn import functional as F

from ..core.errors import NotbugsError
from ..core.inputs import check_batch, check_device, check_logits
from .pgd import as_eps, frozen, norm_name
from .threat import THREATS, _norms

MOMENTUM, RHO = 0.75, 0.75


def checkpoint_steps(steps: int) -> list[int]:
    """The iterations after which the step size may halve: intervals of 22 % of ``steps``, each 3 % shorter than
    the last, at least 6 % (the paper's p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06))."""
    first, shrink, least = max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)
    out, at, length = [], 0, first
    while at + length <= steps:
        at += length
        out.append(at)
        length = max(length - shrink, least)
    return out


def dlr_targeted(logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The targeted difference-of-logits-ratio loss (maximised): -(z_y - z_t) / (z_(1) - (z_(3) + z_(4)) / 2),
    z_(i) the i-th largest logit; invariant to shifting and scaling the logits. Needs 4 or more classes."""
    if logits.shape[1] < 4:
        raise NotbugsError(f"the DLR loss needs at least 4 classes, the model has {logits.shape[1]}")
    top = logits.sort(dim=1, descending=True).values
    rows = torch.arange(len(y), device=logits.device)
    return -(logits[rows, y] - logits[rows, target]) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)


def _start(x: torch.Tensor, eps: torch.Tensor, norm: str, seed: int) -> torch.Tensor:
    """A random point on the eps-sphere (L2) or in the eps-box (Linf), drawn from a generator seeded by ``seed``
    and the example's pixels: the same example gets the same start in any batch."""
    noise = []
    for image in x.detach().cpu():
        digest = hashlib.sha256(seed.to_bytes(8, "little", signed=True) + image.numpy().tobytes()).digest()
        g = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)
        noise.append((torch.randn if norm == "l2" else torch.rand)(x.shape[1:], generator=g, dtype=x.dtype))
    noise = torch.stack(noise).to(x.device)
    delta = eps * noise / (_norms(noise) + 1e-12) if norm == "l2" else eps * (2 * noise - 1)
    return (x + delta).clamp(0, 1)


def _project(x: torch.Tensor, point: torch.Tensor, eps: torch.Tensor, norm: str) -> torch.Tensor:
    """``point`` moved into the eps-ball around ``x`` (the threat model's projection), then into [0, 1]."""
    return (x + THREATS[norm].project(point - x, eps)).clamp(0, 1)


def _run(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn, *, norm: str, eps: torch.Tensor, steps: int,
         seed: int) -> torch.Tensor:
    """One APGD run maximising ``loss_fn(logits, y)`` (per example); the first misclassified point found for each
    example, or its last best-loss point where none was."""
    marks = set(checkpoint_steps(steps))

    def loss_and_grad(point):
        point = point.detach().requires_grad_(True)
        with torch.enable_grad():
            logits = model(point)
            loss = loss_fn(logits, y)
            grad, = torch.autograd.grad(loss.sum(), point)
        return loss.detach(), grad.detach(), logits.detach().argmax(1) != y

    adv = _start(x, eps, norm, seed)
    loss, grad, fooled = loss_and_grad(adv)
    found = torch.where(fooled.view(-1, *[1] * (x.ndim - 1)), adv, x)
    done = fooled.clone()
    best, best_loss, best_grad = adv.clone(), loss.clone(), grad.clone()
    size = 2 * eps.expand(len(x), *eps.shape[1:]).clone()
    previous = adv.clone()
    rises = torch.zeros(len(x), device=x.device)
    halved_last = torch.ones(len(x), dtype=torch.bool, device=x.device)
    loss_at_mark = best_loss.clone()
    since, last_loss = 0, loss
    for i in range(steps):
        with torch.no_grad():
            z = _project(x, adv + THREATS[norm].step(grad, size), eps, norm)
            a = MOMENTUM if i > 0 else 1.0
            new = _project(x, adv + a * (z - adv) + (1 - a) * (adv - previous), eps, norm)
            previous, adv = adv, new
        loss, grad, fooled = loss_and_grad(adv)
        with torch.no_grad():
            newly = fooled & ~done
            found[newly] = adv[newly]
            done |= fooled
            rises += (loss > last_loss).float()
            last_loss = loss
            better = loss > best_loss
            best[better], best_grad[better], best_loss[better] = adv[better], grad[better], loss[better]
            since += 1
            if i + 1 in marks:
                halve = (rises <= RHO * since) | (~halved_last & (best_loss <= loss_at_mark))
                size[halve] /= 2
                adv[halve], grad[halve] = best[halve], best_grad[halve]
                previous[halve] = best[halve]
                halved_last, loss_at_mark = halve, best_loss.clone()
                rises.zero_()
                since = 0
    found[~done] = best[~done]
    return found


def apgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps, norm: str = "l2", steps: int = 100,
         loss: str = "ce", targets: int = 9, restarts: int = 1, seed: int = 0) -> torch.Tensor:
    """APGD adversarial examples within ``eps`` of ``x`` (pixels in [0, 1]).

    Arguments:
        model: a classifier giving logits for images in [0, 1] (normalisation inside it).
        x: images, shape (N, C, H, W), in [0, 1]; y: their labels, shape (N,).
        eps (float or N floats): the radius, in pixel space. norm (str): "l2" or "linf". Default "l2".
        steps (int): iterations per run. Default 100 (AutoAttack's standard version).
        loss (str): "ce" (APGD-CE, untargeted) or "dlr-t" (APGD-T: the targeted DLR loss against each of the
            ``targets`` most likely wrong classes in turn). Default "ce".
        targets (int): target classes for "dlr-t". Default 9. restarts (int): runs from random starts. Default 1.
        seed (int): the random starts' seed. Default 0.

    Returns the examples, shape (N, C, H, W): for each input the first misclassified point found, else the
    input itself (misclassified inputs are returned as they are). Example::

        x_adv = apgd(model, x, y, eps=0.5, norm="l2", loss="dlr-t")
        robust = (model(x_adv).argmax(1) == y).float().mean()
    """
    y = check_batch(x, y)
    norm = norm_name(norm)
    check_device(model, x, y)
    if steps < 1 or restarts < 1:
        raise NotbugsError(f"steps and restarts must be >= 1, got {steps} and {restarts}")
    if loss not in ("ce", "dlr-t"):
        raise NotbugsError(f"unknown APGD loss '{loss}'; use ce or dlr-t")
    eps_t = as_eps(eps, x)
    out = x.detach().clone()
    with frozen(model):
        with torch.no_grad():
            logits = check_logits(model(x), model)
        alive = logits.argmax(1) == y
        if loss == "dlr-t" and targets > logits.shape[1] - 1:
            raise NotbugsError(f"{targets} target classes asked for; the model has {logits.shape[1]} classes")
        order = logits.sort(dim=1, descending=True).indices
        runs = [(None, r) for r in range(restarts)] if loss == "ce" else \
            [(k, r) for k in range(targets) for r in range(restarts)]
        for n, (k, _) in enumerate(runs):
            idx = alive.nonzero().flatten()
            if len(idx) == 0:
                break
            if k is None:
                def fn(z, t):
                    return F.cross_entropy(z, t, reduction="none")
            else:  # the (k+1)-th most likely class other than the label, on the clean image
                ranked = order[idx]
                target = ranked[ranked != y[idx].unsqueeze(1)].view(len(idx), -1)[:, k]

                def fn(z, t, target=target):
                    return dlr_targeted(z, t, target)
            adv = _run(model, x[idx], y[idx], fn, norm=norm, eps=eps_t[idx], steps=steps, seed=seed + 1009 * n)
            with torch.no_grad():
                fooled = model(adv).argmax(1) != y[idx]
            out[idx[fooled]] = adv[fooled]
            alive[idx[fooled]] = False
    return out

