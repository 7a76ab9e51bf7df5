"""Threat models: how to step, project and start inside an eps-ball.

One small class per norm (the seam MadryLab's ``attack_steps`` got right).
``eps`` is a tensor broadcastable to the batch: shape (N, 1, 1, 1), so a
scalar and a per-example eps go through the same code.
"""

from __future__ import annotations

import torch

_TINY = 1e-12


def _norms(v: torch.Tensor) -> torch.Tensor:
    """Per-example L2 norm, shaped (N, 1, ..., 1) to broadcast against v."""
    return v.flatten(1).norm(dim=1).view(-1, *([1] * (v.ndim - 1)))


class L2:
    name = "l2"

    @staticmethod
    def step(grad: torch.Tensor, step_size: torch.Tensor) -> torch.Tensor:
        """Normalized-gradient step of length step_size (zero where the gradient is zero)."""
        return step_size * grad / (_norms(grad) + _TINY)

    @staticmethod
    def project(delta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return delta * torch.clamp(eps / (_norms(delta) + _TINY), max=1.0)

    @staticmethod
    def random(shape, eps: torch.Tensor, generator: torch.Generator | None, dtype) -> torch.Tensor:
        """Uniform in the L2 ball: a Gaussian direction, radius eps * U^(1/d)."""
        direction, radius = [], []
        for _ in range(shape[0]):  # one example at a time, so a batch draws what its examples would alone
            direction.append(torch.randn(shape[1:], generator=generator, dtype=dtype))
            radius.append(torch.rand((), generator=generator, dtype=dtype))
        direction = torch.stack(direction)
        radius = torch.stack(radius).view(-1, *([1] * (len(shape) - 1))) ** (1.0 / direction[0].numel())
        return eps * radius * direction / (_norms(direction) + _TINY)


class Linf:
    name = "linf"

    @staticmethod
    def step(grad: torch.Tensor, step_size: torch.Tensor) -> torch.Tensor:
        return step_size * grad.sign()

    @staticmethod
    def project(delta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return torch.maximum(torch.minimum(delta, eps), -eps)

    @staticmethod
    def random(shape, eps: torch.Tensor, generator: torch.Generator | None, dtype) -> torch.Tensor:
        """Uniform in the Linf box."""
        noise = torch.stack([torch.rand(shape[1:], generator=generator, dtype=dtype) for _ in range(shape[0])])
        return eps * (2 * noise - 1)


THREATS = {"l2": L2, "linf": Linf}
