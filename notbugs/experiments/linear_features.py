"""Goh, "Two Examples of Useful, Non-Robust Features" (Distill discussion).

On a two-class task the simplest features are linear: f(x) = a^T x / ||a||_Sigma
on centred data, Sigma = E[x x^T]. A feature's usefulness is E[y f(x)]; its
robustness is ||a||_Sigma / ||a|| (for a singular direction of the data, its
singular value), and under an L2 adversary of radius eps its usefulness falls
to E[y f(x)] - eps / robustness. Directions of small singular value can be
useful and yet have no robust usefulness at all: useful non-robust features,
in closed form. Two constructions show how: an ensemble of such directions,
and (Goh's "distractor") a robust, useful direction mixed with a non-robust,
useless one, which is useful through the first and non-robust through the
second. The distractor here is the least useful of the directions past the
non-robust ensemble's ranks (Goh's figure mixes CIFAR-10's third direction with
its 675th). Departure: Fashion-MNIST's T-shirt/top vs Shirt instead of
CIFAR-10's truck vs frog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from verdicts import Estimate, Proportion

from ..core.errors import NotbugsError
from ..core.reference import GOH_FEATURES
from ..core.stats import bootstrap_means
from ..core.values import ByNumber
from ..frame.base import Bound, Claim, Experiment, Verdict
from ..frame.lab import Lab
from ..present.figures import png
from ..present.htmlparts import img, join, num, para, pct, table


@dataclass
class Settings:
    pair: tuple[str, str] = ("T-shirt/top", "Shirt")  # the two classes (names or indices)
    eps: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0])
    claim_eps: float = 0.5
    top: int = 10  # the robust directions: ranks 1..top by singular value
    band: tuple[int, int] = (11, 50)  # the non-robust ensemble: ranks band[0]..band[1]
    alphas: int = 201  # mixing weights tried for the contamination, 0 to 1


def directions(x: torch.Tensor, y: torch.Tensor) -> dict:
    """Singular directions of the centred data (descending), their robustness ||a||_Sigma / ||a|| and usefulness
    E[y f(x)], each direction's sign chosen to make its usefulness >= 0. x: (n, d) in pixel space, y in {-1, +1}."""
    x = x.double()
    mean = x.mean(0)
    xc = x - mean
    evals, evecs = torch.linalg.eigh(xc.T @ xc / len(x))
    order = evals.argsort(descending=True)
    sigma = evals[order].clamp_min(0).sqrt()
    a = evecs[:, order].T  # rows: unit directions
    useful = (y.double()[:, None] * (xc @ a.T)).mean(0) / sigma.clamp_min(1e-12)
    sign = torch.where(useful < 0, -1.0, 1.0).double()
    return {"mean": mean, "a": a * sign[:, None], "robustness": sigma, "usefulness": useful.abs()}


def feature_stats(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, mean: torch.Tensor) -> dict:
    """Usefulness and robustness of the linear feature along w (any direction, not only a singular one)."""
    xc = x.double() - mean
    proj = xc @ w
    sigma_norm = proj.pow(2).mean().sqrt()  # ||w||_Sigma
    return {"usefulness": ((y.double() * proj).mean() / sigma_norm).item(),
            "robustness": (sigma_norm / w.norm()).item()}


def accuracy(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, mean: torch.Tensor, eps: float = 0.0) -> float:
    """Accuracy of sign(w^T (x - mean)) under an L2 adversary of radius eps (exact for a linear classifier)."""
    score = y.double() * ((x.double() - mean) @ w)
    return Proportion.of(int((score > eps * w.norm()).sum()), len(y))


def useful_share(w: torch.Tensor, w_ref: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 mean: torch.Tensor) -> Estimate:
    """Usefulness of the feature along w over that of the one along w_ref, on images the directions were not fitted
    on, with its 95 % bootstrap interval over those images (usefulness is a mean over a ratio of root mean
    squares: both resampled together)."""
    xc = x.double() - mean
    p, q = xc @ w, xc @ w_ref
    yd = y.double()
    columns = torch.stack([yd * p, p * p, yd * q, q * q], 1).numpy()

    def share(m):
        return (m[:, 0] / np.sqrt(m[:, 1])) / (m[:, 2] / np.sqrt(m[:, 3]))

    return Estimate(share(columns.mean(0)[None])[0], bootstrap_means(columns, share))


