"""Nakkiran, "Adversarial Examples are Just Bugs, Too" (Distill discussion).

Two counterpoints to "adversarial examples are features":
1. Some adversarial examples carry no features at all. A targeted attack that
   fools the source model while an ensemble of independently trained models
   keeps seeing the true label (minimise CE(f(x'), t) + mean_i CE(f_i(x'), y))
   still succeeds, yet does not transfer to a further, held-out model; and a
   D_det built from such examples teaches nothing about the true labels -- a
   model trained on it learns the shift y -> y+1 instead.
2. Adversarial examples can arise from memorisation alone ("bugs"): on
   "adversarial squares" (two classes, all-ones images plus small noise, some
   labels flipped) a model that fits the flipped labels is flipped by a tiny
   Linf perturbation, while the same model stopped early, or trained without
   the input noise or without the label noise, is robust.

Where the lab departs from the response, and why:
- The ensemble and the held-out model are small CNNs trained with the standard model's recipe on Fashion-MNIST
  (10 members at the full preset, as in the response; 3 at quick, for cost). Trained on 10k images for 2 epochs
  instead (the lab's earlier setting) the held-out model took plain targeted PGD at eps 2 on 2 % of the images;
  trained like the source, 17 % (quick, seed 0, 274 test images, benchmarks/nakkiran_transfer.py).
- The L2 eps is 3.0, not the response's 2.5 (CIFAR-10): the claim needs plain targeted PGD to transfer (its
  premise); between these models it does so at 3.0 (43 %, seed 0, 20 steps) and not at the paper experiment's 2.0
  (17 %). Both D_dets of (b) are built at that eps from the same first images.
- (b) builds both D_dets from 20,000 images (the response: all of CIFAR-10's 50,000): from 5,000 the plain D_det's
  model learned 7.1 % on Y (quick, seed 0), nothing to contrast against.
- Squares: a ResNet-18 of base width 16 on 2,000 images (the response: 10,000), only at the full preset.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
from torch.optim.swa_utils import update_bn

from verdicts import Estimate, Proportion

from ..attacks import pgd
from ..core.inputs import device_of
from ..core.reference import NAKKIRAN
from ..core.values import difference
from ..data import subset
from ..evaluation.evaluate import accuracy, agreement, predict, robust_mask
from ..frame import margins
from ..frame.base import Bound, Claim, Experiment, Verdict
from ..frame.datasets import dataset_name
from ..frame.lab import Lab
from ..methods.construct import Stacked, non_transferable_loss
from ..methods.train import TrainConfig, train
from ..models import build_model, model_spec
from ..present.htmlparts import h3, join, para, pct, table


@dataclass
class Settings:
    members: int = 3  # the ensemble the attack must not fool (10 in the response)
    member_images: int | None = None  # each member's (and the held-out model's) training images, None: the standard
    member_epochs: int | None = None  # model's; epochs likewise (independent seeds)
    attack_images: int = 500
    attack_steps: int = 20
    linf_eps: float = 0.1
    l2_eps: float | None = 3.0  # of the attacks and of both D_dets (None: the preset's D_det eps); see the docstring
    det_images: int = 20000  # both D_dets (plain and non-transferable) from these first images
    squares_skipped: str = ""  # why adversarial squares do not run at this preset ("" runs them)
    # measured here (probe, seed 0): a ResNet-18 of base width 16 on 2,000 square images, 40 epochs of Adam 1e-3 at
    # batch 64 on a cosine schedule, fitted the flipped labels (train 99.95 %, clean test 96.1 %) and kept 0.3 % under
    # the Linf 0.01 attack; at a constant 1e-3 it stalled at 94 % in one run and fitted them in another; MLPs of
    # width 1024-2048 never fitted one (QUICK_SQUARES). The response used 10,000 images: 5x the cost here.
    squares_train: int = 2000
    squares_test: int = 1000
    squares_arch: tuple[str, dict] = ("resnet18", {"base": 16})
    squares_epochs: int = 40  # long enough to memorise the flipped labels
    squares_batch: int = 64
    squares_lr: float = 1e-3
    squares_schedule: str = "cosine"  # memorising happens as the learning rate falls (constant 1e-3 stalled at 94 %)
    squares_eps: float = 0.01  # Linf, in the response's [-1.1, 1.1] scale (mapped to pixels with the data)


def attack_table(lab: Lab, inputs: dict, *, settings: dict, l2_eps: float, seed: int) -> dict:
    """Success and transfer of plain targeted PGD and of the non-transferable attack, in L2 and Linf."""
    s = Settings(**settings)
    source, held_out = lab.model(inputs["source"]), lab.model(inputs["held_out"])
    members = [lab.model(inputs[f"member{i}"]) for i in range(s.members)]
    data, dev = inputs["data"], device_of(source)
    x, y = subset(data.test_x, data.test_y, s.attack_images, seed)
    x, y = x.to(dev), y.to(dev)
    keep = predict(source, x).to(dev) == y  # attack what the source gets right
    x, y = x[keep], y[keep]
    t = (y + 1) % data.num_classes
    rows = []
    for norm, eps in (("l2", l2_eps), ("linf", s.linf_eps)):
        for name, model, loss in (("targeted PGD", source, None),
                                  ("non-transferable", Stacked(source, members), non_transferable_loss(y))):
            kw = {"loss_fn": loss} if loss else {}
            x_adv = pgd(model, x, t, norm=norm, eps=eps, steps=s.attack_steps, targeted=True, **kw)
            rows.append({"norm": norm, "eps": eps, "attack": name, "images": len(x),
                         "success": agreement(source, x_adv, t), "transfer": agreement(held_out, x_adv, t),
                         "held_out_keeps_label": agreement(held_out, x_adv, y)})
    return {"rows": rows}


def squares_data(n: int, shape, noise: float, flip: float, gen: torch.Generator):
    """Y uniform on {+1, -1}; X = Y * ones + uniform noise in [-noise, noise], mapped from [-1.1, 1.1] to [0, 1];
    a share ``flip`` of the labels flipped. Labels as classes {0: -1, 1: +1}."""
    y = torch.randint(0, 2, (n,), generator=gen)
    raw = (2 * y - 1).float().view(-1, 1, 1, 1) + (torch.rand(n, *shape, generator=gen) * 2 - 1) * noise
    flipped = torch.rand(n, generator=gen) < flip
    return ((raw + 1.1) / 2.2).clamp(0, 1), torch.where(flipped, 1 - y, y)


SQUARES = [name for name in Settings.__dataclass_fields__ if name.startswith("squares_") and name != "squares_skipped"]


def squares(lab: Lab, inputs: dict, *, settings: dict, shape: list, seed: int) -> dict:
    """Three training runs (noisy inputs and labels; without input noise; without label noise), and the first
    run's own state after one epoch as the early-stopped model; on the lab's device."""
    s = Settings(**settings)
    dev = lab.device
    eps = s.squares_eps / 2.2  # the same perturbation in pixel units
    arch, options = s.squares_arch
    runs = {"memorising": (0.1, 0.1), "no input noise": (0.0, 0.1), "no label noise": (0.1, 0.0)}
    out = {}
    for name, (noise, flip) in runs.items():
        gen = torch.Generator().manual_seed(seed)
        x, y = squares_data(s.squares_train, shape, noise, flip, gen)
        xt, yt = squares_data(s.squares_test, shape, noise, 0.0, gen)
        torch.manual_seed(seed)
        model = build_model(model_spec(arch, shape, 2, x.mean(dim=(0, 2, 3)).tolist(),
                                       x.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist(), **options))
        early = {}  # the memorising run after its first epoch

        def keep_first(epoch: int, m, early=early) -> None:
            if epoch == 1:
                early["one epoch"] = copy.deepcopy(m)

        history = train(model, x, y, TrainConfig(epochs=s.squares_epochs, lr=s.squares_lr,
                                                 schedule=s.squares_schedule, crop_padding=0, flip=False,
                                                 batch_size=s.squares_batch, seed=seed, device=dev),
                        progress=False, after_epoch=keep_first if name == "memorising" else None)
        x, y, xt, yt = x.to(dev), y.to(dev), xt.to(dev), yt.to(dev)
        for label, m, epochs, last in ((name, model, s.squares_epochs, history[-1]),
                                       *((k, v, 1, history[0]) for k, v in early.items())):
            # batch-norm statistics for the final weights: after one epoch (32 steps) the running averages still
            # carry the first steps' weights (the model sat at chance in eval mode while 90 % right in training)
            update_bn([x[i:i + 500] for i in range(0, len(x), 500)], m)
            m.eval()
            x_adv = pgd(m, xt, yt, norm="linf", eps=eps, steps=20, best=True)
            out[label] = {"train_accuracy": accuracy(m, x, y), "last_epoch_train_accuracy": last["train_accuracy"],
                          "test_accuracy": accuracy(m, xt, yt),
                          "robust_accuracy": Proportion.of(int(robust_mask(m, xt, yt, [x_adv]).sum()), len(xt)),
                          "epochs": epochs, "input_noise": noise, "label_noise": flip}
    return {k: out[k] for k in ("memorising", "one epoch", "no input noise", "no label noise")}


def run(s: Settings, lab: Lab) -> dict:
    data = lab.data
    ens = lab.ensemble(s.members + 1, limit=s.member_images, epochs=s.member_epochs)
    inputs = {"source": lab.std(), "held_out": ens[-1], "data": data,
              **{f"member{i}": m for i, m in enumerate(ens[:-1])}}
    eps = s.l2_eps or lab.relabel_eps("det")
    out = {"members": s.members, "attacks": lab.measure(
        "non-transferable attack", attack_table, inputs=inputs,
        params={"settings": asdict(s), "l2_eps": eps, "seed": lab.seed}).summary["rows"]}
    # D_det from the non-transferable attack against plain D_det, both from the same first images at one eps
    plain = lab.dataset("det", limit=s.det_images, eps=eps)
    nt = lab.dataset("det", limit=s.det_images, keep=ens[:-1], eps=eps)
    shifted = (data.test_y + 1) % data.num_classes
    out["d_det"] = {}
    tag = eps if eps != lab.relabel_eps("det") else None
    for name, art, dname in (("targeted PGD", plain, dataset_name("det", eps=tag)),
                             ("non-transferable", nt, dataset_name("det", keep=True, eps=tag))):
        model = lab.model(lab.fresh_prefix("det", None, built=art, name=dname))
        out["d_det"][name] = {"accuracy": accuracy(model, data.test_x, data.test_y),
                              "shifted_accuracy": accuracy(model, data.test_x, shifted)}
    out["d_det"]["non-transferable"]["attack_success"] = nt.summary["attack_success"]
    out["det_images"], out["chance"] = s.det_images, 1 / data.num_classes
    if not s.squares_skipped:
        out["squares"] = squares_step(s, lab)
    return out


def squares_step(s: Settings, lab: Lab) -> dict:
    """The squares' four models as one cached measurement (runnable on its own: they share nothing)."""
    return lab.measure("adversarial squares", squares, params={
        "settings": {k: v for k, v in asdict(s).items() if k in SQUARES}, "shape": list(lab.data.image_shape),
        "seed": lab.seed}).summary


