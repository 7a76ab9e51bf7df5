"""AutoAttack (Croce & Hein 2020), the evaluation reviewers ask for, from torchattacks' implementations.

The four attacks of the standard version run one after another, each on the
examples still robust, with the original's settings: APGD on the
cross-entropy (100 iterations), APGD-T on the targeted DLR loss (100
iterations against each of the 9 most likely other classes), FAB-T (100
iterations, 9 targets) and Square (5000 queries). torchattacks' own
``AutoAttack`` wrapper runs its attacks with 10 iterations each, so the
components are called here with the original settings instead. torchattacks is
installed with ``--no-deps`` (its import needs neither torchvision nor requests):
``pip install --no-deps torchattacks==3.5.1``.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from .attacks import frozen
from .errors import NotbugsError
from .evaluate import robust_mask
from .inputs import check_batch, device_of
from .values import Proportion

STANDARD = ("apgd-ce", "apgd-t", "fab-t", "square")
NORMS = {"l2": "L2", "linf": "Linf"}


def _torchattacks():
    try:
        import torchattacks
    except ImportError:
        raise NotbugsError("AutoAttack needs torchattacks: pip install --no-deps torchattacks==3.5.1 (its other "
                           "requirements come with notbugs)") from None
    return torchattacks


def components(model: nn.Module, *, norm: str, eps: float, n_classes: int, seed: int = 0, steps: int = 100,
               queries: int = 5000, which=STANDARD) -> list[tuple[str, object]]:
    """(name, attack) for each attack named in ``which``, with AutoAttack's standard settings."""
    if norm not in NORMS:
        raise NotbugsError(f"unknown norm '{norm}'; use l2 or linf")
    ta = _torchattacks()
    kw = dict(norm=NORMS[norm], eps=float(eps), seed=seed)
    make = {
        "apgd-ce": lambda: ta.APGD(model, steps=steps, n_restarts=1, loss="ce", **kw),
        "apgd-dlr": lambda: ta.APGD(model, steps=steps, n_restarts=1, loss="dlr", **kw),
        "apgd-t": lambda: ta.APGDT(model, steps=steps, n_restarts=1, n_classes=n_classes, **kw),
        "fab-t": lambda: ta.FAB(model, steps=steps, n_restarts=1, multi_targeted=True, n_classes=n_classes, **kw),
        "square": lambda: ta.Square(model, n_queries=queries, n_restarts=1, **kw),
    }
    unknown = [w for w in which if w not in make]
    if unknown:
        raise NotbugsError(f"unknown attack {', '.join(unknown)}; use {', '.join(make)}")
    return [(name, make[name]()) for name in which]


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
    return {"robust_accuracy": Proportion.of(int(ok.sum()), n), "after": steps_out, "mask": ok}