def ensemble(d: dict, lo: int, hi: int) -> torch.Tensor:
    """The usefulness-weighted sum of the features of ranks lo..hi (1-based): sum_i u_i a_i / ||a_i||_Sigma."""
    sl = slice(lo - 1, hi)
    return (d["usefulness"][sl, None] * d["a"][sl] / d["robustness"][sl, None]).sum(0)


def _class_index(name: str, classes: list[str]) -> int:
    if name in classes:
        return classes.index(name)
    if name.isdigit() and int(name) < len(classes):
        return int(name)
    raise NotbugsError(f"class '{name}' is not one of this dataset's: {', '.join(classes)}")


def two_class(data, pair) -> tuple:
    ia, ib = (_class_index(str(p), data.classes) for p in pair)
    if ia == ib:
        raise NotbugsError(f"the two classes must differ, got {pair[0]} twice")

    def split(x, y):
        keep = (y == ia) | (y == ib)
        return x[keep].flatten(1), torch.where(y[keep] == ib, 1.0, -1.0)

    return (*split(data.train_x, data.train_y), *split(data.test_x, data.test_y), (data.classes[ia], data.classes[ib]))


def run(s: Settings, lab: Lab) -> dict:
    xtr, ytr, xte, yte, names = two_class(lab.data, s.pair)
    d = directions(xtr, ytr)
    n_dir = len(d["robustness"])
    groups = {f"top {s.top}": (1, s.top), f"ranks {s.band[0]}-{s.band[1]}": s.band,
              f"ranks {s.band[1] + 1}-{n_dir}": (s.band[1] + 1, n_dir)}
    ensembles = {}
    for label, (lo, hi) in groups.items():
        w = ensemble(d, lo, hi)
        ensembles[label] = {"ranks": [lo, hi], **feature_stats(w, xtr, ytr, d["mean"]),
                            "clean_accuracy": accuracy(w, xte, yte, d["mean"]),
                            "robust_accuracy": ByNumber({e: accuracy(w, xte, yte, d["mean"], e) for e in s.eps})}
    # contamination (Goh's "distractor" figure): the most useful robust direction mixed with a non-robust, useless
    # one, the least useful of the directions past the non-robust ensemble's band that the data varies along
    best_robust = int(d["usefulness"][:s.top].argmax())
    w_r = d["a"][best_robust]
    tail = torch.arange(s.band[1], n_dir)
    tail = tail[d["robustness"][tail] > 1e-6 * d["robustness"][0]]
    distractor = int(tail[d["usefulness"][tail].argmin()])
    w_nr = d["a"][distractor]
    robust_ref = feature_stats(w_r, xtr, ytr, d["mean"])
    curve = [{"alpha": float(alpha), **feature_stats(alpha * w_r + (1 - alpha) * w_nr, xtr, ytr, d["mean"])}
             for alpha in np.linspace(0, 1, s.alphas)]
    nonrobust = [c for c in curve if c["robustness"] <= robust_ref["robustness"] / 10]
    best = max(nonrobust, key=lambda c: c["usefulness"]) if nonrobust else None
    held_out = (useful_share(best["alpha"] * w_r + (1 - best["alpha"]) * w_nr, w_r, xte, yte, d["mean"])
                if best else Estimate(0.0))
    return {"classes": list(names), "train_images": len(xtr), "test_images": len(xte),
            "robustness": d["robustness"].tolist(), "usefulness": d["usefulness"].tolist(),
            "ensembles": ensembles, "claim_eps": s.claim_eps,
            "contamination": {"robust_direction_rank": best_robust + 1, "distractor_rank": distractor + 1,
                              "robust": robust_ref, "distractor": feature_stats(w_nr, xtr, ytr, d["mean"]),
                              "curve": curve, "alpha": best["alpha"] if best else None,
                              "train_useful_share": best["usefulness"] / robust_ref["usefulness"] if best else 0.0,
                              "useful_share": held_out}}


