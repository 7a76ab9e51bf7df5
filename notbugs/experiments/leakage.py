"""Goh, "A Discussion of 'Adversarial Examples Are Not Bugs, They Are Features': Robust Feature Leakage".

Could D_rand and D_det teach the true classes through *robust* features that
the small perturbation changed after all? Goh's probe: take features that are
provably robust -- the ten weight vectors of a robust linear classifier, whose
certified L2 radius is exact -- train a linear classifier on only those ten
numbers with the relabelled datasets' labels, and test it on clean images.
What it gets above chance must come from robust features. He found leakage in
D_rand (23.5 % of an 88 % ceiling on CIFAR-10) and none in D_det (6.8 %).
The paper experiment's own leakage check (the robust CNN's agreement gap) is
a different measure; both are shown for the same datasets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from verdicts import Estimate, Proportion

from ..core.inputs import device_of
from ..core.precision import exact
from ..core.reference import GOH_LEAKAGE
from ..frame.base import Bound, Claim, Experiment, Verdict
from ..frame.lab import Lab
from ..methods.train import TrainConfig
from ..present.htmlparts import join, para, pct, table


@dataclass
class Settings:
    eps: float = 1.0  # L2 radius of the robust linear model's adversarial training
    epochs: int = 5
    steps: int = 3


def linear_map(model, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, b) with model(x) = W x.flatten() + b exactly, for a model that is affine in its input: read in fp32 from
    the model's fp32 weights whatever the run's precision (in bf16 the map would be rounded to 3 digits, and
    certified distances are computed from it)."""
    dev = device_of(model)
    with torch.no_grad(), exact(str(dev)):
        b = model(torch.zeros(1, *shape, device=dev))[0]
        eye = torch.eye(int(np.prod(shape)), device=dev).view(-1, *shape)
        w = (model(eye) - b).T
    return w.cpu(), b.cpu()


def certified_accuracy(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float) -> float:
    """Share of examples correct with every other class's logit at least eps away in L2: exact for a linear model."""
    z = x.flatten(1) @ w.T + b
    zy = z.gather(1, y[:, None])
    dist = (zy - z) / (w[y][:, None, :] - w[None]).norm(dim=2).clamp_min(1e-12)  # distance to each boundary
    dist.scatter_(1, y[:, None], float("inf"))
    return Proportion.of(int(((z.argmax(1) == y) & (dist.min(1).values >= eps)).sum()), len(x))


def probe(train_z: np.ndarray, train_y: np.ndarray, test_z: np.ndarray, test_y: np.ndarray) -> float:
    """A linear classifier on the ten robust features, tested on clean images."""
    scaler = StandardScaler().fit(train_z)
    clf = LogisticRegression(max_iter=2000).fit(scaler.transform(train_z), train_y)
    return Proportion.of(int((clf.predict(scaler.transform(test_z)) == test_y).sum()), len(test_y))


def run(s: Settings, lab: Lab) -> dict:
    data = lab.data
    cfg = TrainConfig(epochs=s.epochs, lr=2e-3, crop_padding=0, flip=False, adv="l2", eps=s.eps, steps=s.steps)
    model = lab.model(lab.train("train robust linear", cfg, arch="linear"))
    w, b = linear_map(model, data.image_shape)

    def feats(x: torch.Tensor) -> np.ndarray:
        return (x.flatten(1) @ w.T + b).numpy()

    test_z, test_y = feats(data.test_x), data.test_y.numpy()
    out = {"robust_linear": {"clean_accuracy": certified_accuracy(w, b, data.test_x, data.test_y, 0.0),
                             "certified_accuracy": certified_accuracy(w, b, data.test_x, data.test_y, s.eps),
                             "eps": s.eps},
           "probe": {"d": probe(feats(data.train_x), data.train_y.numpy(), test_z, test_y)},
           "paper_leakage_gap": {}, "chance": 1 / data.num_classes}
    for kind, name in (("rand", "d_rand"), ("det", "d_det")):
        art = lab.dataset(kind)
        built = lab.constructed(art, name)
        out["probe"][name] = probe(feats(built.train_x), built.train_y.numpy(), test_z, test_y)
        out["paper_leakage_gap"][name] = lab.leakage(art)["leakage_gap"]
    return out


