"""Ilyas et al. 2019, appendix D.2: is the D_R model's robustness an artefact of a weak attack?

The paper attacked its D_R model with up to 2500 PGD steps and with CW-L2 and
saw its robust accuracy hold. Here the adv, D_R and D_NR models of the paper
experiment face PGD of more and more steps, then the CW margin loss with
random restarts, all at the main eval eps on one subset of test images. The
curve is the *cumulative* worst case: an example counts as robust at a point
only if no attack up to that point broke it, so it can only fall, and each
stronger attack runs only on the examples still standing (which is what makes
1000 steps affordable on a CPU).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from ..attacks import margin, pgd
from ..data import subset
from ..evaluate import robust_mask
from ..figures import error_bars, intervals, line_plot
from ..htmlparts import img, join, pct, table
from ..inputs import device_of
from ..values import Proportion
from .base import Claim, Experiment, Verdict
from .lab import Lab


@dataclass
class Settings:
    models: list[str] = field(default_factory=lambda: ["adv", "d_r", "d_nr"])
    steps: list[int] = field(default_factory=lambda: [20, 100, 1000])
    images: int = 200  # test images, the same for every attack
    restarts: int = 2  # random-start runs of the CW-margin attack, after the CE runs
    restart_steps: int = 100
    batch_size: int = 200


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
    s = Settings(**settings)
    model, data = lab.model(inputs["model"]), inputs["data"]
    dev = device_of(model)
    x, y = subset(data.test_x, data.test_y, s.images, seed)
    x, y = x.to(dev), y.to(dev)
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    alive = robust_mask(model, x, y, [])  # clean accuracy first: a misclassified image is not robust
    points = [{"attack": "clean", "steps": 0, "robust_accuracy": Proportion.of(int(alive.sum()), n)}]
    for k in s.steps:
        alive = _attack_rest(model, x, y, alive, lambda xb, yb, k=k: pgd(
            model, xb, yb, norm="l2", eps=eps, steps=k, best=True, select=margin), s.batch_size)
        points.append({"attack": f"PGD-{k} (CE)", "steps": k, "robust_accuracy": Proportion.of(int(alive.sum()), n)})
    alive = _attack_rest(model, x, y, alive, lambda xb, yb: pgd(
        model, xb, yb, norm="l2", eps=eps, steps=s.restart_steps, loss_fn=margin, best=True, select=margin),
        s.batch_size)
    points.append({"attack": f"CW margin, PGD-{s.restart_steps}", "steps": s.restart_steps,
                   "robust_accuracy": Proportion.of(int(alive.sum()), n)})
    for r in range(s.restarts):
        alive = _attack_rest(model, x, y, alive, lambda xb, yb: pgd(
            model, xb, yb, norm="l2", eps=eps, steps=s.restart_steps, loss_fn=margin, random_start=True,
            best=True, select=margin, generator=gen), s.batch_size)
        points.append({"attack": f"CW margin, random start {r + 1}", "steps": s.restart_steps,
                       "robust_accuracy": Proportion.of(int(alive.sum()), n)})
    return {"points": points}


def run(s: Settings, lab: Lab) -> dict:
    eps = lab.preset.main_eval_eps
    curves = {name: lab.measure(f"stress {name}", curve, params={"settings": asdict(s), "eps": eps, "seed": lab.seed},
                                inputs={"model": lab.paper_model(name), "data": lab.data}).summary["points"]
              for name in s.models}
    return {"eps": eps, "images": min(s.images, len(lab.data.test_x)), "curves": curves}


WHO = "Ilyas et al. 2019"
CLAIMS = (
    Claim("d_r_robustness_not_an_artefact", f"{WHO}, app. D.2",
          "The D_R model's robust accuracy under the strongest attack (1000-step PGD, then CW-margin PGD with random "
          "restarts, worst case per example) is at most 5 points below its 20-step PGD number.",
          "CIFAR-10: D_R robustness held up to 2500 PGD steps and under CW-L2"),
)


def judge(res: dict, s: Settings) -> dict[str, Verdict]:
    pts = res["curves"]["d_r"]
    first = next(pt for pt in pts if pt["steps"] == min(s.steps) and pt["attack"].startswith("PGD"))
    last = pts[-1]
    drop = first["robust_accuracy"] - last["robust_accuracy"]
    return {"d_r_robustness_not_an_artefact": Verdict(
        drop <= 0.05, f"{first['robust_accuracy']:.1%} -> {last['robust_accuracy']:.1%}",
        f"D_R model at eps {res['eps']:g} on {res['images']} test images: {first['attack']} "
        f"{first['robust_accuracy']:.1%}, worst case of all attacks {last['robust_accuracy']:.1%} "
        f"(drop {drop * 100:.1f} points)")}


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


def _tiny(preset) -> Settings:
    return Settings(steps=[3, 10], images=50, restarts=1, restart_steps=10)


EXPERIMENT = Experiment(
    name="stress", title=f"{WHO}, appendix D.2",
    question="Does the D_R model stay robust under much stronger attacks, or was its robustness a weak attack's "
             "artefact?",
    method="Attack the adversarially trained, D_R and D_NR models at the main eval eps with PGD of 20, 100 and 1000 "
           "steps, then with PGD on the CW margin loss and random restarts; an example counts as robust only if no "
           "attack so far broke it.",
    settings={"quick": _settings, "full": _settings, "cifar10": _settings, "tiny": _tiny},
    run=run, claims=CLAIMS, judge=judge, section=section,
    cost={"quick": 60.0, "full": 52.0},
)
