"""Any ``nn.Module`` under the model contract: images in [0, 1] in, logits out, ``features(x)`` at a named layer.

The constructions (D_R / D_NR inversion) need a representation g(x); the
attacks need the model to take pixels. ``wrap`` gives both to a module from
anywhere (torchvision, timm, a paper's code) without touching its weights.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.errors import NotbugsError
from .base import Normalize


class _Reached(Exception):
    """Raised by the feature hook to end the forward pass at the representation layer."""


class Wrapped(nn.Module):
    """``forward(x) = module(prepare(x))``; ``features(x)``: the output of ``layer`` (or the input of the last
    ``nn.Linear`` when no layer is named), flattened per example. ``prepare`` maps [0, 1] images to the
    module's ``input_range`` and then normalises, so that eps is always measured in [0, 1] pixels."""

    def __init__(self, module: nn.Module, features: str | None = None, mean=None, std=None,
                 input_range: tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        if (mean is None) != (std is None):
            raise NotbugsError("give both mean and std (the module's normalisation), or neither")
        self.module = module
        self.normalize = Normalize(mean, std) if mean is not None else nn.Identity()
        self.low, self.high = float(input_range[0]), float(input_range[1])
        if not self.high > self.low:
            raise NotbugsError(f"input_range must be (low, high) with high > low, got {tuple(input_range)}")
        layers = dict(module.named_modules())
        if features is None:
            linear = [name for name, m in layers.items() if isinstance(m, nn.Linear)]
            if not linear:
                raise NotbugsError("the module has no nn.Linear whose input could be the representation; "
                                   "name a layer with features=...")
            self.layer_name, self.take_input = linear[-1], True
        elif features in layers and features:
            self.layer_name, self.take_input = features, False
        else:
            names = [n for n in layers if n]
            shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
            raise NotbugsError(f"no layer named '{features}' in the module; its layers: {shown}")

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        if (self.low, self.high) != (0.0, 1.0):
            x = x * (self.high - self.low) + self.low
        return self.normalize(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(self.prepare(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        seen: list[torch.Tensor] = []

        def keep(value):
            value = value[0] if isinstance(value, (tuple, list)) else value
            seen.append(value)
            raise _Reached  # nothing after the representation needs computing

        layer = self.module.get_submodule(self.layer_name)
        if self.take_input:
            handle = layer.register_forward_pre_hook(lambda m, args: keep(args))
        else:
            handle = layer.register_forward_hook(lambda m, args, out: keep(out))
        try:
            self.module(self.prepare(x))
        except _Reached:
            pass
        finally:
            handle.remove()
        if not seen:
            raise NotbugsError(f"layer '{self.layer_name}' was not reached by the forward pass")
        return seen[0].flatten(1)


def wrap(module: nn.Module, features: str | None = None, *, mean=None, std=None,
         input_range: tuple[float, float] = (0.0, 1.0)) -> Wrapped:
    """``module`` as a notbugs model. ``features``: the submodule whose output is the representation
    (a name from ``module.named_modules()``, e.g. "layer4"); default, the input of the last linear layer.
    ``mean``/``std``: the normalisation the module expects (per channel), applied inside; ``input_range``:
    the pixel range it was trained on, e.g. (0, 255)."""
    return Wrapped(module, features, mean, std, input_range)
