"""Passes to converge: which optimiser inverts a representation in the fewest feature-gradient passes?

The inversion (D_R, D_NR; Ilyas et al. appendix C) is the paper experiment's largest cost: one forward and
backward pass per image and step. This compares, on the same images and starts, the mean relative feature
distance each optimiser reaches after a budget of passes:

- ``paper``: L2-normalised gradient steps of a constant 0.1 (the paper's 1000 x 0.1);
- ``cosine``: normalised steps of 1.0 decaying to 0 over the budget (the lab's setting before this bench);
- ``adam``: Adam on the pixels, its rate decaying to 0 over the budget (cosine), projected to [0, 1];
- ``momentum``: normalised steps with heavy-ball momentum 0.9, the rate decaying (cosine) over the budget;
- ``lbfgs``: L-BFGS (strong Wolfe line search) on the loss of the image clamped to [0, 1]; a pass is one
  function evaluation.

Beside the feature distance, how far the images moved from their starts (mean L2): an optimiser that meets the
premise by carrying its images much farther than the paper's builds another dataset (Adam's sign-like steps do).

The premise an inversion must meet is a mean relative distance <= 10 % (``experiments.base.converged``).
Models are the quick preset's standard and robust models (trained through the lab, so a later
``reproduce --cache DIR`` reuses them).

    python benchmarks/inversion_optimisers.py --cache runs/quick/cache --images 500 --seed 0 --out FILE.json
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from notbugs.attacks import frozen
from notbugs.data import subset_index
from notbugs.frame.lab import Lab
from notbugs.frame.presets import get_preset
from notbugs.methods.construct import feature_distance, start_index
from notbugs.models.fake_relu import fake_relu
from notbugs.store.pipeline import Store


def distances(model, x, goal):
    return (model.features(x) - goal).flatten(1).norm(dim=1)


def run_normalised(model, target, start, passes, step, schedule):
    x = start.clone()
    with torch.no_grad():
        goal = model.features(target)
    for i in range(passes):
        xa = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(distances(model, xa, goal).sum(), xa)
        lr = step * (0.5 * (1 + math.cos(math.pi * i / passes)) if schedule == "cosine" else 1.0)
        n = g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        x = (xa.detach() - lr * g / (n + 1e-12)).clamp(0, 1)
    return x


def run_momentum(model, target, start, passes, lr, mu=0.9):
    """Written apart from ``notbugs.methods.construct.invert`` on purpose: the test suite checks the two agree."""
    x, v = start.clone(), torch.zeros_like(start)
    with torch.no_grad():
        goal = model.features(target)
    for i in range(passes):
        xa = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(distances(model, xa, goal).sum(), xa)
        v = mu * v + g / (g.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-12)
        x = (xa.detach() - lr * 0.5 * (1 + math.cos(math.pi * i / passes)) * v).clamp(0, 1)
    return x


def run_adam(model, target, start, passes, lr):
    x = start.clone().requires_grad_(True)
    with torch.no_grad():
        goal = model.features(target)
    opt = torch.optim.Adam([x], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * i / passes)))
    for _ in range(passes):
        opt.zero_grad()
        distances(model, x, goal).sum().backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    return x.detach()


def run_lbfgs(model, target, start, passes):
    z = start.clone().requires_grad_(True)
    with torch.no_grad():
        goal = model.features(target)
    opt = torch.optim.LBFGS([z], lr=1.0, max_iter=passes, max_eval=passes, history_size=20,
                            line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = distances(model, z.clamp(0, 1), goal).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return z.detach().clamp(0, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="runs/quick/cache")
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="paper,cosine,momentum,adam,lbfgs")
    ap.add_argument("--budgets", default="30,60,120,250")
    ap.add_argument("--adam-lr", default="0.01,0.03,0.1")
    ap.add_argument("--momentum-lr", default="0.1")
    ap.add_argument("--settings", default="d_nr:image,d_r:image,d_nr:noise,d_r:noise")
    ap.add_argument("--out")
    args = ap.parse_args()

    preset = get_preset("quick").with_seed(args.seed)
    lab = Lab(preset, Store(args.cache), progress=True)
    data = lab.data
    idx = subset_index(len(data.train_x), preset.construct_limit, args.seed)[: args.images]
    x = data.train_x[idx]
    budgets = [int(b) for b in args.budgets.split(",")]
    rows = []
    for setting in args.settings.split(","):
        name, start_kind = setting.split(":")
        model = lab.model(lab.robust() if name == "d_r" else lab.std())
        if start_kind == "image":
            start = x[start_index(len(x), args.seed)]
        else:
            gen = torch.Generator().manual_seed(args.seed)
            start = (0.5 + 0.25 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
        for method in args.methods.split(","):
            variants = {"paper": [("0.1", lambda t, s, p: run_normalised(model, t, s, p, 0.1, "constant"))],
                        "cosine": [("1.0", lambda t, s, p: run_normalised(model, t, s, p, 1.0, "cosine"))],
                        "adam": [(lr, lambda t, s, p, lr=float(lr): run_adam(model, t, s, p, lr))
                                 for lr in args.adam_lr.split(",")],
                        "momentum": [(lr, lambda t, s, p, lr=float(lr): run_momentum(model, t, s, p, lr))
                                     for lr in args.momentum_lr.split(",")],
                        "lbfgs": [("-", lambda t, s, p: run_lbfgs(model, t, s, p))]}[method]
            for label, fn in variants:
                for passes in (budgets + [1000] if method == "paper" else budgets):
                    began = time.perf_counter()
                    with frozen(model), torch.enable_grad(), fake_relu(model, x):
                        out = torch.cat([fn(x[i:i + 128], start[i:i + 128], passes) for i in range(0, len(x), 128)])
                    d = feature_distance(model, out, x)
                    row = {"setting": setting, "method": method, "rate": label, "passes": passes,
                           "mean": d.mean().item(), "median": d.median().item(), "p90": d.quantile(0.9).item(),
                           "moved_l2": (out - start).flatten(1).norm(dim=1).mean().item(),
                           "seconds": time.perf_counter() - began}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"seed": args.seed, "images": args.images, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
