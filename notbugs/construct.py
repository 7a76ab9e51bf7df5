"""The paper's datasets (Ilyas et al. 2019, sections 3.1-3.2, appendix C).

- D_R / D_NR: representation inversion. For each training image x, start at
  another training image (or noise) and take L2-normalized gradient steps on
  ||g(x_r) - g(x)||_2, clamping to [0, 1], where g is the robust (D_R) or
  standard (D_NR) model's ``features``. The label of x is kept.
- D_rand / D_det: targeted L2 PGD with the *standard* model towards t, a
  random wrong class (D_rand) or (y + 1) mod C (D_det); the image is
  relabelled t. To a human (and to a robust model) the label looks wrong.
- The leakage check asks the robust model whether a D_rand / D_det image
  still shows its original class y as often as the unperturbed image does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .attacks import cross_entropy, frozen, pgd
from .errors import NotbugsError
from .evaluate import predict


@dataclass
class InversionConfig:
    steps: int = 1000
    step_size: float = 0.1
    schedule: str = "constant"  # or "cosine": step size decays to 0 over the run
    start: str = "image"  # "image": a random other training image; "noise": Gaussian noise (appendix D.1)
    batch_size: int = 500
    seed: int = 0

    def to_dict(self):
        return asdict(self)


@dataclass
class RelabelConfig:
    mode: str = "det"  # "rand" or "det"
    eps: float = 0.5
    steps: int = 100
    step_size: float = 0.1
    noise_std: float = 0.0  # > 0: average the attack over Gaussian input noise (expectation over transformation)
    noise_samples: int = 1
    batch_size: int = 500
    seed: int = 0

    def to_dict(self):
        return asdict(self)


def invert(model: nn.Module, target: torch.Tensor, start: torch.Tensor, *, steps: int, step_size: float,
           schedule: str = "constant") -> torch.Tensor:
    """Images near ``start`` whose ``model.features`` match those of ``target`` (L2 normalized descent)."""
    with frozen(model), torch.enable_grad():
        with torch.no_grad():
            goal = model.features(target)
        x = start.detach().clone()
        for i in range(steps):
            x.requires_grad_(True)
            loss = (model.features(x) - goal).flatten(1).norm(dim=1).sum()
            (grad,) = torch.autograd.grad(loss, x)
            lr = step_size * (0.5 * (1 + math.cos(math.pi * i / steps)) if schedule == "cosine" else 1.0)
            norms = grad.flatten(1).norm(dim=1).view(-1, *([1] * (x.ndim - 1)))
            x = (x.detach() - lr * grad / (norms + 1e-12)).clamp_(0, 1)
    return x.detach()


def feature_distance(model: nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-example ||g(a) - g(b)|| / ||g(b)||: how well an inversion matched its target."""
    with frozen(model), torch.inference_mode():
        fa, fb = model.features(a), model.features(b)
        return (fa - fb).flatten(1).norm(dim=1) / fb.flatten(1).norm(dim=1).clamp_min(1e-12)


