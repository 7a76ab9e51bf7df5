"""The paper's recipe one flag away: each departure of the presets from the published method (Ilyas et al. 2019,
appendix C, through ``robustness``) as a named change of preset fields with the paper's value.

    notbugs reproduce paper --preset quick --recipe paper              # every part below
    notbugs reproduce paper --preset quick --recipe augmented-models   # one part

The presets keep their measured defaults (the margins' baselines were measured with them, and a default changes
only in a round that re-measures the baselines first). A recipe is applied to the preset before ``--config`` and
``--set``, so a field given there wins.
"""

from __future__ import annotations

from ..core.errors import NotbugsError
from .config import apply_fields
from .presets import ROBUSTNESS_AUGMENT, Preset

# appendix C: SGD, momentum 0.9, weight decay 5e-4, learning rate 0.1 from its grid {0.1, 0.05, 0.01} (not searched
# here), a 10x drop (the step schedule drops it at half-way); the preset's epochs stay (the paper's ~150-200 do not
# fit a CPU), so the schedule is the paper's scaled to the preset's length
SGD = dict(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4, schedule="step")


def _augmented_models(p: Preset) -> dict:
    return {"std": ROBUSTNESS_AUGMENT, "adv": ROBUSTNESS_AUGMENT}


def _sgd_fresh(p: Preset) -> dict:
    return {"fresh": SGD, "fresh_det": SGD}


def _paper_inversion(p: Preset) -> dict:
    return {"inversion": {"optimizer": "normalized", "steps": 1000, "step_size": 0.1, "schedule": "constant",
                          "momentum": 0.0, "use_best": True}}


def _paper_relabel(p: Preset) -> dict:
    """100 steps along a path of 20 eps (the paper: 100 steps of 0.1 at eps 0.5), at each preset's own eps."""
    def path(cfg) -> dict:
        eps = cfg.eps if cfg.eps is not None else p.adv.eps
        return {"steps": 100, "step_size": round(0.2 * eps, 6), "use_best": True}
    return {"rand": path(p.rand), "det": path(p.det)}


def _resnet50(p: Preset) -> dict:
    if p.dataset != "cifar10":
        raise NotbugsError(f"--recipe resnet50 is the paper's CIFAR-10 network; the preset's dataset is "
                           f"{p.dataset}: use it with --preset cifar10")
    return {"arch": "madry-resnet50", "arch_options": {}}


# name -> (what the paper does, where the presets depart, the change)
PARTS = {
    "augmented-models": ("the standard and robust models train with robustness' augmentation (crop 4, flip, "
                         "jitter 0.25, rotation 2); the presets train them without", _augmented_models),
    "sgd-fresh": ("the fresh models train with SGD (lr 0.1, momentum 0.9, weight decay 5e-4, a 10x drop); the "
                  "presets use Adam 1e-3 on a cosine", _sgd_fresh),
    "paper-inversion": ("the inversion takes 1,000 L2-normalised steps of 0.1 and keeps each image's closest "
                        "iterate; the presets 100 heavy-ball steps decaying on a cosine, the last iterate",
                        _paper_inversion),
    "paper-relabel": ("D_rand's and D_det's attack takes 100 steps along 20 eps and keeps the best iterate; the "
                      "presets 10 steps along 2.5 eps, the last", _paper_relabel),
    "resnet50": ("a ResNet-50 on CIFAR-10; the cifar10 preset a ResNet-18", _resnet50),
}
PAPER = ("augmented-models", "sgd-fresh", "paper-inversion", "paper-relabel")  # resnet50: the cifar10 preset's own


def parse_recipe(text: str) -> tuple[str, ...]:
    """``paper`` or parts by name, comma-separated, each once."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["paper"]:
        return PAPER
    unknown = [n for n in names if n not in PARTS]
    if not names or unknown or len(set(names)) != len(names):
        raise NotbugsError(f"--recipe takes 'paper' or parts of it, comma-separated, each once: "
                           f"{', '.join(PARTS)}; got '{text}'")
    return tuple(names)


def with_recipe(p: Preset, names: tuple[str, ...]) -> Preset:
    """The preset with the named parts of the paper's recipe."""
    for name in names:
        p = apply_fields(p, PARTS[name][1](p))
    return p
