"""The paper's recipe one flag away: each departure of the presets from the published method (Ilyas et al. 2019,
appendix C, through ``robustness``) as a named change of preset fields with the paper's value.

    notbugs reproduce paper --preset quick --recipe paper              # every part below
    notbugs reproduce paper --preset quick --recipe augmented-models   # one part
    notbugs ablate paper --preset quick --seeds 30-32                  # each part's effect on each claim

A part is the preset's default where its budget allows it: the fresh models' SGD (``sgd-fresh``) is the quick and
full presets' own since issue 45, and ``Part.departure`` gives back what they used before, for the ablation. The
others stay one flag away: the standard and robust models' augmentation changes the baselines the margins were
measured on (``margins.BASELINES``), and the paper's inversion and relabelling take ten times the passes. A recipe
is applied to the preset before ``--config`` and ``--set``, so a field given there wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..core.errors import NotbugsError
from .config import apply_fields
from .presets import ADAM, ROBUSTNESS_AUGMENT, SGD, Preset


def _augmented_models(p: Preset) -> dict:
    return {"std": ROBUSTNESS_AUGMENT, "adv": ROBUSTNESS_AUGMENT}


def _sgd_fresh(p: Preset) -> dict:
    return {"fresh": SGD, "fresh_det": SGD}


def _adam_fresh(p: Preset) -> dict:
    return {"fresh": ADAM, "fresh_det": ADAM}


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
        raise NotbugsError(f"resnet50 is the paper's CIFAR-10 network; the preset's dataset is {p.dataset}: use "
                           "the part with --preset cifar10")
    return {"arch": "madry-resnet50", "arch_options": {}}


@dataclass(frozen=True)
class Part:
    """One departure: what the paper does and where the presets depart (``what``), the paper's fields
    (``paper``), and where the paper's value became a preset's default, the fields of the departure it replaced
    (``departure``) in those presets (``replaced_in``; the cifar10 preset always had the paper's SGD)."""
    what: str
    paper: Callable[[Preset], dict]
    departure: Callable[[Preset], dict] | None = None
    replaced_in: tuple[str, ...] = ()


PARTS = {
    "augmented-models": Part("the standard and robust models train with robustness' augmentation (crop 4, flip, "
                             "jitter 0.25, rotation 2); the presets train them without", _augmented_models),
    "sgd-fresh": Part("the fresh models train with SGD (lr 0.1, momentum 0.9, weight decay 5e-4, a 10x drop); the "
                      "quick and full presets do since issue 45, with Adam 1e-3 on a cosine before", _sgd_fresh,
                      _adam_fresh, ("quick", "full")),
    "paper-inversion": Part("the inversion takes 1,000 L2-normalised steps of 0.1 and keeps each image's closest "
                            "iterate; the presets 100 heavy-ball steps decaying on a cosine, the last iterate",
                            _paper_inversion),
    "paper-relabel": Part("D_rand's and D_det's attack takes 100 steps along 20 eps and keeps the best iterate; the "
                          "presets 10 steps along 2.5 eps, the last", _paper_relabel),
    "resnet50": Part("a ResNet-50 on CIFAR-10; the cifar10 preset a ResNet-18", _resnet50),
}
PAPER = ("augmented-models", "sgd-fresh", "paper-inversion", "paper-relabel")  # resnet50: the cifar10 preset's own


def parse_recipe(text: str, option: str = "--recipe") -> tuple[str, ...]:
    """``paper`` or parts by name, comma-separated, each once (``option`` names the flag in the error)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["paper"]:
        return PAPER
    unknown = [n for n in names if n not in PARTS]
    if not names or unknown or len(set(names)) != len(names):
        raise NotbugsError(f"{option} takes 'paper' or parts of it, comma-separated, each once: "
                           f"{', '.join(PARTS)}; got '{text}'")
    return tuple(names)


def with_recipe(p: Preset, names: tuple[str, ...]) -> Preset:
    """The preset with the named parts of the paper's recipe."""
    for name in names:
        p = apply_fields(p, PARTS[name].paper(p))
    return p


def contrast(p: Preset, name: str) -> tuple[Preset, Preset] | None:
    """The preset with part ``name``'s departure and with the paper's value, in that order: the pair whose
    difference is the part's effect (one of them is ``p``); None where ``p`` has the paper's value and never had
    another. A part that does not apply to ``p`` (resnet50 beside another dataset) says so (NotbugsError)."""
    part = PARTS[name]
    paper = apply_fields(p, part.paper(p))
    if paper != p:
        return p, paper
    return (apply_fields(p, part.departure(p)), p) if part.departure and p.name in part.replaced_in else None
