"""The representation's last ReLU with an identity gradient, as MadryLab's robustness inverts representations.

``robustness`` builds D_R with ``fake_relu=True``: the ReLU that produces the
representation passes gradients through unchanged, so a unit that is dead at
the current image but active in the target still pulls the image towards it.
Here that ReLU is found by watching a forward pass (the last ``nn.ReLU`` module
called before the representation is returned), so the same works for the
package's models and for any ``wrap``ped module whose representation comes
out of an ``nn.ReLU`` (a functional ``F.relu`` cannot be found: then nothing
is changed and ``None`` is reported).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class _FakeReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        return grad


def representation_relu(model: nn.Module, x: torch.Tensor) -> tuple[str, int, int] | None:
    """(name, call, calls per pass) of the last ReLU module a ``features`` pass on x runs, or None."""
    names = {id(m): n for n, m in model.named_modules() if isinstance(m, nn.ReLU)}
    calls: list[int] = []
    hooks = [m.register_forward_hook(lambda mod, a, out: calls.append(id(mod)))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model.features(x[:1])
    finally:
        for h in hooks:
            h.remove()
    if not calls:
        return None
    last = calls[-1]
    return names[last], calls.count(last), calls.count(last)


@contextmanager
def fake_relu(model: nn.Module, x: torch.Tensor):
    """Within the block, the representation's last ReLU has an identity gradient; yields its name (or None)."""
    found = representation_relu(model, x)
    if found is None:
        yield None
        return
    name, call, per_pass = found
    module = model.get_submodule(name)
    seen = [0]

    def hook(mod, args, out):
        seen[0] += 1
        if (seen[0] - 1) % per_pass == call - 1:
            return _FakeReLU.apply(args[0])
        return out

    inplace = module.inplace
    module.inplace = False  # an in-place ReLU would already have masked the gradient of its input
    handle = module.register_forward_hook(hook)
    try:
        yield name
    finally:
        handle.remove()
        module.inplace = inplace
