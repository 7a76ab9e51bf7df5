"""Batch augmentations on tensors: random translation (crop with zero padding), flips, colour jitter, small
rotations (MadryLab robustness' standard training transforms) and Gaussian noise."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Pad by ``padding`` zeros and cut a random HxW window per example."""
    if padding <= 0:
        return x
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chan, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = (torch.rand(len(x), generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def gaussian_noise(x: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """x + N(0, std^2) per pixel, clamped to [0, 1] (Gaussian data augmentation, as in Yin et al. 2019)."""
    if std <= 0:
        return x
    return (x + std * torch.randn(x.shape, generator=generator).to(x.device)).clamp(0, 1)


def color_jitter(x: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Brightness, contrast and (for colour images) saturation each scaled by a factor drawn uniformly from
    [1 - strength, 1 + strength] per image, as torchvision's ColorJitter(strength, strength, strength), which
    MadryLab's robustness uses with 0.25; applied here in that fixed order (torchvision shuffles it)."""
    if strength <= 0:
        return x
    n = len(x)

    def factor():
        return (1 + strength * (2 * torch.rand(n, generator=generator) - 1)).to(x.device).view(-1, 1, 1, 1)

    x = (x * factor()).clamp(0, 1)
    grey = x.mean(dim=1, keepdim=True) if x.shape[1] == 1 else \
        (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    mean = grey.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * factor() + mean).clamp(0, 1)
    if x.shape[1] == 3:
        grey = 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
        x = ((x - grey) * factor() + grey).clamp(0, 1)
    return x


def random_rotation(x: torch.Tensor, degrees: float, generator: torch.Generator) -> torch.Tensor:
    """A rotation about the centre by an angle drawn uniformly from [-degrees, degrees] per image, corners filled
    with zeros (torchvision's RandomRotation(degrees); bilinear here where torchvision samples the nearest pixel)."""
    if degrees <= 0:
        return x
    angle = (degrees * (2 * torch.rand(len(x), generator=generator) - 1) * torch.pi / 180).to(x.device)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
