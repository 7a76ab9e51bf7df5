"""The paper's datasets (Ilyas et al. 2019, sections 3.1-3.2, appendix C).

- D_R / D_NR: representation inversion. For each training image x, start at
  another training image (or noise) and take L2-normalized gradient steps on
  ||g(x_r) - g(x)||_2, clamping to [0, 1], where g is the robust (D_R) or
  standard (D_NR) model's ``features``. The label of x is kept. The presets
  add heavy-ball momentum to the paper's normalised steps (the same geometry in
  a tenth of the passes); Adam on the same objective is an option that moves
  the images farther (measured per optimiser by
  benchmarks/inversion_optimisers.py).
- D_rand / D_det: targeted L2 PGD with the *standard* model towards t, a
  random wrong class (D_rand) or (y + 1) mod C (D_det); the image is
  relabelled t. To a human (and to a robust model) the label looks wrong.
- The leakage check asks the robust model whether a D_rand / D_det image
  still shows its original class y as often as the unperturbed image does.
"""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..attacks import cross_entropy, frozen, norm_name, pgd
from ..core.errors import NotbugsError, NotbugsWarning
from ..core.inputs import check_batch, check_classes, device_of
from ..core.values import non_default
from ..evaluation.evaluate import agreement
from ..models.fake_relu import fake_relu
from ..store.sharding import map_batches


@dataclass
class InversionConfig:
    steps: int = 1000
    step_size: float = 0.1
    schedule: str = "constant"  # or "cosine": step size decays to 0 over the run
    # "normalized": the paper's L2-normalised gradient steps; "adam": Adam on the pixels (step_size its rate),
    # projected to [0, 1] (fewer passes, but its sign-like steps carry D_NR's images 1.7x farther from their
    # starts than the paper's optimiser: measured in benchmarks/inversion_optimisers.py, not the presets')
    optimizer: str = "normalized"
    momentum: float = 0.0  # "normalized": heavy-ball momentum on the normalised gradients (0: the paper's steps)
    start: str = "image"  # "image": a random other training image; "noise": Gaussian noise (appendix D.1)
    batch_size: int = 500
    seed: int = 0
    # early stop: an example stops once its feature distance fell by less than stop_tol (relative)
    # over stop_patience steps; 0 keeps the paper's fixed number of steps
    stop_patience: int = 0
    stop_tol: float = 0.01
    fake_relu: bool = False  # identity gradient through the representation's last ReLU (robustness' fake_relu)
    use_best: bool = False  # return each image's closest iterate (robustness' use_best), not the last

    def to_dict(self):
        return asdict(self)

    def key(self) -> dict:
        """What a store key holds: the fields that differ from their defaults."""
        return non_default(self)


@dataclass
class RelabelConfig:
    mode: str = "det"  # "rand" or "det"
    eps: float | None = None  # None: the robust model's training eps, as in the paper (a lab resolves it)
    steps: int = 100
    step_size: float | None = None  # None: 2.5 * eps / steps, as every attack here
    norm: str = "l2"  # the paper relabels in L2; "linf" for an Linf threat model
    noise_std: float = 0.0  # > 0: average the attack over Gaussian input noise (expectation over transformation)
    noise_samples: int = 1
    use_best: bool = False  # return each image's iterate of lowest targeted loss (robustness' use_best), not the last
    batch_size: int = 500
    seed: int = 0

    def to_dict(self):
        return asdict(self)

    def key(self) -> dict:
        """What a store key holds: the fields that differ from their defaults."""
        return non_default(self)


ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8


