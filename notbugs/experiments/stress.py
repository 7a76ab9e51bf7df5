"""Ilyas et al. 2019, appendix D.2: is the D_R model's robustness an artefact of a weak attack?

The paper attacked its D_R model with up to 2500 PGD steps and with CW-L2 and
saw its robust accuracy hold. Here the adv, D_R and D_NR models of the paper
experiment face PGD of more and more steps, then PGD on the CW margin loss
with random restarts, then the four attacks of AutoAttack's standard version
(Croce & Hein 2020: APGD on the cross-entropy, APGD-T on the targeted DLR loss
against each of the 9 most likely other classes, FAB-T, and the black-box
Square attack, which no gradient masking can fool), all at the main eval eps on one subset of test images.
Every PGD run takes the same step, PGD-20's 2.5 eps / 20, so a run of more
steps goes further (with the default step of 2.5 eps / steps, 1000 steps
would walk the same path as 20 and be no stronger). The curve is the
*cumulative* worst case: an example counts as robust at a point only if no
attack up to that point broke it, so it can only fall, and each stronger
attack runs only on the examples still standing (which is what makes 1000
steps affordable on a CPU).

Departures from the paper: up to 1000 PGD steps (the paper: 2500) and the CW
margin loss optimised by PGD instead of the CW-L2 optimiser (cost); the APGD
attacks are added so that "the strongest attack" is the strongest the lab has (what ``eval --autoattack``
runs).
Premise: D_R's inversion converged (the paper experiment's premise).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from verdicts import Proportion

from ..attacks import margin, pgd
from ..core.inputs import device_of
from ..core.reference import STRESS
from ..core.values import difference
from ..data import subset
from ..evaluation.autoattack import STANDARD, autoattack
from ..evaluation.evaluate import robust_mask
from ..frame.base import Bound, Claim, Experiment, Verdict, converged
from ..frame.lab import Lab
from ..present.figures import error_bars, intervals, line_plot
from ..present.htmlparts import img, join, pct, table


@dataclass
class Settings:
    models: list[str] = field(default_factory=lambda: ["adv", "d_r", "d_nr"])
    steps: list[int] = field(default_factory=lambda: [20, 100, 1000])
    step_factor: float = 2.5 / 20  # every PGD run's step, in units of eps: PGD-20's default
    images: int = 200  # test images, the same for every attack
    restarts: int = 2  # random-start runs of the CW-margin attack, after the CE runs
    restart_steps: int = 100
    autoattack: tuple[str, ...] = STANDARD  # AutoAttack's four attacks (Croce & Hein 2020)...
    autoattack_steps: int = 100  # ...with its 100 iterations each...
    square_queries: int = 5000  # ...and Square's 5000 queries
    batch_size: int = 200


LABELS = {"apgd-ce": "APGD-CE", "apgd-t": "APGD-T (targeted DLR)", "fab-t": "FAB-T", "square": "Square"}


def _attack_rest(model, x, y, alive: torch.Tensor, attack, batch_size: int) -> torch.Tensor:
    """``alive`` after ``attack`` runs on the examples still robust (each batch of them)."""
    idx = alive.nonzero().flatten()
    out = alive.clone()
    for i in range(0, len(idx), batch_size):
        b = idx[i:i + batch_size]
        out[b] = robust_mask(model, x[b], y[b], [attack(x[b], y[b])])
    return out


def curve(lab: Lab, inputs: dict, *, settings: dict, eps: float, seed: int) -> dict:
    """One model's cumulative worst case under every attack in turn, on the same test images."""
    s = Settings(**{**settings, "autoattack": tuple(settings["autoattack"])})
    model, data = lab.model(inputs["model"]), inputs["data"]
    dev = device_of(model)
    x, y = subset(data.test_x, data.test_y, s.images, seed)
    x, y = x.to(dev), y.to(dev)
    gen = torch.Generator().manual_seed(seed)
    n, step = len(x), s.step_factor * eps
    alive = robust_mask(model, x, y, [])  # clean accuracy first: a misclassified image is not robust
    points = [{"attack": "clean", "steps": 0, "robust_accuracy": Proportion.of(int(alive.sum()), n)}]
    for k in s.steps:
        alive = _attack_rest(model, x, y, alive, lambda xb, yb, k=k: pgd(
            model, xb, yb, norm="l2", eps=eps, steps=k, step_size=step, best=True, select=margin), s.batch_size)
        points.append({"attack": f"PGD-{k} (CE)", "steps": k, "robust_accuracy": Proportion.of(int(alive.sum()), n)})
    alive = _attack_rest(model, x, y, alive, lambda xb, yb: pgd(
        model, xb, yb, norm="l2", eps=eps, steps=s.restart_steps, step_size=step, loss_fn=margin, best=True,
        select=margin), s.batch_size)
    points.append({"attack": f"CW margin, PGD-{s.restart_steps}", "steps": s.restart_steps,
                   "robust_accuracy": Proportion.of(int(alive.sum()), n)})
    for r in range(s.restarts):
        alive = _attack_rest(model, x, y, alive, lambda xb, yb: pgd(
            model, xb, yb, norm="l2", eps=eps, steps=s.restart_steps, step_size=step, loss_fn=margin,
            random_start=True, best=True, select=margin, generator=gen), s.batch_size)
        points.append({"attack": f"CW margin, random start {r + 1}", "steps": s.restart_steps,
                       "robust_accuracy": Proportion.of(int(alive.sum()), n)})
    if s.autoattack:
        after = autoattack(model, x, y, norm="l2", eps=eps, seed=seed, which=s.autoattack, alive=alive,
                           batch_size=s.batch_size, steps=s.autoattack_steps, queries=s.square_queries)["after"][1:]
        points += [{"attack": LABELS.get(a["attack"], a["attack"]), "steps": s.autoattack_steps,
                    "robust_accuracy": a["robust_accuracy"]} for a in after]
    return {"points": points}


