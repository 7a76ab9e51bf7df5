"""Clean and robust accuracy on a test set.

An example counts as robust when the model classifies it correctly at the
clean point and at every PGD iterate (the attack keeps the iterate with the
largest margin, so one misclassified iterate is enough). Hence robust
accuracy never exceeds clean accuracy, and never rises with more steps.
"""

from __future__ import annotations

import torch
from torch import nn
from tqdm.auto import tqdm

from .attacks import frozen, margin, pgd
from .inputs import check_batch


def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024, device: str = "cpu") -> torch.Tensor:
    with frozen(model), torch.inference_mode():
        return torch.cat([model(x[i:i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(x), batch_size)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024, device: str = "cpu") -> float:
    y = check_batch(x, y)
    if len(x) == 0:
        return float("nan")
    return (predict(model, x, batch_size, device) == y).float().mean().item()


def robust_mask(model: nn.Module, x: torch.Tensor, y: torch.Tensor, adversarials) -> torch.Tensor:
    """Per example: classified correctly on the clean image and on every adversarial version of it."""
    with frozen(model), torch.inference_mode():
        ok = model(x).argmax(1) == y
        for x_adv in adversarials:
            ok &= model(x_adv).argmax(1) == y
    return ok


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, norm: str, eps: float, steps: int,
                    step_size: float | None = None, random_start: bool = False, seed: int = 0,
                    batch_size: int = 512, device: str = "cpu", progress: bool = False) -> float:
    gen = torch.Generator().manual_seed(seed)
    robust = 0
    for i in tqdm(range(0, len(x), batch_size), desc=f"{norm} eps={eps:g}", disable=not progress, leave=False):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        x_adv = pgd(model, xb, yb, norm=norm, eps=eps, steps=steps, step_size=step_size, random_start=random_start,
                    best=True, select=margin, generator=gen)
        robust += robust_mask(model, xb, yb, [x_adv]).sum().item()
    return robust / max(len(x), 1)


def strong_robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, norm: str, eps: float, steps: int,
                           restarts: int = 3, seed: int = 0, batch_size: int = 512, device: str = "cpu") -> float:
    """Worst case per example over PGD on the cross-entropy, PGD on the CW margin loss (another
    family: it keeps pushing once the softmax saturates), and ``restarts`` random-start margin PGD runs."""
    gen = torch.Generator().manual_seed(seed)
    robust = 0
    kw = dict(norm=norm, eps=eps, steps=steps, step_size=2.5 * eps / max(steps, 1), best=True, select=margin)
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        attacks = [pgd(model, xb, yb, **kw), pgd(model, xb, yb, loss_fn=margin, **kw)]
        attacks += [pgd(model, xb, yb, loss_fn=margin, random_start=True, generator=gen, **kw) for _ in range(restarts)]
        robust += robust_mask(model, xb, yb, attacks).sum().item()
    return robust / max(len(x), 1)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, norm: str, eps_list, steps: int = 20,
             step_size_factor: float = 2.5, seed: int = 0, device: str = "cpu", progress: bool = True,
             batch_size: int = 512) -> dict:
    """Clean accuracy and robust accuracy at each eps (step size = factor * eps / steps)."""
    y = check_batch(x, y)
    robust = {}
    for eps in eps_list:
        robust[f"{eps:g}"] = robust_accuracy(model, x, y, norm=norm, eps=eps, steps=steps,
                                             step_size=step_size_factor * eps / max(steps, 1), seed=seed,
                                             batch_size=batch_size, device=device, progress=progress)
    return {
        "clean_accuracy": accuracy(model, x, y, device=device),
        "robust_accuracy": robust,
        "attack": {"name": "pgd", "norm": norm, "steps": steps, "step_size": f"{step_size_factor:g} * eps / steps",
                   "random_start": False, "n": len(x)},
    }