def invert(model: nn.Module, target: torch.Tensor, start: torch.Tensor, *, steps: int, step_size: float,
           schedule: str = "constant", stop_patience: int = 0, stop_tol: float = 0.01,
           optimizer: str = "normalized", momentum: float = 0.0, use_best: bool = False) -> tuple[torch.Tensor, int]:
    """Images near ``start`` whose ``model.features`` match those of ``target``: L2-normalised descent (the
    paper's; with ``momentum``, heavy-ball on the normalised gradients, which keeps the paper's geometry in
    fewer steps) or Adam on the pixels, each step projected to [0, 1]. Every update is per pixel or per image,
    so a batch gives what its images would give one by one.

    Returns the images and the number of image-steps taken. With ``stop_patience``
    an example leaves the batch once its distance stopped falling, so the
    remaining steps cost only what is still moving. With ``use_best`` each
    image is the iterate (its start and its last included) whose features came
    closest to the target's, as ``robustness`` returns by default.
    """
    if optimizer not in ("normalized", "adam"):
        raise NotbugsError(f"unknown inversion optimizer '{optimizer}'; use normalized or adam")
    if not 0 <= momentum < 1:
        raise NotbugsError(f"the inversion's momentum must be in [0, 1), got {momentum}")
    x = start.detach().clone()
    first, second = torch.zeros_like(x), torch.zeros_like(x)  # Adam's moment estimates, or the heavy ball's
    active = torch.arange(len(x), device=x.device)
    best = torch.full((len(x),), float("inf"), device=x.device)
    stale = torch.zeros(len(x), dtype=torch.long, device=x.device)
    taken = 0
    kept_x, kept_d = (x.clone(), torch.full((len(x),), float("inf"), device=x.device)) if use_best else (None, None)
    with frozen(model), torch.enable_grad():
        with torch.no_grad():
            goal = model.features(target).float()
        for i in range(steps):
            whole = len(active) == len(x)  # no gather/scatter copies while every example still moves
            xa = (x if whole else x[active]).detach().requires_grad_(True)
            dist = (model.features(xa).float() - (goal if whole else goal[active])).flatten(1).norm(dim=1)
            if use_best:  # the distance of the iterate before this step
                closer = dist.detach() < kept_d[active]
                kept_d[active[closer]], kept_x[active[closer]] = dist.detach()[closer], xa.detach()[closer]
            (grad,) = torch.autograd.grad(dist.sum(), xa)
            lr = step_size * (0.5 * (1 + math.cos(math.pi * i / steps)) if schedule == "cosine" else 1.0)
            if optimizer == "adam":
                m = ADAM_BETAS[0] * (first if whole else first[active]) + (1 - ADAM_BETAS[0]) * grad
                v = ADAM_BETAS[1] * (second if whole else second[active]) + (1 - ADAM_BETAS[1]) * grad * grad
                if whole:
                    first, second = m, v
                else:
                    first[active], second[active] = m, v
                m_hat, v_hat = m / (1 - ADAM_BETAS[0] ** (i + 1)), v / (1 - ADAM_BETAS[1] ** (i + 1))
                moved = (xa.detach() - lr * m_hat / (v_hat.sqrt() + ADAM_EPS)).clamp_(0, 1)
            else:
                norms = grad.flatten(1).norm(dim=1).view(-1, *([1] * (x.ndim - 1)))
                direction = grad / (norms + 1e-12)
                if momentum:
                    direction = momentum * (first if whole else first[active]) + direction
                    if whole:
                        first = direction
                    else:
                        first[active] = direction
                moved = (xa.detach() - lr * direction).clamp_(0, 1)
            if whole:
                x = moved
            else:
                x[active] = moved
            taken += len(active)
            if stop_patience > 0:
                d = dist.detach()
                improved = d < best[active] * (1 - stop_tol)
                best[active] = torch.where(improved, d, best[active])
                stale[active] = torch.where(improved, 0, stale[active] + 1)
                active = active[stale[active] < stop_patience]
                if len(active) == 0:
                    break
        if use_best:  # the last iterate too
            with torch.no_grad():
                last = (model.features(x).float() - goal).flatten(1).norm(dim=1)
            closer = last < kept_d
            kept_x[closer] = x[closer]
            x = kept_x
    return x, taken