WHO = "Nakkiran (Distill)"
NT_SUCCESS = Bound("non-transferable attack's success on the source", ">=", 0.90)
NT_TRANSFER = Bound("non-transferable attack's transfer to the held-out model", "<=", 0.10)
PGD_TRANSFERS = Bound("plain targeted PGD's transfer to the held-out model", ">=", 0.30)
NT_Y = Bound("non-transferable D_det accuracy on Y minus chance", "<=", 0.05)
NT_SHIFT = Bound("non-transferable D_det accuracy on Y+1", ">=", 0.40)
CONTRAST = Bound("plain minus non-transferable D_det accuracy on Y", ">=", 0.10)
NT_BUILT = Bound("non-transferable attack's success on the D_det images", ">=", 0.90)
# the effect (b) contrasts against: the plain D_det of the same images reproduces Table 1 (as robust_source asks),
# so Table 1's margin by the rule (0.30, the margin set by hand before the rule, until this round)
PLAIN_ON_Y = margins.ruled("plain D_det accuracy on Y", ">=", "d_det")
PLAIN_Y_OVER_SHIFT = Bound("plain D_det: accuracy on Y minus on Y+1", ">=", 0.0)
MEMORISED = Bound("memorising model's training accuracy", ">=", 0.99)
FLIPPED = Bound("memorising model's accuracy under attack", "<=", 0.20)
ROBUST = {k: Bound(f"{k} model's accuracy under attack", ">=", 0.90)
          for k in ("one epoch", "no input noise", "no label noise")}
