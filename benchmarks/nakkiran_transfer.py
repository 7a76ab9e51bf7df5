"""Where does plain targeted PGD transfer between independently trained models here? (Nakkiran's premise.)

Nakkiran's non-transferable attack is a contrast: plain targeted PGD on CIFAR-10
transfers to a held-out model 82.5 % of the time, the non-transferable one 1.7 %.
The claim is testable only where plain targeted PGD transfers. This grid tries
the levers on a preset's own models (read from, or built into, its store): the
L2 eps, the number of steps (each of 2.5 eps / steps), and the source (the
standard model alone, or the mean logits of it and the non-transferable
attack's ensemble members). One JSON line per setting: success on the source,
targeted transfer to the held-out model.

    python benchmarks/nakkiran_transfer.py --preset quick --cache runs/quick/cache
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from notbugs.attacks import pgd
from notbugs.data import subset
from notbugs.evaluation.evaluate import agreement, predict
from notbugs.experiments.nakkiran import EXPERIMENT
from notbugs.frame.lab import Lab
from notbugs.running.runner import make_preset
from notbugs.store.pipeline import Store


class Mean(nn.Module):
    """The mean logits of several models: an attack on it must fool them all."""

    def __init__(self, models):
        super().__init__()
        self.models = nn.ModuleList(models)

    def forward(self, x):
        return torch.stack([m(x) for m in self.models]).mean(0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="quick")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", required=True)
    p.add_argument("--eps", default="2,3,4,5")
    p.add_argument("--steps", default="10,20,50")
    p.add_argument("--images", type=int, default=500)
    p.add_argument("--members", type=int, default=None, help="default: the preset's nakkiran setting")
    p.add_argument("--member-images", type=int, default=None, help="0: the standard model's training images")
    p.add_argument("--member-epochs", type=int, default=None, help="0: the standard model's epochs")
    args = p.parse_args()
    preset = make_preset(args.preset, seed=args.seed)
    lab = Lab(preset, Store(args.cache, device=preset.device))
    s = EXPERIMENT.settings[args.preset](preset)
    k = s.members if args.members is None else args.members
    images = s.member_images if args.member_images is None else args.member_images or None
    epochs = s.member_epochs if args.member_epochs is None else args.member_epochs or None
    ens = [lab.model(a) for a in lab.ensemble(k + 1, limit=images, epochs=epochs)]
    source, members, held_out = lab.model(lab.std()), ens[:-1], ens[-1]
    data = lab.data
    x, y = subset(data.test_x, data.test_y, args.images, args.seed)
    keep = predict(source, x) == y
    x, y = x[keep], y[keep]
    t = (y + 1) % data.num_classes
    for name, attacked in (("standard model", source), ("standard model + ensemble", Mean([source, *members]))):
        for eps in (float(e) for e in args.eps.split(",")):
            for steps in (int(k) for k in args.steps.split(",")):
                start = time.perf_counter()
                x_adv = pgd(attacked, x, t, norm="l2", eps=eps, steps=steps, targeted=True)
                print(json.dumps({"source": name, "members": k, "member_images": images,
                                  "member_epochs": epochs, "eps": eps, "steps": steps, "images": len(x),
                                  "success": round(float(agreement(source, x_adv, t)), 4),
                                  "transfer": round(float(agreement(held_out, x_adv, t)), 4),
                                  "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