def feature_dataset(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: InversionConfig, *,
                    device: str = "cpu", progress: bool = True, desc: str = "invert") -> dict:
    """D_R (robust ``model``) or D_NR (standard ``model``): one inverted image per training image."""
    if cfg.steps < 1 or cfg.step_size <= 0:
        raise NotbugsError("inversion needs steps >= 1 and step_size > 0")
    if cfg.start not in ("image", "noise"):
        raise NotbugsError(f"unknown inversion start '{cfg.start}'; use image or noise")
    gen = torch.Generator().manual_seed(cfg.seed)
    if cfg.start == "image":
        # a different training image for each x, chosen independently of its label
        shift = torch.randint(1, len(x), (len(x),), generator=gen) if len(x) > 1 else torch.zeros(1, dtype=torch.long)
        starts = x[(torch.arange(len(x)) + shift) % len(x)]
    else:
        starts = (0.5 + 0.25 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    model = model.to(device)
    out, dist = [], []
    for i in tqdm(range(0, len(x), cfg.batch_size), desc=desc, disable=not progress, leave=False):
        target, start = x[i:i + cfg.batch_size].to(device), starts[i:i + cfg.batch_size].to(device)
        xr = invert(model, target, start, steps=cfg.steps, step_size=cfg.step_size, schedule=cfg.schedule)
        out.append(xr.cpu())
        dist.append(feature_distance(model, xr, target).cpu())
    dist = torch.cat(dist)
    return {"x": torch.cat(out), "y": y.clone(),
            "stats": {"relative_feature_distance_mean": dist.mean().item(),
                      "relative_feature_distance_median": dist.median().item()}}


class NoisyAverage(nn.Module):
    """Mean log-probabilities over Gaussian-noised copies of the input: an attack on it
    must work under noise, so it cannot hinge on a brittle pixel pattern."""

    def __init__(self, model: nn.Module, std: float, samples: int, generator: torch.Generator):
        super().__init__()
        self.model, self.std, self.samples, self.generator = model, std, samples, generator

    def forward(self, x):
        logp = 0
        for _ in range(self.samples):
            noise = torch.randn(x.shape, generator=self.generator).to(x.device) * self.std
            logp = logp + F.log_softmax(self.model((x + noise).clamp(0, 1)), dim=1)
        return logp / self.samples


def targets_for(y: torch.Tensor, num_classes: int, mode: str, generator: torch.Generator) -> torch.Tensor:
    """D_det: (y + 1) mod C. D_rand: a uniformly random class other than y."""
    if mode == "det":
        return (y + 1) % num_classes
    if mode == "rand":
        return (y + torch.randint(1, num_classes, y.shape, generator=generator)) % num_classes
    raise NotbugsError(f"unknown relabelling '{mode}'; use rand or det")


def relabelled_dataset(std_model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int, cfg: RelabelConfig, *,
                       device: str = "cpu", progress: bool = True, desc: str | None = None) -> dict:
    """D_rand or D_det: x nudged by the standard model towards t, labelled t."""
    if cfg.eps < 0:
        raise NotbugsError(f"eps must be >= 0, got {cfg.eps}")
    gen = torch.Generator().manual_seed(cfg.seed)
    t = targets_for(y, num_classes, cfg.mode, gen)
    std_model = std_model.to(device)
    attacked = NoisyAverage(std_model, cfg.noise_std, cfg.noise_samples, gen) if cfg.noise_std > 0 else std_model
    out = []
    for i in tqdm(range(0, len(x), cfg.batch_size), desc=desc or f"D_{cfg.mode}", disable=not progress, leave=False):
        xb, tb = x[i:i + cfg.batch_size].to(device), t[i:i + cfg.batch_size].to(device)
        out.append(pgd(attacked, xb, tb, norm="l2", eps=cfg.eps, steps=cfg.steps, step_size=cfg.step_size,
                       targeted=True, loss_fn=_nll if cfg.noise_std > 0 else cross_entropy).cpu())
    x_adv = torch.cat(out)
    success = (predict(std_model, x_adv, device=device) == t).float().mean().item()
    return {"x": x_adv, "y": t, "original_y": y.clone(), "stats": {"attack_success": success}}


def _nll(logp, y):
    return F.nll_loss(logp, y, reduction="none")


def leakage(robust_model: nn.Module, x_adv: torch.Tensor, x_clean: torch.Tensor, y: torch.Tensor,
            device: str = "cpu") -> dict:
    """How often the robust model still sees the original class y, perturbed vs clean."""
    robust_model = robust_model.to(device)
    perturbed = (predict(robust_model, x_adv, device=device) == y).float().mean().item()
    clean = (predict(robust_model, x_clean, device=device) == y).float().mean().item()
    return {"robust_agreement_perturbed": perturbed, "robust_agreement_clean": clean,
            "leakage_gap": clean - perturbed}
