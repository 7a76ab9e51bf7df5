"""Images in the Fourier domain: basis images, frequency bands, filters, spectral energy.

Frequencies are (u, v) in the *centred* convention, u in [-H/2, H/2), v in
[-W/2, W/2); "radius" is the max-norm max(|u|, |v|), so a band is a square
ring, as in Yin et al. 2019's heat maps and filtered-data experiments.
"""

from __future__ import annotations

import torch


def frequencies(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centred integer frequencies of every FFT bin, as (H, W) grids (fftfreq order, not shifted)."""
    u = torch.fft.fftfreq(h, 1 / h).round().long()
    v = torch.fft.fftfreq(w, 1 / w).round().long()
    return u[:, None].expand(h, w), v[None, :].expand(h, w)


def radius(h: int, w: int) -> torch.Tensor:
    u, v = frequencies(h, w)
    return torch.maximum(u.abs(), v.abs())


def basis(h: int, w: int, u: int, v: int) -> torch.Tensor:
    """The real image of unit L2 norm whose spectrum lives only at (u, v) and (-u, -v)."""
    spec = torch.zeros(h, w, dtype=torch.complex128)
    spec[u % h, v % w] = 1
    spec[(-u) % h, (-v) % w] = 1
    img = torch.fft.ifft2(spec).real  # a cosine: the pair is conjugate-symmetric
    return (img / img.norm()).float()


def half_plane(h: int, w: int) -> list[tuple[int, int]]:
    """One (u, v) of every conjugate pair: the basis images of the other half are the same images."""
    seen, out = set(), []
    for u in range(-(h // 2), (h + 1) // 2):
        for v in range(-(w // 2), (w + 1) // 2):
            if ((-u) % h, (-v) % w) not in seen:
                seen.add((u % h, v % w))
                out.append((u, v))
    return out


def filtered(x: torch.Tensor, cutoff: int, kind: str) -> torch.Tensor:
    """Keep the frequencies of radius <= cutoff ("low") or >= cutoff ("high"), per channel. A high-passed image
    has no mean and negative values; it is shown around grey (+0.5) and clamped to [0, 1], as the model needs."""
    if kind not in ("low", "high"):
        raise ValueError(f"unknown filter '{kind}'; use low or high")
    r = radius(*x.shape[-2:]).to(x.device)
    mask = (r <= cutoff) if kind == "low" else (r >= cutoff)
    out = torch.fft.ifft2(torch.fft.fft2(x) * mask).real
    return (out if kind == "low" else out + 0.5).clamp(0, 1)


def high_frequency_share(x: torch.Tensor, cutoff: int) -> float:
    """The share of an image's spectral energy (mean removed) at radius >= cutoff."""
    power = torch.fft.fft2(x - x.mean(dim=(-2, -1), keepdim=True)).abs() ** 2
    r = radius(*x.shape[-2:]).to(x.device)
    return (power[..., r >= cutoff].sum() / power.sum().clamp_min(1e-12)).item()