WHO = "Goh (Distill)"
DET = Bound("D_det probe minus chance", "<=", 0.05)
RAND = Bound("D_rand probe minus chance", ">=", 0.10)
# the probe can only show leakage if it can read the classes at all: trained on D it must be well above chance
# (Goh: an 88 % ceiling, chance 10 %); declared before any run with it
CEILING = Bound("probe ceiling (trained on D) minus chance", ">=", 0.30)
CLAIMS = (
    Claim("no_leakage_in_d_det", f"{WHO}, Robust Feature Leakage",
          "A linear probe on provably robust features, trained on D_det, is at most 5 points above chance on the "
          "clean test set: D_det teaches through non-robust features only.",
          "CIFAR-10: 6.81 % (chance 10 %)", tests=(DET,), premises=(CEILING,)),
    Claim("leakage_in_d_rand", f"{WHO}, Robust Feature Leakage",
          "The same probe trained on D_rand is at least 10 points above chance: D_rand leaks robust features.",
          "CIFAR-10: 23.5 % (of an 88 % ceiling; chance 10 %)", tests=(RAND,), premises=(CEILING,)),
)


def _above_chance(p, chance: float) -> Estimate:
    return Estimate(p - chance, tuple(c - chance for c in p.ci) if getattr(p, "ci", None) else None)


def judge(res: dict, s: Settings) -> dict[str, Verdict]:
    p, chance = res["probe"], res["chance"]
    gaps = (f"the paper experiment's leakage gaps: D_rand {res['paper_leakage_gap']['d_rand'] * 100:.1f}, D_det "
            f"{res['paper_leakage_gap']['d_det'] * 100:.1f} points")
    return {
        "no_leakage_in_d_det": Verdict(
            {DET.name: _above_chance(p["d_det"], chance), CEILING.name: _above_chance(p["d"], chance)},
            f"{p['d_det']:.1%}",
            f"probe trained on D_det: {p['d_det']:.1%} on the clean test set (chance {chance:.0%}; ceiling, trained on "
            f"D: {p['d']:.1%})"),
        "leakage_in_d_rand": Verdict(
            {RAND.name: _above_chance(p["d_rand"], chance), CEILING.name: _above_chance(p["d"], chance)},
            f"{p['d_rand']:.1%} (chance {chance:.0%})",
            f"probe trained on D_rand {p['d_rand']:.1%}, {(p['d_rand'] - chance) * 100:+.1f} points from chance "
            f"(the D_det probe: {p['d_det']:.1%}); {gaps}"),
    }


def section(entry: dict) -> str:
    res = entry["results"]
    rl, p = res["robust_linear"], res["probe"]
    ref = GOH_LEAKAGE
    rows = [["D (ceiling)", pct(p["d"]), "–", "–"],
            ["D_rand", pct(p["d_rand"]), f"{100 * res['paper_leakage_gap']['d_rand']:.1f}",
             f"{pct(ref['probe']['d_rand'])} (of {pct(ref['ceiling']['d_rand'])})"],
            ["D_det", pct(p["d_det"]), f"{100 * res['paper_leakage_gap']['d_det']:.1f}",
             f"{pct(ref['probe']['d_det'])} (of {pct(ref['ceiling']['d_det'])})"]]
    agree = ("The two measures agree" if (p["d_rand"] > p["d_det"]) ==
             (res["paper_leakage_gap"]["d_rand"] > res["paper_leakage_gap"]["d_det"]) else "The two measures disagree")
    return join([para(f"Robust linear model (L2 adversarial training at eps {rl['eps']:g}): clean "
                      f"{pct(rl['clean_accuracy'])} %, certified at L2 {rl['eps']:g}: "
                      f"{pct(rl['certified_accuracy'])} % (95 % intervals; exact for a linear model: the distance "
                      "to each decision boundary)."),
                 table(["probe trained on", "probe accuracy on clean test images (%) [95 % interval]",
                        "paper experiment's leakage gap (points)", "Goh, CIFAR-10 (%)"], rows),
                 para(f"{agree} on which of D_rand and D_det leaks more: the probe measures what a linear read-out "
                      "of robust features learns from the labels; the gap measures how often the perturbation "
                      "flipped the robust CNN's own prediction.")])


EXPERIMENT = Experiment(
    reference={"goh_leakage": GOH_LEAKAGE},
    name="leakage", title=f"{WHO}, 'Robust Feature Leakage'",
    question="Do D_rand and D_det teach the true classes through robust features that leaked into them?",
    method="Train a robust linear classifier; its ten logits are provably robust features. Train a linear probe on "
           "only those ten numbers with the labels of D_rand, of D_det and of D, and test it on clean test images.",
    # cifar10: Goh's robust linear classifier is certified at L2 radius 0.25 on CIFAR-10 (the response's text)
    settings={p: (lambda preset: Settings()) for p in ("quick", "full")}
    | {"cifar10": lambda preset: Settings(eps=0.25), "tiny": lambda preset: Settings(epochs=2, steps=2)},
    run=run, claims=CLAIMS, judge=judge, section=section,
    cost={"quick": 30.0, "full": 35.0},
)
