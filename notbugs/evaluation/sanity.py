"""Is a robust-accuracy number trustworthy? Checks for weak attacks and gradient masking.

Each check compares the reported PGD number with an attack that should never
do *better* against a sound evaluation (Carlini et al. 2019, "On Evaluating
Adversarial Robustness"; AutoAttack's runtime flags):

- fgsm_not_stronger: one FGSM step must not beat PGD.
- more_steps: PGD with several times the steps must not beat it by more than noise.
- restarts: PGD from random starts (worst case per example) likewise.
- unbounded: with an eps that covers the whole pixel box, accuracy must reach ~0.
- gradients: no example may have a zero or NaN input gradient.
- transfer: examples made on another model (or random noise) must not beat the white-box attack.

A failed check is a flag beside the number it concerns, never a silent correction.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from verdicts import Proportion

from ..attacks import cross_entropy, frozen, margin, pgd
from ..core.inputs import device_of
from .evaluate import robust_mask


def noise_margin(p: float, n: int) -> float:
    """What 'more than noise' means here: 2 binomial standard errors, at least 1 point."""
    return max(0.01, 2 * math.sqrt(max(p * (1 - p), 1e-12) / max(n, 1)))


def _attack(model, x, y, *, norm, eps, steps, random_start=False, generator=None, loss_fn=cross_entropy):
    return pgd(model, x, y, norm=norm, eps=eps, steps=steps, step_size=2.5 * eps / max(steps, 1),
               random_start=random_start, generator=generator, best=True, select=margin, loss_fn=loss_fn)


def sanity_checks(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, norm: str, eps: float, steps: int,
                  step_factor: int = 3, restarts: int = 2, surrogate: nn.Module | None = None, seed: int = 0,
                  unbounded: bool = True) -> dict:
    """Checks that a robust accuracy is not an artefact of a weak attack or of gradient masking, after
    Carlini et al., 'On Evaluating Adversarial Robustness' [https://arxiv.org/abs/1902.06705]: FGSM does not beat
    PGD, more steps and random restarts do not beat it by more than noise, an unbounded attack reaches ~0 %, no
    input gradient is zero or NaN, a transfer attack (from ``surrogate``, or noise) does not beat it. Computed on
    the model's device (the surrogate must be on it too).

    Arguments:
        norm (str), eps (float), steps (int): the attack checked. step_factor (int): the "more steps" check's
        multiple. (Default: 3) restarts (int): random restarts. (Default: 2) surrogate (nn.Module): for the
        transfer check. (Default: None) seed (int): (Default: 0) unbounded (bool): run the eps-free check (a
        caller checking several eps runs it once). (Default: True)

    Returns ``{"robust_accuracy", "checks": [...], "flags": [names of the checks that failed]}``. Example::

        >>> sanity_checks(model, x[:100], y[:100], norm="l2", eps=0.5, steps=20)["flags"]
    """
    device = device_of(model)
    x, y = x.to(device), y.to(device)
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    base = robust_mask(model, x, y, [_attack(model, x, y, norm=norm, eps=eps, steps=steps)])
    p = base.float().mean().item()
    tol = noise_margin(p, n)
    checks = []

    def check(name, value, passed, detail):
        checks.append({"check": name, "value": value, "passed": bool(passed), "detail": detail})

    fgsm = pgd(model, x, y, norm=norm, eps=eps, steps=1, step_size=eps)
    fgsm_acc = robust_mask(model, x, y, [fgsm]).float().mean().item()
    check("fgsm_not_stronger", fgsm_acc, fgsm_acc >= p - tol,
          f"FGSM {fgsm_acc:.3f} vs PGD-{steps} {p:.3f}")

    long = robust_mask(model, x, y, [_attack(model, x, y, norm=norm, eps=eps, steps=step_factor * steps)])
    long_acc = long.float().mean().item()
    check("more_steps", long_acc, long_acc >= p - tol, f"PGD-{step_factor * steps} {long_acc:.3f} vs PGD-{steps} "
                                                       f"{p:.3f}")

    starts = [_attack(model, x, y, norm=norm, eps=eps, steps=steps, random_start=True, generator=gen)
              for _ in range(restarts)]
    restart_acc = (robust_mask(model, x, y, starts) & base).float().mean().item()
    check("restarts", restart_acc, restart_acc >= p - tol,
          f"worst of PGD + {restarts} random restarts {restart_acc:.3f} vs PGD {p:.3f}")

    if unbounded:
        big = 1.0 if norm == "linf" else math.sqrt(x[0].numel())  # the whole [0, 1] box
        unb_acc = robust_mask(model, x, y, [_attack(model, x, y, norm=norm, eps=big, steps=2 * steps,
                                                loss_fn=margin)]).float().mean().item()
        check("unbounded", unb_acc, unb_acc <= 0.01, f"eps {big:.3g} (the whole pixel box): {unb_acc:.3f}, must be ~0")

    with frozen(model), torch.enable_grad():
        xg = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(cross_entropy(model(xg), y).sum(), xg)
    norms = grad.flatten(1).norm(dim=1)
    bad = (~torch.isfinite(norms) | (norms == 0)).float().mean().item()
    check("gradients", bad, bad == 0, f"{100 * bad:.1f} % of examples have a zero or NaN input gradient")

    if surrogate is not None:
        moved = _attack(surrogate, x, y, norm=norm, eps=eps, steps=steps)
        name, what = "transfer", "transfer from the surrogate model"
    else:
        noise = torch.randn(x.shape, generator=gen).to(device)
        noise = noise * eps / noise.flatten(1).norm(dim=1).view(-1, *[1] * (x.ndim - 1)) if norm == "l2" \
            else noise.sign() * eps
        moved = (x + noise).clamp(0, 1)
        name, what = "black_box", "random noise of norm eps"
    bb_acc = robust_mask(model, x, y, [moved]).float().mean().item()
    check(name, bb_acc, bb_acc >= p - tol, f"{what} {bb_acc:.3f} vs white-box PGD {p:.3f}")

    return {"eps": eps, "n": n, "robust_accuracy": Proportion(p, n), "tolerance": tol, "checks": checks,
            "flags": [c["check"] for c in checks if not c["passed"]]}