CLAIMS = (
    Claim("non_transferable_attack", f"{WHO}, Adversarial Examples are Just Bugs, Too",
          "A targeted attack that keeps an ensemble's labels succeeds on at least 90 % of the images while "
          "transferring to a held-out model on at most 10 % (L2), where plain targeted PGD transfers (at least 30 %).",
          "CIFAR-10 L2: ours 99.3 % success / 1.7 % transfer vs PGD 99.9 % / 82.5 %",
          tests=(NT_SUCCESS, NT_TRANSFER), premises=(PGD_TRANSFERS,)),
    Claim("non_transferable_d_det", f"{WHO}, Adversarial Examples are Just Bugs, Too",
          "D_det built with the non-transferable attack teaches nothing about the true labels (at most chance + 5 "
          "points on Y), teaches the shift (at least 40 % on Y+1), and at least 10 points less on Y than the plain "
          "D_det of the same images.",
          "CIFAR-10 L2: 2.8 % on Y, 70.8 % on Y+1 (plain PGD: 33.2 % / 27.3 %)",
          tests=(NT_Y, NT_SHIFT, CONTRAST), premises=(NT_BUILT, PLAIN_ON_Y, PLAIN_Y_OVER_SHIFT)),
    Claim("squares_memorisation", f"{WHO}, Adversarial Examples are Just Bugs, Too",
          "Adversarial squares: the model that memorises the flipped labels keeps at most 20 % accuracy under a "
          "Linf 0.01 attack, while the one-epoch model and the models trained without input noise or without label "
          "noise keep at least 90 %.",
          "ResNet-18 at 99.9 % train accuracy flipped on almost all test points; early stopping robust",
          tests=(FLIPPED, *ROBUST.values()), premises=(MEMORISED,)),
)


