"""Standard and PGD adversarial training on tensors (Madry et al. 2018).

The whole loop is here, top to bottom: shuffle, augment, (attack), step,
schedule. Adversarial examples are made with the model in eval mode, as in
MadryLab's ``robustness``; the training step then runs in train mode.
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from ..attacks import pgd
from ..core.errors import NotbugsError, NotbugsWarning
from ..core.inputs import check_batch, check_classes
from ..core.progress import bar as progress_bar
from ..core.values import non_default
from ..evaluation.evaluate import accuracy
from ..store.sharding import rank, world_size
from .augment import color_jitter, gaussian_noise, random_crop, random_flip, random_rotation

# an epoch whose mean cross-entropy is this many times a uniform guess's (ln of the class count) has diverged: a
# model that learns anything stays far below it, even on adversarial batches
DIVERGED = 100
CHANCE_CHECK = 2000  # training images an adversarially trained model is checked on for chance accuracy


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"  # "adam" or "sgd"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"  # "cosine", "step" (10x drop at half-way) or "constant"
    crop_padding: int = 2  # random translation by up to this many pixels; 0 turns it off
    flip: bool = True  # horizontal flips, only where the dataset allows them
    jitter: float = 0.0  # brightness / contrast / saturation factors in [1 - jitter, 1 + jitter]; 0 turns it off
    rotation: float = 0.0  # random rotations by up to this many degrees; 0 turns it off
    adv: str | None = None  # None for standard training, "l2" or "linf" for PGD training
    eps: float = 0.0
    steps: int = 7
    step_size: float | None = None  # default 2.5 * eps / steps
    random_start: bool = False  # the paper starts PGD at the clean image
    seed: int = 0
    device: str = "cpu"
    amp: bool = False  # bfloat16 autocast for the attack and the training step (GPUs; slower on most CPUs)
    compile: bool = False  # torch.compile the model (helps small models on GPUs, not on CPUs)
    noise_std: float = 0.0  # Gaussian noise augmentation (per pixel, clamped); 0 turns it off

    def validate(self) -> None:
        if self.epochs < 0 or self.batch_size < 1 or not (math.isfinite(self.lr) and self.lr > 0):
            raise NotbugsError(f"epochs must be >= 0, batch size >= 1 and lr a finite number > 0 (got {self.epochs}, "
                               f"{self.batch_size}, {self.lr})")
        if not all(math.isfinite(v) for v in (self.eps, self.noise_std, self.jitter, self.rotation, self.momentum,
                                              self.weight_decay) + ((self.step_size,) if self.step_size else ())):
            raise NotbugsError("eps, step size, noise_std, jitter, rotation, momentum and weight decay must be finite")
        if self.optimizer not in ("adam", "sgd"):
            raise NotbugsError(f"unknown optimizer '{self.optimizer}'; use adam or sgd")
        if self.schedule not in ("cosine", "step", "constant"):
            raise NotbugsError(f"unknown schedule '{self.schedule}'; use cosine, step or constant")
        if self.adv not in (None, "l2", "linf"):
            raise NotbugsError(f"unknown norm '{self.adv}' for adversarial training; use l2 or linf")
        if self.eps < 0 or self.noise_std < 0 or self.jitter < 0 or self.rotation < 0:
            raise NotbugsError(f"eps, noise_std, jitter and rotation must be >= 0, got {self.eps}, {self.noise_std}, "
                               f"{self.jitter} and {self.rotation}")
        if self.adv and (self.eps == 0 or self.steps < 1):
            raise NotbugsError("adversarial training needs eps > 0 and steps >= 1")

    def to_dict(self) -> dict:
        return asdict(self)

    def key(self) -> dict:
        """What a store key holds: the fields that differ from their defaults."""
        return non_default(self)


def lr_factor(schedule: str, progress: float) -> float:
    """Learning-rate multiplier at ``progress`` in [0, 1) of the run."""
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "step":
        return 1.0 if progress < 0.5 else 0.1
    return 1.0


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, *, hflip_ok: bool = False,
          progress: bool = True, desc: str = "train", after_epoch=None) -> list[dict]:
    """Train ``model`` in place on images ``x`` (in [0, 1]) with labels ``y``; return per-epoch stats.
    ``after_epoch(epoch, model)``, if given, sees the model after each epoch (1-based), e.g. to keep a snapshot."""
    cfg.validate()
    y = check_batch(x, y, "training")
    if len(x) == 0:
        raise NotbugsError("no training images: the training set (or its --train-limit) is empty")
    side = min(x.shape[-2:])
    if cfg.crop_padding > side / 6:
        warnings.warn(f"a random crop of padding {cfg.crop_padding} shifts {side}x{side} images by more than a "
                      "sixth of their side (on 8x8 digits the default crop cost 17 points of accuracy); lower it: "
                      "'notbugs train --crop-padding N' (--no-augment turns it off), in a reproduction "
                      "'--set fresh.crop_padding=N' (or std., adv., fresh_det.)", NotbugsWarning, stacklevel=2)
    device = torch.device(cfg.device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())  # the one torchrun's LOCAL_RANK chose
    model.to(device)
    if device.type != "cpu":  # keep the data on the accelerator: no host-to-device copy per batch
        x, y = x.to(device), y.to(device)
    net = torch.compile(model) if cfg.compile else model
    # under torchrun each process takes every W-th example of each batch, so the batch
    # (and its mean gradient, which DDP averages) is the single-process one
    r, w = rank(), world_size()
    stepper = DistributedDataParallel(net,
                                      device_ids=[device.index] if device.type == "cuda" else None) if w > 1 else net
    order_gen = torch.Generator().manual_seed(cfg.seed)  # the same shuffle in every process
    gen = torch.Generator().manual_seed(cfg.seed + 7919 * (r + 1))  # augmentation, attack noise: per process
    opt = make_optimizer(model, cfg)
    per_epoch = math.ceil(len(x) / cfg.batch_size)
    total = max(1, cfg.epochs * per_epoch)
    history = []
    bar = progress_bar(total=total, desc=desc, disable=not progress or r != 0, unit="batch", leave=False)
    step = 0
    for epoch in range(cfg.epochs):
        start = time.perf_counter()
        # running sums stay on the device: reading them every batch would wait for the GPU each time
        sums = torch.zeros(3, device=device)  # examples, correct, loss * examples
        order = torch.randperm(len(x), generator=order_gen).to(device)
        for b in range(per_epoch):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            if len(idx) < w:  # a last batch too small to give every process an example
                continue
            idx = idx[r::w]
            xb, yb = x[idx].to(device), y[idx].to(device)
            xb = random_crop(xb, cfg.crop_padding, gen)
            if cfg.flip and hflip_ok:
                xb = random_flip(xb, gen)
            xb = random_rotation(color_jitter(xb, cfg.jitter, gen), cfg.rotation, gen)
            xb = gaussian_noise(xb, cfg.noise_std, gen)
            # amp turns bf16 on for this loop; off, it leaves the run's precision (an enclosing bf16 autocast) alone
            with torch.autocast(device.type, dtype=torch.bfloat16) if cfg.amp else nullcontext():
                if cfg.adv:
                    xb = pgd(net, xb, yb, norm=cfg.adv, eps=cfg.eps, steps=cfg.steps, step_size=cfg.step_size,
                             random_start=cfg.random_start, generator=gen, checked=True)
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * lr_factor(cfg.schedule, step / total)
                model.train()
                logits = stepper(xb)
                if step == 0:
                    check_classes(logits.shape[-1], yb, "training labels")
                loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            sums += torch.stack([torch.tensor(len(yb), device=device, dtype=sums.dtype),
                                 (logits.argmax(1) == yb).sum().to(sums.dtype), loss.detach().float() * len(yb)])
            bar.update(1)
            if b % 50 == 0 or b == per_epoch - 1:
                seen, correct, loss_sum = sums.tolist()
                bar.set_postfix(epoch=f"{epoch + 1}/{cfg.epochs}", loss=f"{loss_sum / seen:.3f}",
                                acc=f"{correct / seen:.3f}")
        if w > 1:
            dist.all_reduce(sums)
        seen, correct, loss_sum = sums.tolist()
        mean_loss = loss_sum / max(seen, 1)
        if not math.isfinite(mean_loss) or mean_loss > DIVERGED * math.log(max(2, logits.shape[1])):
            raise NotbugsError(f"training diverged in epoch {epoch + 1} of {cfg.epochs}: the mean loss is "
                               f"{mean_loss:.4g}; lower the learning rate (now {cfg.lr:g})")
        history.append({"epoch": epoch + 1, "loss": mean_loss, "train_accuracy": correct / max(seen, 1),
                        "seconds": time.perf_counter() - start})
        if after_epoch is not None:
            after_epoch(epoch + 1, model)
    bar.close()
    model.eval()
    if cfg.adv and history and r == 0:
        classes = logits.shape[1]
        clean = accuracy(model, x[:CHANCE_CHECK], y[:CHANCE_CHECK])
        if clean <= 1 / classes + 0.05:
            warnings.warn(f"adversarial training ended at chance accuracy ({clean:.1%} on {clean.n} clean training "
                          f"images, chance {1 / classes:.0%}): eps {cfg.eps:g} may be too large or the learning rate "
                          "wrong; this model's robust accuracy means nothing", NotbugsWarning, stacklevel=2)
    return history
