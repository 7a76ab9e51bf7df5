"""How D_det's accuracy depends on its size, the attack's eps, the fresh model's epochs and the source.

D_det is the paper's hardest claim at small scale (issue 3): a fresh model
trained only on images relabelled (y + 1) mod C, whose sole link to the true
label is a targeted perturbation of a standard model, must still classify the
clean test set well above chance. This sweep trains the quick preset's
standard and robust models once, then for each setting builds D_det, checks
leakage with the robust model and trains a fresh model; one JSON line per
setting goes to --out. ``--sources K`` attacks the mean log-probabilities of K
standard models with different seeds (perturbations that fool several models
transfer better; Nakkiran's response ties D_det to transfer).

    python benchmarks/ddet_sweep.py --device cuda --sizes 8000,60000 --eps 3 --epochs 40 --out ddet.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from itertools import product

import torch
from torch import nn
from torch.nn import functional as F

from notbugs.core.seeding import seed_everything
from notbugs.data import load_dataset, subset
from notbugs.evaluation.evaluate import accuracy
from notbugs.frame.presets import get_preset
from notbugs.methods.construct import leakage, relabelled_dataset
from notbugs.methods.train import train
from notbugs.models import build_model, model_spec


class MeanLogProb(nn.Module):
    """log of the mean softmax of several models: one target for an attack on all of them."""

    def __init__(self, models):
        super().__init__()
        self.models = nn.ModuleList(models)

    def forward(self, x):
        logp = torch.stack([F.log_softmax(m(x), dim=1) for m in self.models])
        return torch.logsumexp(logp, dim=0) - torch.log(torch.tensor(float(len(self.models))))


def _ints(text):
    return [int(v) for v in text.split(",")]


def _floats(text):
    return [float(v) for v in text.split(",")]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", type=_ints, default=[4000])
    p.add_argument("--eps", type=_floats, default=[3.0])
    p.add_argument("--epochs", type=_ints, default=[40])
    p.add_argument("--sources", type=_ints, default=[1], help="numbers of standard models attacked together")
    p.add_argument("--attack-steps", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="ddet_sweep.jsonl")
    args = p.parse_args()

    preset = get_preset("quick").with_seed(args.seed)
    data = load_dataset(args.dataset)
    spec = model_spec(preset.arch, data.image_shape, data.num_classes, data.mean, data.std)

    def trained(cfg, x, y, seed):
        seed_everything(seed)
        model = build_model(spec)
        train(model, x, y, replace(cfg, device=args.device, seed=seed), progress=False)
        return model.eval()

    start = time.perf_counter()
    stds = [trained(preset.std, data.train_x, data.train_y, args.seed + k) for k in range(max(args.sources))]
    rx, ry = subset(data.train_x, data.train_y, preset.adv_limit, args.seed)
    robust = trained(preset.adv, rx, ry, args.seed)
    print(f"source models trained in {time.perf_counter() - start:.0f} s", flush=True)

    for n, eps, epochs, k in product(args.sizes, args.eps, args.epochs, args.sources):
        t0 = time.perf_counter()
        x, y = subset(data.train_x, data.train_y, n, args.seed)
        source = stds[0] if k == 1 else MeanLogProb(stds[:k])
        cfg = replace(preset.det, eps=eps, steps=args.attack_steps, step_size=2.5 * eps / args.attack_steps)
        res = relabelled_dataset(source, x, y, data.num_classes, cfg, device=args.device, progress=False)
        leak = leakage(robust, res["x"], x, y, device=args.device)
        attack_s = time.perf_counter() - t0
        fresh = trained(replace(preset.fresh_det, epochs=epochs), res["x"], res["y"], args.seed)
        row = {"n": len(x), "eps": eps, "epochs": epochs, "sources": k, "attack_steps": args.attack_steps,
               "attack_success": res["stats"]["attack_success"], **leak,
               "d_det_test_accuracy": accuracy(fresh, data.test_x, data.test_y, device=args.device),
               "attack_seconds": attack_s, "seconds": time.perf_counter() - t0, "device": args.device}
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