def feature_distance(model: nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-example ||g(a) - g(b)|| / ||g(b)||: how well an inversion matched its target, in fp32 whatever the
    run's precision (a bf16 distance, and its mean, keep 3 digits: the convergence premise reads them)."""
    with frozen(model), torch.inference_mode():
        fa, fb = model.features(a).float(), model.features(b).float()
        return (fa - fb).flatten(1).norm(dim=1) / fb.flatten(1).norm(dim=1).clamp_min(1e-12)


def start_index(n: int, seed: int) -> torch.Tensor:
    """Where each of n inversions starts: the index of a different training image, chosen independently of its
    label (the paper's construction); the same for the same n and seed (the report draws start beside result)."""
    gen = torch.Generator().manual_seed(seed)
    shift = torch.randint(1, n, (n,), generator=gen) if n > 1 else torch.zeros(1, dtype=torch.long)
    return (torch.arange(n) + shift) % n


def feature_dataset(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: InversionConfig, *,
                    progress: bool = True, desc: str = "invert", work: Path | None = None) -> dict | None:
    """D_R (robust ``model``) or D_NR (standard ``model``) of 'Adversarial Examples Are Not Bugs, They Are
    Features' (Ilyas et al. 2019, section 3.1) [https://arxiv.org/abs/1905.02175]: for each image, a start
    (another image, or noise) moved until the model's representation of it matches the image's, labelled with
    the image's label. Computed on the model's device.

    Arguments:
        model (nn.Module): with ``features(x)``, the representation matched. x, y: the images and labels.
        cfg (InversionConfig): steps, step size, schedule, optimiser, start, fake ReLU (see its fields).
        work (Path): keeps finished batches, for a resume or several processes. (Default: None)

    Shape:
        - x: (N, C, H, W) in [0, 1]; y: (N,). - output: {"x": (N, C, H, W), "y": (N,), ...} with the convergence
          statistics (mean relative feature distance, L2 moved from the start).

    Example::

        >>> d_nr = feature_dataset(std_model, x, y, InversionConfig(steps=100, momentum=0.9))
    """
    if cfg.steps < 1 or cfg.step_size <= 0:
        raise NotbugsError("inversion needs steps >= 1 and step_size > 0")
    if cfg.start not in ("image", "noise"):
        raise NotbugsError(f"unknown inversion start '{cfg.start}'; use image or noise")
    y = check_batch(x, y, "source")
    if not callable(getattr(model, "features", None)):
        raise NotbugsError(f"{type(model).__name__} has no features(x), the representation an inversion matches; "
                           "wrap it: notbugs.models.wrap(module, features='<layer name>')")
    if cfg.start == "image":
        starts = x[start_index(len(x), cfg.seed)]
    else:
        gen = torch.Generator().manual_seed(cfg.seed)
        starts = (0.5 + 0.25 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    device = device_of(model)
    relu = None

    def one(lo: int, hi: int) -> dict:
        nonlocal relu
        target = x[lo:hi].to(device)
        with fake_relu(model, target) if cfg.fake_relu else nullcontext() as relu:
            xr, taken = invert(model, target, starts[lo:hi].to(device), steps=cfg.steps, step_size=cfg.step_size,
                               schedule=cfg.schedule, stop_patience=cfg.stop_patience, stop_tol=cfg.stop_tol,
                               optimizer=cfg.optimizer, momentum=cfg.momentum, use_best=cfg.use_best)
        with torch.no_grad():
            dead = int((model.features(target).flatten(1).abs().sum(1) == 0).sum())
        return {"x": xr, "dist": feature_distance(model, xr, target), "steps": torch.tensor([taken]),
                "dead": torch.tensor([dead]), "moved": (xr.cpu() - starts[lo:hi]).flatten(1).norm(dim=1)}

    res = map_batches(one, len(x), cfg.batch_size, work=work, progress=progress, desc=desc)
    if res is None:  # another rank merges
        return None
    if cfg.fake_relu and relu is None:  # every batch came from the work folder: find the ReLU for the record
        with fake_relu(model, x[:1].to(device)) as relu:
            pass
    d = res["dist"]
    if "dead" in res and res["dead"].sum() > 0.1 * len(x):
        warnings.warn(f"the representation is all zeros for {int(res['dead'].sum())} of {len(x)} images: their "
                      "feature distance is 0 by construction, so the inversion looks perfect while it matched "
                      "nothing; invert another layer (wrap(..., features=...))", NotbugsWarning, stacklevel=2)
    return {"x": res["x"], "y": y.clone(),
            "stats": {"relative_feature_distance_mean": d.mean().item(),
                      "relative_feature_distance_median": d.median().item(),
                      "relative_feature_distance_p90": d.quantile(0.9).item(),
                      "relative_feature_distance_max": d.max().item(),
                      "mean_inversion_steps": res["steps"].sum().item() / max(len(x), 1),
                      # how far the images moved from their starts: the feature distance alone cannot tell an
                      # inversion that stays near its start from one that wanders off (Adam's did)
                      **({"perturbation_l2_mean": res["moved"].mean().item()} if "moved" in res else {}),
                      "fake_relu": relu if cfg.fake_relu else None}}


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


class Stacked(nn.Module):
    """The logits of a source model and of an ensemble, stacked (N, 1 + k, C): one forward for an attack
    that needs them all."""

    def __init__(self, source: nn.Module, others: list[nn.Module]):
        super().__init__()
        self.source, self.others = source, nn.ModuleList(others)

    def forward(self, x):
        return torch.stack([self.source(x)] + [m(x) for m in self.others], 1)


def non_transferable_loss(y: torch.Tensor):
    """Nakkiran's loss on ``Stacked`` logits: CE of the source towards the target, plus the ensemble's mean CE
    on the true label y. Minimised, it fools the source while every other model keeps seeing y."""
    def loss(stacked: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        keep = torch.stack([F.cross_entropy(stacked[:, i], y, reduction="none") for i in range(1, stacked.shape[1])])
        return F.cross_entropy(stacked[:, 0], t, reduction="none") + keep.mean(0)
    return loss


def targets_for(y: torch.Tensor, num_classes: int, mode: str, generator: torch.Generator) -> torch.Tensor:
    """D_det: (y + 1) mod C. D_rand: a uniformly random class other than y."""
    if mode == "det":
        return (y + 1) % num_classes
    if mode == "rand":
        return (y + torch.randint(1, num_classes, y.shape, generator=generator)) % num_classes
    raise NotbugsError(f"unknown relabelling '{mode}'; use rand or det")


def relabelled_dataset(std_model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int, cfg: RelabelConfig, *,
                       progress: bool = True, desc: str | None = None, work: Path | None = None,
                       keep: list[nn.Module] | None = None) -> dict | None:
    """D_rand or D_det of 'Adversarial Examples Are Not Bugs, They Are Features' (Ilyas et al. 2019, section 3.2)
    [https://arxiv.org/abs/1905.02175]: each image moved by a targeted attack on the standard model towards a
    target t (random for D_rand, y + 1 for D_det) and labelled t. Computed on the model's device.

    Arguments:
        std_model (nn.Module): the model attacked. x, y: images and labels. num_classes (int).
        cfg (RelabelConfig): mode, eps (None is refused here: a lab fills in the robust model's), steps,
            step size, norm.
        keep (list of nn.Module): models that must go on seeing the true label (Nakkiran's non-transferable
            attack), on the same device. (Default: None)

    Shape:
        - x: (N, C, H, W) in [0, 1]; y: (N,). - output: {"x", "y" (the targets), "original_y", ...}.

    Example::

        >>> d_det = relabelled_dataset(std_model, x, y, 10, RelabelConfig(mode="det", eps=0.5, steps=100))
    """
    if cfg.eps is None:
        raise NotbugsError("RelabelConfig.eps is None (the robust model's eps, which a lab fills in); give the "
                           "relabelling eps, e.g. RelabelConfig(eps=0.5)")
    if not cfg.eps >= 0 or not math.isfinite(cfg.eps):
        raise NotbugsError(f"eps must be a finite number >= 0, got {cfg.eps}")
    norm = norm_name(cfg.norm)
    step = cfg.step_size if cfg.step_size is not None else 2.5 * cfg.eps / max(cfg.steps, 1)
    if cfg.steps * step < cfg.eps:
        warnings.warn(f"the relabelling attack's path ({cfg.steps} steps of {step:g} = {cfg.steps * step:g}) is "
                      f"shorter than eps {cfg.eps:g}: it cannot reach the edge of the ball; raise the steps or the "
                      "step size", NotbugsWarning, stacklevel=2)
    y = check_batch(x, y, "source")
    check_classes(num_classes, y, "source labels")
    t = targets_for(y, num_classes, cfg.mode, torch.Generator().manual_seed(cfg.seed))
    device = device_of(std_model)

    def one(lo: int, hi: int) -> dict:
        attacked, loss = std_model, cross_entropy
        if cfg.noise_std > 0:  # each batch its own noise stream: a batch gives the same images in any process
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + lo // cfg.batch_size + 1)
            attacked, loss = NoisyAverage(std_model, cfg.noise_std, cfg.noise_samples, gen), _nll
        if keep:
            attacked, loss = Stacked(std_model, keep), non_transferable_loss(y[lo:hi].to(device))
        return {"x": pgd(attacked, x[lo:hi].to(device), t[lo:hi].to(device), norm=norm, eps=cfg.eps, steps=cfg.steps,
                         step_size=step, targeted=True, loss_fn=loss, best=cfg.use_best, checked=True)}

    res = map_batches(one, len(x), cfg.batch_size, work=work, progress=progress, desc=desc or f"D_{cfg.mode}")
    if res is None:
        return None
    delta = (res["x"] - x).flatten(1)
    moved = delta.norm(dim=1)
    stats = {"attack_success": agreement(std_model, res["x"], t),
             "perturbation_l2_mean": moved.mean().item(), "perturbation_l2_max": moved.max().item()}
    if norm == "linf":
        stats["perturbation_linf_max"] = delta.abs().max().item()
    return {"x": res["x"], "y": t, "original_y": y.clone(), "stats": stats}


def _nll(logp, y):
    return F.nll_loss(logp, y, reduction="none")


def leakage(robust_model: nn.Module, x_adv: torch.Tensor, x_clean: torch.Tensor, y: torch.Tensor) -> dict:
    """The leakage check of 'Adversarial Examples Are Not Bugs, They Are Features' (Ilyas et al. 2019, appendix)
    [https://arxiv.org/abs/1905.02175]: how often the robust model still sees the original class y on a
    relabelled dataset's images, perturbed vs clean.

    Arguments:
        robust_model (nn.Module). x_adv: the relabelled images (N, C, H, W). x_clean: their sources. y: the
        original labels (N,).

    Returns ``{"robust_agreement_perturbed", "robust_agreement_clean", "leakage_gap"}``. Example::

        >>> leakage(robust_model, d_det["x"], x, y)["leakage_gap"]
    """
    perturbed, clean = agreement(robust_model, x_adv, y), agreement(robust_model, x_clean, y)
    return {"robust_agreement_perturbed": perturbed, "robust_agreement_clean": clean,
            "leakage_gap": float(clean) - float(perturbed)}
