"""Ilyas et al. 2019, appendix Tables 9 and 10: D_rand and D_det made by attacking a *robust* model.

A small perturbation that fools a robust model cannot plant the target class's
non-robust features the way it does against a standard model (the robust
model does not use them), so it must change what a person sees, a little.
The images keep their original class's features under a shifted label: a
fresh model trained on them learns little about the original labels, and on
D_det it learns the shift y -> y+1 instead. Everything else is the paper
experiment's: the same images (the same prefix of one shuffle of D), eps,
steps and fresh-model recipe; the standard-source datasets are the paper
experiment's own (at quick, D_det's first 20,000 images of both sources, for
the time budget).

Premise (what Tables 9-10 contrast against): the standard-source D_det
reproduces Table 1, at least Table 1's margin on y (the rule's ``d_det``) and more
on y than on y+1 (the paper: 43.7 % and 16.2 %); for D_rand, the
standard-source D_rand reaches Table 1's margin (the rule's ``d_rand``).
Departure: the robust model is the quick or full preset's own (FGSM-RS on a
small CNN), not the paper's ResNet-50.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.reference import APPENDIX, TABLE1
from ..core.values import difference
from ..evaluation.evaluate import accuracy
from ..frame import margins
from ..frame.base import Bound, Claim, Experiment, Verdict
from ..frame.datasets import dataset_name
from ..frame.lab import Lab
from ..present.figures import error_bars, grouped_bars, intervals
from ..present.htmlparts import Markup, grids, img, join, para, pct, table


@dataclass
class Settings:
    # D_det from the first images of the paper's shuffle (None: the paper experiment's own, all of them); both
    # sources the same images. At every preset all of them: from 20,000 the standard-source D_det reached 21.6 %
    # (seed 0), below Table 1's premise, and 32.4 % from 60,000 (a budget cut is not a premise).
    det_images: int | None = None


NAMES = ["d_rand", "d_det", "d_rand_robust_source", "d_det_robust_source"]


def run(settings: Settings, lab: Lab) -> dict:
    data = lab.data
    shifted_y = (data.test_y + 1) % data.num_classes
    out = {"datasets": {}, "accuracy": {}, "shifted_accuracy": {}}
    for source in ("std", "adv"):
        for kind in ("rand", "det"):
            name = dataset_name(kind, source)
            limit = settings.det_images if kind == "det" else None
            if source == "std":  # the paper experiment's own dataset (its first ``limit`` images)
                art = lab.dataset(kind)
                fresh = lab.fresh_prefix(kind, limit) if limit else lab.fresh(kind, art, name)
            else:
                art = lab.dataset(kind, source=source, limit=limit)
                fresh = lab.fresh(kind, art, name)
            model = lab.model(fresh)
            out["datasets"][name] = {**art.summary, **lab.leakage(art), "artifact": art.ref,
                                     "trained_on": min(limit or art.summary["size"], art.summary["size"]),
                                     "samples": lab.exhibit(art.file("samples.png"))}
            out["accuracy"][name] = accuracy(model, data.test_x, data.test_y)
            if kind == "det":  # Table 10: the same model scored against the shifted labels y + 1
                out["shifted_accuracy"][name] = accuracy(model, data.test_x, shifted_y)
    out["chance"] = 1 / data.num_classes
    return out


WHO = "Ilyas et al. 2019"
DET_ON_Y = margins.ruled("standard-source D_det accuracy on y", ">=", "d_det")  # Table 1's margins (the rule)
DET_Y_OVER_SHIFT = Bound("standard-source D_det: accuracy on y minus on y+1", ">=", 0.0)
RAND_ON_Y = margins.ruled("standard-source D_rand accuracy", ">=", "d_rand")
DET_LOWER = margins.ruled("standard minus robust-source D_det accuracy", ">=", "det_lower")  # Tables 9-10 (the rule)
RAND_LOWER = margins.ruled("standard minus robust-source D_rand accuracy", ">=", "rand_lower")
SHIFT = margins.ruled("robust minus standard-source D_det accuracy on y+1", ">=", "shift")
CLAIMS = (
    Claim("robust_source_d_det_lower", f"{WHO}, app. Table 9",
          "D_det made on the robust model teaches less about the true labels: its model is at least "
          f"{100 * DET_LOWER.margin:g} points below the standard-source D_det model on the original test set.",
          "CIFAR-10: 5.8 % (robust source) vs 43.7 % (standard source)",
          tests=(DET_LOWER,), premises=(DET_ON_Y, DET_Y_OVER_SHIFT)),
    Claim("robust_source_d_rand_lower", f"{WHO}, app. Table 9",
          f"Likewise D_rand: the robust-source D_rand model is at least {100 * RAND_LOWER.margin:g} points below the "
          "standard-source one.",
          "CIFAR-10: 25.2 % vs 63.3 %",
          tests=(RAND_LOWER,), premises=(RAND_ON_Y,)),
    Claim("robust_source_d_det_learns_shift", f"{WHO}, app. Table 10",
          f"Scored against the shifted labels y+1, the robust-source D_det model is at least {100 * SHIFT.margin:g} "
          "points above the standard-source one (it learned the shift, not the classes).",
          "CIFAR-10: 65.5 % vs 16.2 %",
          tests=(SHIFT,), premises=(DET_ON_Y, DET_Y_OVER_SHIFT)),
)


def judge(res: dict, settings: Settings) -> dict[str, Verdict]:
    a, s = res["accuracy"], res["shifted_accuracy"]
    det, rdet, rand, rrand = a["d_det"], a["d_det_robust_source"], a["d_rand"], a["d_rand_robust_source"]
    table1 = {DET_ON_Y.name: det, DET_Y_OVER_SHIFT.name: difference(det, s["d_det"])}
    return {
        "robust_source_d_det_lower": Verdict(
            {DET_LOWER.name: difference(det, rdet), **table1}, f"{rdet:.1%} vs {det:.1%}",
            f"original test labels: robust-source D_det {rdet:.1%}, standard-source {det:.1%} "
            f"(difference {(det - rdet) * 100:.1f} points); the standard-source D_det model on y+1: {s['d_det']:.1%}"),
        "robust_source_d_rand_lower": Verdict(
            {RAND_LOWER.name: difference(rand, rrand), RAND_ON_Y.name: rand}, f"{rrand:.1%} vs {rand:.1%}",
            f"original test labels: robust-source D_rand {rrand:.1%}, standard-source {rand:.1%} "
            f"(difference {(rand - rrand) * 100:.1f} points)"),
        "robust_source_d_det_learns_shift": Verdict(
            {SHIFT.name: difference(s["d_det_robust_source"], s["d_det"]), **table1},
            f"{s['d_det_robust_source']:.1%} vs {s['d_det']:.1%}",
            f"labels y+1: robust-source D_det model {s['d_det_robust_source']:.1%}, standard-source "
            f"{s['d_det']:.1%} (difference {(s['d_det_robust_source'] - s['d_det']) * 100:.1f} points)"),
    }


def section(entry: dict) -> str:
    res = entry["results"]
    a, s = res["accuracy"], res["shifted_accuracy"]
    ours = [100 * a[n] for n in NAMES]
    paper = [100 * v for v in (TABLE1["cifar10"]["d_rand"], TABLE1["cifar10"]["d_det"],
                               APPENDIX["robust_source"]["d_rand"], APPENDIX["robust_source"]["d_det"])]
    groups = ["D_rand\nstd source", "D_det\nstd source", "D_rand\nrobust source", "D_det\nrobust source"]
    table9 = grouped_bars(groups, [("ours", ours, "#4c72b0"), ("paper: CIFAR-10", paper, "#bbbbbb")],
                          ylabel="original test accuracy (%)", title="Table 9: accuracy on the original labels",
                          chance=100 * res["chance"], errors={0: error_bars(ours, intervals([a[n] for n in NAMES]))})
    ours10 = [100 * s["d_det"], 100 * s["d_det_robust_source"]]
    shifted = APPENDIX["d_det_shifted_labels"]
    table10 = grouped_bars(["D_det, std source", "D_det, robust source"],
                           [("ours", ours10, "#4c72b0"),
                            ("paper: CIFAR-10", [100 * shifted["standard_source"], 100 * shifted["robust_source"]],
                             "#bbbbbb")],
                           ylabel="test accuracy on y+1 (%)", title="Table 10: scored against the shifted labels",
                           size=(5, 3.4),
                           errors={0: error_bars(ours10, intervals([s["d_det"], s["d_det_robust_source"]]))})
    rows = [[n, d.get("trained_on", d["size"]), pct(d["attack_success"]), pct(d["robust_agreement_perturbed"]),
             pct(d["robust_agreement_clean"]), f"{100 * d['leakage_gap']:.1f}", pct(a.get(n)),
             pct(s.get(n))] for n, d in res["datasets"].items()]
    return join([Markup('<div class="grid">'), img(table9, "Table 9"), img(table10, "Table 10"), Markup("</div>"),
                 table(["dataset", "images the fresh model trains on", "attack success on its source (%)",
                        "robust model keeps the original label: perturbed (%)", "unperturbed (%)", "gap (points)",
                        "fresh model, original labels (%) [95 % interval]", "fresh model, labels y+1 (%)"], rows),
                 para("For the robust-source datasets the robust model is the attack's own target, so its agreement "
                      "with the original label after the attack measures the attack's success, not leakage. Each "
                      "robust-source dataset is built from the same images as the paper experiment's own, which are "
                      "the standard-source ones."),
                 grids([(n, d.get("samples")) for n, d in res["datasets"].items()])])


EXPERIMENT = Experiment(
    reference={"table1": TABLE1, "appendix": APPENDIX},
    name="robust_source", title=f"{WHO}, appendix Tables 9-10",
    question="If the relabelling attack is made on a robust model, does the relabelled data still teach the true "
             "classes?",
    method="Build D_rand and D_det exactly as the paper experiment does, but attack the robust model instead of the "
           "standard one; train fresh models and test them on the original labels, and the D_det models also on the "
           "shifted labels y+1.",
    settings={"quick": lambda preset: Settings(), "full": lambda preset: Settings(),
              "cifar10": lambda preset: Settings(), "tiny": lambda preset: Settings()},
    run=run, claims=CLAIMS, judge=judge, section=section,
    cost={"quick": 100.0, "full": 634.0},
)
