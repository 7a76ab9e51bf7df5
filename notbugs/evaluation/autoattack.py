"""AutoAttack (Croce & Hein 2020, https://arxiv.org/abs/2003.01690), the evaluation reviewers ask for.

The four attacks of the standard version run one after another, each on the
examples still robust, with the original's settings: APGD on the
cross-entropy (100 iterations), APGD-T on the targeted DLR loss (100
iterations against each of the 9 most likely other classes), FAB-T (100
iterations, 9 targets) and Square (5000 queries). APGD-CE and APGD-T are the
lab's own (``notbugs.attacks.apgd``, checked against torchattacks' in the
tests), so a plain install has them; FAB-T and Square come from torchattacks
when it is installed (``pip install --no-deps torchattacks==3.5.1``: its
import needs neither torchvision nor requests), and are said to be left out
when it is not. torchattacks' own ``AutoAttack`` wrapper runs its attacks with
10 iterations each, so its components are called with the original settings.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

import torch
from torch import nn

from verdicts import Proportion

from ..attacks import apgd, frozen
from ..core.errors import NotbugsError, NotbugsWarning
from ..core.inputs import check_batch, device_of
from .evaluate import robust_mask

STANDARD = ("apgd-ce", "apgd-t", "fab-t", "square")
OWN = ("apgd-ce", "apgd-t")  # the lab's; the others come from torchattacks
NORMS = {"l2": "L2", "linf": "Linf"}
TORCHATTACKS = "pip install --no-deps torchattacks==3.5.1"


def _torchattacks():
    try:
        import torchattacks
    except ImportError:
        return None
    return torchattacks


def available(which=STANDARD) -> tuple[list[str], list[str]]:
    """The attacks of ``which`` this install can run, and those it cannot (FAB-T and Square need torchattacks)."""
    have = _torchattacks() is not None
    run = [w for w in which if w in OWN or have]
    return run, [w for w in which if w not in run]


class _Fp32Logits(nn.Module):
    """The model with its logits in fp32: torchattacks writes the losses it computes from them into buffers it made
    from the first batch's logits, by index, which fails when the two differ in dtype (bf16 logits of a bf16 run,
    float32 arithmetic on them); its comparisons of losses should not be rounded to bf16 either."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).float()


def components(model: nn.Module, *, norm: str, eps: float, n_classes: int, seed: int = 0, steps: int = 100,
               queries: int = 5000, which=STANDARD) -> list[tuple[str, Callable]]:
    """(name, attack(x, y) -> x_adv) for each attack named in ``which`` that this install has, with AutoAttack's
    standard settings."""
    if norm not in NORMS:
        raise NotbugsError(f"unknown norm '{norm}'; use l2 or linf")
    unknown = [w for w in which if w not in STANDARD]
    if unknown:
        raise NotbugsError(f"unknown attack {', '.join(unknown)}; use {', '.join(STANDARD)}")
    own = {
        "apgd-ce": lambda x, y: apgd(model, x, y, eps=eps, norm=norm, steps=steps, loss="ce", seed=seed),
        "apgd-t": lambda x, y: apgd(model, x, y, eps=eps, norm=norm, steps=steps, loss="dlr-t",
                                    targets=min(9, n_classes - 1), seed=seed),
    }
    ta = _torchattacks()
    kw = dict(norm=NORMS[norm], eps=float(eps), seed=seed)
    fp32 = _Fp32Logits(model)
    borrowed = {} if ta is None else {
        "fab-t": lambda: ta.FAB(fp32, steps=steps, n_restarts=1, multi_targeted=True, n_classes=n_classes, **kw),
        "square": lambda: ta.Square(fp32, n_queries=queries, n_restarts=1, **kw),
    }
    out = []
    for name in which:
        if name in own:
            out.append((name, own[name]))
        elif name in borrowed:
            out.append((name, borrowed[name]()))
    return out


def autoattack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, norm: str, eps: float, seed: int = 0,
               batch_size: int = 500, which=STANDARD, alive: torch.Tensor | None = None, steps: int = 100,
               queries: int = 5000) -> dict:
    """Robust accuracy under the attacks in ``which`` (worst case per example), and after each of them.

    ``alive`` (a boolean mask) starts from examples already known to be robust to other attacks (the stress
    experiment's earlier PGD runs); by default from the correctly classified ones.
    """
    y = check_batch(x, y)
    dev = device_of(model)
    x, y = x.to(dev), y.to(dev)
    n = len(x)
    with frozen(model), torch.no_grad():
        n_classes = model(x[:1]).shape[-1]
    ok = (robust_mask(model, x, y, []) if alive is None else alive.to(dev)).clone()  # a normal tensor, written below
    missing = available(which)[1]
    if missing:
        warnings.warn(f"AutoAttack without {', '.join(missing)} (they need torchattacks: {TORCHATTACKS}): its robust "
                      "accuracy is an upper bound of the standard version's", NotbugsWarning, stacklevel=2)
    steps_out = [{"attack": "clean" if alive is None else "before", "robust_accuracy": Proportion.of(int(ok.sum()), n)}]
    for name, attack in components(model, norm=norm, eps=eps, n_classes=n_classes, seed=seed, which=which,
                                   steps=steps, queries=queries):
        start = time.perf_counter()
        idx = ok.nonzero().flatten()
        for i in range(0, len(idx), batch_size):
            b = idx[i:i + batch_size]
            with frozen(model):
                adv = attack(x[b], y[b])
            ok[b] = robust_mask(model, x[b], y[b], [adv])
        steps_out.append({"attack": name, "robust_accuracy": Proportion.of(int(ok.sum()), n),
                          "seconds": time.perf_counter() - start})
    return {"robust_accuracy": Proportion.of(int(ok.sum()), n), "after": steps_out, "mask": ok,
            "left_out": missing}