def run(s: Settings, lab: Lab) -> dict:
    eps = lab.preset.main_eval_eps
    curves = {name: lab.measure(f"stress {name}", curve, params={"settings": asdict(s), "eps": eps, "seed": lab.seed},
                                inputs={"model": lab.paper_model(name), "data": lab.data}).summary["points"]
              for name in s.models}
    d_r = lab.dataset("robust").summary
    return {"eps": eps, "images": min(s.images, len(lab.data.test_x)), "curves": curves, "step_factor": s.step_factor,
            "d_r_feature_distance": d_r["relative_feature_distance_mean"]}


WHO = "Ilyas et al. 2019"
DROP = Bound("D_R robust accuracy lost to the stronger attacks", "<=", 0.05)
# what the stress test presupposes: D_R's model is robust to begin with (a model with nothing to lose loses
# nothing); declared before any run with it
ROBUST_FIRST = Bound("D_R minus D_NR robust accuracy under the first PGD", ">=", 0.10)
CLAIMS = (
    Claim("d_r_robustness_not_an_artefact", f"{WHO}, app. D.2",
          "The D_R model's robust accuracy under the strongest attacks the lab has (PGD of many more steps, CW-margin "
          "PGD with random restarts, then AutoAttack: APGD-CE, APGD-T, FAB-T and Square; worst case per example) is "
          "at most 5 points below its 20-step PGD number.",
          "CIFAR-10: D_R robustness held up to 2500 PGD steps and under CW-L2",
          tests=(DROP,), premises=(converged("D_R"), ROBUST_FIRST)),
)


