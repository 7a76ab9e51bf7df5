"""A corruption suite for small grey or colour images: CIFAR-10-C's (Hendrycks & Dietterich 2019) corruptions.

Seven corruptions, five severities each, on images in [0, 1], with the
severity constants of Hendrycks' CIFAR-10-C generator (small images, as
here). Fog is CIFAR-10-C's: a plasma fractal (diamond-square) added to the
image, which is then rescaled; it is mostly low-frequency, which is what makes
it hard for adversarially trained models (Yin et al. 2019). Brightness adds to
the HSV value, which for a grey image is the intensity itself, and for colour
is approximated by adding to every channel.

The maintained package of these corruptions (``imagecorruptions`` on the package
index, last released in 2020) is not used: its fog calls ``np.float_``, which
NumPy 2 removed, and its entry point refuses images under 32 pixels (Fashion-MNIST
has 28). Every corruption draws from the generator it is given, so a suite is
reproducible.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

SEVERITIES = {  # CIFAR-10-C (Hendrycks' make_cifar_c.py)
    "gaussian_noise": [0.04, 0.06, 0.08, 0.09, 0.10],  # std
    "shot_noise": [500, 250, 100, 75, 50],  # photons per unit intensity
    "impulse_noise": [0.01, 0.02, 0.03, 0.05, 0.07],  # share of salt-and-pepper pixels
    "contrast": [0.75, 0.5, 0.4, 0.3, 0.15],  # scale around each image's mean
    "fog": [(0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75)],  # (amplitude, the fractal's decay)
    "brightness": [0.05, 0.1, 0.15, 0.2, 0.3],  # added
    "blur": [0.4, 0.6, 0.7, 0.8, 1.0],  # Gaussian blur sigma in pixels
}
RANDOM = ("gaussian_noise", "shot_noise", "impulse_noise", "fog")  # the ones that draw a new corruption each time


def plasma_fractal(n: int, size: int, decay: float, generator: torch.Generator) -> torch.Tensor:
    """n square height maps of side ``size`` (a power of two), in [0, 1], by the diamond-square algorithm with
    wrap-around: each midpoint is the mean of its four neighbours plus uniform noise whose scale shrinks by
    ``decay`` at every halving of the step."""
    if size & (size - 1):
        raise ValueError(f"a plasma fractal's side must be a power of two, got {size}")
    m = torch.zeros(n, size, size, dtype=torch.float64)
    step, wibble = size, 100.0

    def noise(like: torch.Tensor) -> torch.Tensor:
        return wibble * (2 * torch.rand(like.shape, generator=generator, dtype=torch.float64) - 1) * wibble

    while step >= 2:
        half = step // 2
        corners = m[:, ::step, ::step]
        square = corners + corners.roll(-1, 1)
        square = square + square.roll(-1, 2)
        m[:, half::step, half::step] = square / 4 + noise(square)
        centres, corners = m[:, half::step, half::step], m[:, ::step, ::step]
        across = centres + centres.roll(1, 1) + corners + corners.roll(-1, 2)
        m[:, ::step, half::step] = across / 4 + noise(across)
        down = centres + centres.roll(1, 2) + corners + corners.roll(-1, 1)
        m[:, half::step, ::step] = down / 4 + noise(down)
        step, wibble = half, wibble / decay
    flat = m.flatten(1)
    lo, hi = flat.min(1).values.view(-1, 1, 1), flat.max(1).values.view(-1, 1, 1)
    return ((m - lo) / (hi - lo).clamp_min(1e-12)).float()


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
        amplitude, decay = c
        h, w = x.shape[-2:]
        side = 1 << (max(h, w) - 1).bit_length()
        fog = plasma_fractal(len(x), side, decay, generator)[:, None, :h, :w].to(x.device)
        top = x.flatten(1).max(1).values.view(-1, 1, 1, 1)
        out = (x + amplitude * fog) * top / (top + amplitude)
    elif name == "brightness":
        out = x + c
    else:
        out = _blur(x, c)
    return out.clamp(0, 1)