def judge(res: dict, s: Settings) -> dict[str, Verdict]:
    rows = {(r["norm"], r["attack"]): r for r in res["attacks"]}
    nt, plain = rows["l2", "non-transferable"], rows["l2", "targeted PGD"]
    d, pd, chance = res["d_det"]["non-transferable"], res["d_det"]["targeted PGD"], res["chance"]
    y_ci = tuple(c - chance for c in d["accuracy"].ci) if getattr(d["accuracy"], "ci", None) else None
    v = {"non_transferable_attack": Verdict(
        {NT_SUCCESS.name: nt["success"], NT_TRANSFER.name: nt["transfer"], PGD_TRANSFERS.name: plain["transfer"]},
        f"{nt['success']:.1%} / {nt['transfer']:.1%} (PGD {plain['success']:.1%} / {plain['transfer']:.1%})",
        f"L2 eps {nt['eps']:g}, {nt['images']} images, {res['members']} ensemble members: non-transferable success "
        f"{nt['success']:.1%}, transfer {nt['transfer']:.1%}; plain targeted PGD success {plain['success']:.1%}, "
        f"transfer {plain['transfer']:.1%}",
        statement=f"A targeted attack (L2 eps {nt['eps']:g}) that keeps an ensemble of {res['members']} models' "
                  "labels succeeds on at least 90 % of the images while transferring to a held-out model on at most "
                  "10 %, where plain targeted PGD transfers (at least 30 %)."),
        "non_transferable_d_det": Verdict(
            {NT_Y.name: Estimate(d["accuracy"] - chance, y_ci), NT_SHIFT.name: d["shifted_accuracy"],
             CONTRAST.name: difference(pd["accuracy"], d["accuracy"]), NT_BUILT.name: d["attack_success"],
             PLAIN_ON_Y.name: pd["accuracy"],
             PLAIN_Y_OVER_SHIFT.name: difference(pd["accuracy"], pd["shifted_accuracy"])},
            f"{d['accuracy']:.1%} on Y / {d['shifted_accuracy']:.1%} on Y+1",
            f"D_det of {res['det_images']} images at L2 eps {nt['eps']:g}: non-transferable {d['accuracy']:.1%} on Y, "
            f"{d['shifted_accuracy']:.1%}"
            f" on Y+1 (attack success {d['attack_success']:.1%}); plain PGD on the same images {pd['accuracy']:.1%} / "
            f"{pd['shifted_accuracy']:.1%} (chance {chance:.0%})")}
    sq = res.get("squares")
    if sq is None:
        v["squares_memorisation"] = Verdict(None, "–", f"not run at this preset: {s.squares_skipped}")
    else:
        mem = sq["memorising"]
        others = {k: r["robust_accuracy"] for k, r in sq.items() if k != "memorising"}
        v["squares_memorisation"] = Verdict(
            {FLIPPED.name: mem["robust_accuracy"], MEMORISED.name: mem["train_accuracy"],
             **{ROBUST[k].name: a for k, a in others.items()}},
            f"{mem['robust_accuracy']:.1%} vs " + " / ".join(f"{a:.1%}" for a in others.values()),
            f"memorising model (train accuracy {mem['train_accuracy']:.1%}): robust {mem['robust_accuracy']:.1%}; "
            + "; ".join(f"{k}: {a:.1%}" for k, a in others.items()))
    return v