def judge(res: dict, s: Settings) -> dict[str, Verdict]:
    pts = res["curves"]["d_r"]
    first = next(pt for pt in pts if pt["steps"] == min(s.steps) and pt["attack"].startswith("PGD"))
    nr = res["curves"].get("d_nr")
    nr_first = next((pt for pt in nr if pt["steps"] == min(s.steps) and pt["attack"].startswith("PGD")), None) \
        if nr else None
    last = pts[-1]
    n = res["images"]
    drop = Proportion.of(round((first["robust_accuracy"] - last["robust_accuracy"]) * n), n)
    names = [pt["attack"] for pt in pts[2:]]
    return {"d_r_robustness_not_an_artefact": Verdict(
        {DROP.name: drop, "mean relative feature distance of D_R": res.get("d_r_feature_distance"),
         ROBUST_FIRST.name: difference(Proportion.of(round(first["robust_accuracy"] * n), n),
                                       Proportion.of(round(nr_first["robust_accuracy"] * n), n))
         if nr_first else None},
        f"{first['robust_accuracy']:.1%} -> {last['robust_accuracy']:.1%}",
        f"D_R model at eps {res['eps']:g} on {n} test images: {first['attack']} {first['robust_accuracy']:.1%}, "
        f"worst case of all attacks {last['robust_accuracy']:.1%} (drop {drop * 100:.1f} points)",
        statement=f"The D_R model's robust accuracy at L2 eps {res['eps']:g} under {', '.join(names)} (worst case "
                  f"per example, every PGD step {s.step_factor:g} eps) is at most 5 points below its "
                  f"PGD-{min(s.steps)} "
                  "number.")}


def section(entry: dict) -> str:
    res = entry["results"]
    curves = res["curves"]
    pgd_points = {name: [pt for pt in pts if pt["attack"].startswith("PGD")] for name, pts in curves.items()}
    lines = {name: ([pt["steps"] for pt in pts], [100 * pt["robust_accuracy"] for pt in pts])
             for name, pts in pgd_points.items()}
    errors = {name: error_bars(lines[name][1], intervals([pt["robust_accuracy"] for pt in pts]))
              for name, pts in pgd_points.items()}
    fig = line_plot(lines, xlabel="PGD steps (cumulative worst case)", ylabel="robust accuracy (%)",
                    title=f"L2 eps {res['eps']:g}, {res['images']} test images", logx=True, ylim=(0, 100),
                    errors=errors)
    attacks = [pt["attack"] for pt in next(iter(curves.values()))]
    rows = [[a] + [pct(curves[m][i]["robust_accuracy"]) for m in curves]
            for i, a in enumerate(attacks)]
    return join([img(fig, "robust accuracy against attack strength"), table(
        ["attack (each row: robust to it and to every row above)"] + [f"{m} (%) [95 % interval]" for m in curves],
        rows)])


def _settings(preset) -> Settings:
    return Settings()


def _quick(preset) -> Settings:
    """The claim's D_R model and the D_NR baseline: with AutoAttack the adversarially trained model's part cost
    110 s of the quick run (seed 0: 230 s for all three), past the 30-minute budget; the full preset keeps it."""
    return Settings(models=["d_r", "d_nr"])


def _tiny(preset) -> Settings:
    return Settings(steps=[3, 10], step_factor=2.5 / 3, images=50, restarts=1, restart_steps=10, autoattack_steps=10,
                    square_queries=100)


EXPERIMENT = Experiment(
    reference={"stress": STRESS},
    name="stress", title=f"{WHO}, appendix D.2",
    question="Does the D_R model stay robust under much stronger attacks, or was its robustness a weak attack's "
             "artefact?",
    method="Attack the adversarially trained, D_R and D_NR models at the main eval eps with PGD of 20, 100 and 1000 "
           "steps of one fixed size, then with PGD on the CW margin loss and random restarts, then AutoAttack "
           "(APGD-CE, APGD-T, FAB-T, Square); an example counts as robust only if no attack so far broke it.",
    settings={"quick": _quick, "full": _settings, "cifar10": _settings, "tiny": _tiny},
    run=run, claims=CLAIMS, judge=judge, section=section,
    cost={"quick": 120.0, "full": 52.0},  # quick: D_R and D_NR under AutoAttack (seed 0, 119.7 s of 230 s)
)