WHO = "Goh (Distill)"
BAND_CLEAN = Bound("clean accuracy of the non-robust ensemble", ">=", 0.58)
BAND_ROBUST = Bound("its accuracy at the claim's L2 eps", "<=", 0.25)
TOP_CLEAN = Bound("clean accuracy of the top directions", ">=", 0.75)
TOP_ROBUST = Bound("their accuracy at the claim's L2 eps", ">=", 0.60)
MIXED = Bound("usefulness of the best mixture with under a tenth of the robust direction's robustness, over the "
              "robust direction's usefulness (test images)", ">=", 0.5, percent=False)
CLAIMS = (
    Claim("useful_nonrobust_features_exist", f"{WHO}, Two Examples of Useful, Non-Robust Features",
          "Useful non-robust features exist: the usefulness-weighted ensemble of the singular directions ranked "
          "11-50 reaches at least 58 % clean accuracy on the two-class test set, and at most 25 % at L2 eps 0.5.",
          "CIFAR-10 truck vs frog: non-robust directions useful, with no robust usefulness (a plot, no number)",
          tests=(BAND_CLEAN, BAND_ROBUST)),
    Claim("top_directions_robustly_useful", f"{WHO}, Two Examples of Useful, Non-Robust Features",
          "The top-10 directions are robustly useful: at least 75 % clean and at least 60 % at L2 eps 0.5.",
          "the most robust directions keep their usefulness under attack (a plot)", tests=(TOP_CLEAN, TOP_ROBUST)),
    Claim("contamination", f"{WHO}, Two Examples of Useful, Non-Robust Features",
          "Contamination: mixing a robust, useful feature into a non-robust, useless one gives a feature that is "
          "useful (over half the robust feature's usefulness) while staying non-robust (robustness under a tenth "
          "of its).", "shown as a construction (no number)", tests=(MIXED,)),
)


def judge(res: dict, s: Settings) -> dict[str, Verdict]:
    e = res["claim_eps"]
    ens = res["ensembles"]
    band = ens[f"ranks {s.band[0]}-{s.band[1]}"]
    top = ens[f"top {s.top}"]
    c = res["contamination"]
    return {
        "useful_nonrobust_features_exist": Verdict(
            {BAND_CLEAN.name: band["clean_accuracy"], BAND_ROBUST.name: band["robust_accuracy"][e]},
            f"{band['clean_accuracy']:.1%} / {band['robust_accuracy'][e]:.1%}",
            f"ranks {s.band[0]}-{s.band[1]}: clean {band['clean_accuracy']:.1%}, at L2 eps {e:g} "
            f"{band['robust_accuracy'][e]:.1%} ({res['classes'][0]} vs {res['classes'][1]})",
            statement=f"Useful non-robust features exist: the usefulness-weighted ensemble of the singular directions "
                      f"ranked {s.band[0]}-{s.band[1]} reaches at least 58 % clean accuracy on the two-class test "
                      f"set, and at most 25 % at L2 eps {e:g}."),
        "top_directions_robustly_useful": Verdict(
            {TOP_CLEAN.name: top["clean_accuracy"], TOP_ROBUST.name: top["robust_accuracy"][e]},
            f"{top['clean_accuracy']:.1%} / {top['robust_accuracy'][e]:.1%}",
            f"top {s.top}: clean {top['clean_accuracy']:.1%}, at L2 eps {e:g} {top['robust_accuracy'][e]:.1%}",
            statement=f"The top-{s.top} directions are robustly useful: at least 75 % clean and at least 60 % at L2 "
                      f"eps {e:g}."),
        "contamination": Verdict(
            {MIXED.name: c["useful_share"]},
            f"alpha = {c['alpha']:.3f}" if c["alpha"] is not None else "no such alpha",
            (f"the most useful mixture with under a tenth of the robust direction's robustness (alpha "
             f"{c['alpha']:.3f}) is {c['useful_share']:.0%} as useful as it on the test images "
             f"({c['train_useful_share']:.0%} on the training images that fitted the directions)"
             if c["alpha"] is not None
             else "no mixture has under a tenth of the robust direction's robustness")
            + f" (the robust direction: rank {c['robust_direction_rank']}, usefulness {c['robust']['usefulness']:.3f}, "
              f"robustness {c['robust']['robustness']:.3f}; the distractor: rank {c['distractor_rank']}, usefulness "
              f"{c['distractor']['usefulness']:.3f}, robustness {c['distractor']['robustness']:.3f})"),
    }