def section(entry: dict) -> str:
    res = entry["results"]
    ref = NAKKIRAN["attack"]
    rows = [[f"{r['norm']} eps {r['eps']:g}", r["attack"],
             *(pct(r[k]) for k in ("success", "transfer", "held_out_keeps_label")),
             " / ".join(pct(v) for v in ref[r["norm"]][r["attack"]])] for r in res["attacks"]]
    drows = [[name, pct(d["accuracy"]), pct(d["shifted_accuracy"]),
              " / ".join(pct(v) for v in NAKKIRAN["d_det"]["l2"][name])] for name, d in res["d_det"].items()]
    parts = [table(["threat", "attack", "success on the source (%) [95 % interval]",
                    "targeted transfer to a held-out model (%)",
                    "held-out model keeps the true label (%)", "Nakkiran, CIFAR-10 (success / transfer)"], rows),
             h3(f"D_det from {res['det_images']} images"),
             table(["D_det made with", "fresh model on Y (%)", "on Y+1 (%)", "Nakkiran L2 (Y / Y+1)"], drows)]
    if "squares" in res:
        srows = [[k, r["epochs"], r["input_noise"], r["label_noise"], pct(r["train_accuracy"], False),
                  pct(r["test_accuracy"]), pct(r["robust_accuracy"])]
                 for k, r in res["squares"].items()]
        parts += [h3("Adversarial squares (Linf 0.01 in the response's [-1.1, 1.1] scale)"), table(
            ["model", "epochs", "input noise", "label noise", "train (%)", "test (%)", "under attack (%)"], srows)]
    elif (entry.get("settings") or {}).get("squares_skipped"):
        parts += [h3("Adversarial squares"), para(f"Not run at this preset: {entry['settings']['squares_skipped']}.")]
    return join(parts)


def _tiny(preset) -> Settings:
    return Settings(members=2, member_images=500, member_epochs=2, attack_images=100, attack_steps=5, det_images=300,
                    l2_eps=None,
                    squares_train=400, squares_test=100, squares_arch=("mlp", {"hidden": 64}), squares_epochs=3)


# Measured on this 2-core CPU with 2,000 square images: an MLP of width 1024-2048 (with or without batch norm,
# Adam 1e-3, 40-60 epochs) never fitted a flipped label (train accuracy stuck at the clean 90 %, 100 % robust);
# a ResNet-18 of base width 16, 40 epochs of Adam 1e-3 on a cosine schedule at batch 64, fitted them on seeds 0
# and 1 (99.95 % and 100 % train, 0.3 % and 0.0 % under attack); the whole squares step took 856 s (seed 0).
QUICK_SQUARES = ("a model that memorises the flipped labels costs more than the quick budget on a CPU (MLPs did not "
                 "memorise them; a ResNet-18 on 2,000 images memorised them all in 40 epochs, and the three training "
                 "runs with their attacks took 856 s); they run at the full preset")


def _cifar10(preset) -> Settings:
    """The response's CIFAR-10 setting: an ensemble of 10 models; the targeted attacks at L2 eps 2.5 and Linf 8/255,
    10 steps (step 0.5 and 2/255: 2.5 eps / steps here, 0.625 and 2.5/255); both D_dets from the whole training
    set; adversarial squares of 10,000 CIFAR-sized images learned by a ResNet-18 with Adam at 1e-5, batch 128,
    20 epochs, constant rate (all from the response's text). The members and held-out model take the standard
    model's recipe (the response trained them independently; it does not give their recipe)."""
    return Settings(members=10, attack_steps=10, l2_eps=2.5, linf_eps=8 / 255, det_images=50000, attack_images=1000,
                    squares_train=10000, squares_arch=("resnet18", {}), squares_epochs=20, squares_batch=128,
                    squares_lr=1e-5, squares_schedule="constant")


def _quick(preset) -> Settings:
    return Settings(squares_skipped=QUICK_SQUARES)


EXPERIMENT = Experiment(
    reference={"nakkiran": NAKKIRAN},
    name="nakkiran", title=f"{WHO}, 'Adversarial Examples are Just Bugs, Too'",
    question="Are some adversarial examples bugs after all: attacks that carry no transferable features, and "
             "vulnerability that comes from memorisation alone?",
    method="Attack the standard model towards y+1 while an ensemble of independently trained models must keep the "
           "true label; measure success, transfer to a held-out model, and what a D_det built this way teaches. On "
           "adversarial squares, compare a model that memorises flipped labels with early stopping and two ablations.",
    settings={"quick": _quick, "full": lambda preset: Settings(members=10), "cifar10": _cifar10, "tiny": _tiny},
    run=run, claims=CLAIMS, judge=judge, section=section,
    cost={"quick": 90.0, "full": 1519.0},  # full: seed 0, in 'all' after the paper; squares step 856 s of it
)
