"""A corruption suite for small grey or colour images, after Hendrycks & Dietterich's ImageNet-C.

Seven corruptions, five severities each, on images in [0, 1]. Fog is additive
low-frequency noise (random noise on a 4x4 grid, upsampled smoothly), which is
what makes it hard for adversarially trained models (Yin et al. 2019). Every
corruption draws from the generator it is given, so a suite is reproducible.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

SEVERITIES = {
    "gaussian_noise": [0.08, 0.12, 0.18, 0.26, 0.38],  # std
    "shot_noise": [60, 25, 12, 5, 3],  # photons per unit intensity
    "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],  # share of salt-and-pepper pixels
    "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],  # scale around each image's mean
    "fog": [0.2, 0.35, 0.5, 0.75, 1.0],  # amplitude of the smooth noise
    "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],  # added
    "blur": [0.5, 0.75, 1.0, 1.5, 2.0],  # Gaussian blur sigma in pixels
}


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    size = 2 * int(3 * sigma) + 1
    t = torch.arange(size, dtype=x.dtype) - size // 2
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = (k / k.sum()).to(x.device)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (size // 2,) * 4, mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def corrupt(x: torch.Tensor, name: str, severity: int, generator: torch.Generator) -> torch.Tensor:
    """``x`` under corruption ``name`` at severity 1..5, clamped to [0, 1]."""
    if name not in SEVERITIES:
        raise ValueError(f"unknown corruption '{name}'; use one of {', '.join(SEVERITIES)}")
    if not 1 <= severity <= 5:
        raise ValueError(f"severity must be 1..5, got {severity}")
    c = SEVERITIES[name][severity - 1]
    if name == "gaussian_noise":
        out = x + c * torch.randn(x.shape, generator=generator)
    elif name == "shot_noise":
        out = torch.poisson(x * c, generator=generator) / c
    elif name == "impulse_noise":
        u = torch.rand(x.shape, generator=generator)
        out = torch.where(u < c / 2, 0.0, torch.where(u > 1 - c / 2, 1.0, x))
    elif name == "contrast":
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        out = (x - mean) * c + mean
    elif name == "fog":
        coarse = torch.randn(len(x), 1, 4, 4, generator=generator)
        out = x + c * F.interpolate(coarse, size=x.shape[-2:], mode="bicubic", align_corners=False)
    elif name == "brightness":
        out = x + c
    else:
        out = _blur(x, c)
    return out.clamp(0, 1)