def _scatter(res: dict) -> bytes:
    import matplotlib.pyplot as plt

    def floats(values):  # an undefined number (null in results) is not drawn
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    u, r = floats(res["usefulness"]), floats(res["robustness"])
    rank = np.arange(1, len(u) + 1)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ok = (u > 0) & (r > 0)
    for label, sel, colour in (("top 10", rank <= 10, "#dd8452"), ("ranks 11-50", (rank > 10) & (rank <= 50),
                                                                   "#4c72b0"),
                               ("ranks > 50", rank > 50, "#bbbbbb")):
        ax.scatter(np.log(r[ok & sel]), np.log(u[ok & sel]), s=8, color=colour, label=label)
    for name, ens in res["ensembles"].items():
        if ens["robustness"] is not None and ens["usefulness"] is not None and ens["usefulness"] > 0:
            ax.scatter(np.log(ens["robustness"]), np.log(ens["usefulness"]), marker="*", s=160, edgecolor="k",
                       label=f"ensemble {name}")
    curve = [c for c in res["contamination"]["curve"] if c["robustness"] and c["usefulness"] is not None]
    ax.plot([np.log(c["robustness"]) for c in curve], [np.log(max(c["usefulness"], 1e-6)) for c in curve], "k--",
            linewidth=1, label="contamination (alpha 0 -> 1)")
    ax.set_xlabel("log robustness  (||a||_Sigma / ||a||)")
    ax.set_ylabel("log usefulness  E[y f(x)]")
    ax.set_title(f"{res['classes'][0]} vs {res['classes'][1]}: one point per singular direction", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return png(fig)


def section(entry: dict) -> str:
    res = entry["results"]
    eps = list(next(iter(res["ensembles"].values()))["robust_accuracy"])
    rows = [[name, num(ens["usefulness"]), num(ens["robustness"]), pct(ens["clean_accuracy"])]
            + [pct(ens["robust_accuracy"][e]) for e in eps]
            for name, ens in res["ensembles"].items()]
    return join([img(_scatter(res), "usefulness against robustness"),
                 table(["usefulness-weighted ensemble", "usefulness", "robustness", "clean (%) [95 % interval]"]
                       + [f"L2 eps {e:g} (%)" for e in eps], rows),
                 para(f"{res['train_images']} training and {res['test_images']} test images; accuracies of "
                      "sign(w^T(x - mean)) are exact under the L2 adversary (a linear classifier's margin over "
                      "||w||).")])


PAIRS = {"fashion-mnist": ("T-shirt/top", "Shirt"), "cifar10": ("truck", "frog"), "mnist": ("3", "8"),
         "digits": ("3", "8")}


def _settings(preset) -> Settings:
    return Settings(pair=PAIRS.get(preset.dataset, ("0", "1")))


def _tiny(preset) -> Settings:
    return Settings(pair=PAIRS.get(preset.dataset, ("0", "1")), band=(6, 20), top=5)


EXPERIMENT = Experiment(
    reference={"goh_features": GOH_FEATURES},
    name="linear_features", title=f"{WHO}, 'Two Examples of Useful, Non-Robust Features'",
    question="Are there features, in closed form, that are useful for classification and yet not robust?",
    method="On two classes, take the singular directions of the centred data as features; measure each one's "
           "usefulness and robustness in closed form, and the clean and exactly-attacked accuracy of "
           "usefulness-weighted ensembles of the top directions and of less robust ones.",
    settings={"quick": _settings, "full": _settings, "cifar10": _settings, "tiny": _tiny},
    run=run, claims=CLAIMS, judge=judge, section=section,
    unsupported=lambda data: None if data.num_classes >= 2 else "needs at least two classes",
    cost={"quick": 10.0, "full": 10.0},
)
