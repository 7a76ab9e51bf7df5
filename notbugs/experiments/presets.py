"""Settings of ``notbugs reproduce``: one dataclass per preset, every knob in one place.

quick  - real Fashion-MNIST on a laptop CPU in minutes (subsets, short schedules).
full   - the whole Fashion-MNIST training set, longer schedules.
cifar10 - the paper's CIFAR-10 settings (ResNet-18, eps 0.5, 1000 inversion steps) for a GPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..construct import InversionConfig, RelabelConfig
from ..errors import NotbugsError
from ..train import TrainConfig


@dataclass
class Preset:
    name: str
    dataset: str
    arch: str
    std: TrainConfig
    adv: TrainConfig
    inversion: InversionConfig
    rand: RelabelConfig
    det: RelabelConfig
    fresh: TrainConfig  # plain standard training of the models on D_R, D_NR, D_rand
    fresh_det: TrainConfig  # the paper turns augmentation off for D_det
    eval_eps: list[float] = field(default_factory=list)
    main_eval_eps: float = 1.0
    eval_steps: int = 20
    eval_limit: int | None = None  # test images for robust accuracy (clean accuracy always uses all)
    base_limit: int | None = None  # training images for the standard and robust models
    construct_limit: int | None = None  # training images the four datasets are built from
    device: str = "cpu"

    def to_dict(self) -> dict:
        return asdict(self)

    def with_seed(self, seed: int) -> "Preset":
        seeded = {k: replace(getattr(self, k), seed=seed) for k in
                  ("std", "adv", "inversion", "rand", "det", "fresh", "fresh_det")}
        return replace(self, **seeded)


def _quick() -> Preset:
    fresh = TrainConfig(epochs=8, batch_size=128, optimizer="adam", lr=1e-3, schedule="cosine", crop_padding=0, flip=False)
    return Preset(
        name="quick", dataset="fashion-mnist", arch="cnn",
        std=TrainConfig(epochs=4, lr=2e-3, crop_padding=0),
        adv=TrainConfig(epochs=4, lr=2e-3, crop_padding=0, adv="l2", eps=2.0, steps=3),
        inversion=InversionConfig(steps=100, step_size=0.1, schedule="cosine"),
        rand=RelabelConfig(mode="rand", eps=2.0, steps=50, step_size=0.1),
        det=RelabelConfig(mode="det", eps=2.0, steps=50, step_size=0.1),
        fresh=fresh, fresh_det=fresh,
        eval_eps=[0.5, 1.0, 1.5], main_eval_eps=1.0, eval_steps=20, eval_limit=1000,
        base_limit=None, construct_limit=6000,
    )


def _full() -> Preset:
    quick = _quick()
    fresh = replace(quick.fresh, epochs=15)
    return replace(
        quick, name="full",
        std=TrainConfig(epochs=15, lr=1e-3),
        adv=TrainConfig(epochs=10, lr=1e-3, adv="l2", eps=2.0, steps=7),
        inversion=InversionConfig(steps=300, step_size=0.1, schedule="cosine"),
        rand=replace(quick.rand, steps=100), det=replace(quick.det, steps=100),
        fresh=fresh, fresh_det=fresh,
        eval_limit=None, construct_limit=None,
    )


def _cifar10() -> Preset:
    sgd = dict(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4, schedule="step", crop_padding=4, flip=True)
    fresh = TrainConfig(epochs=150, **sgd)
    return Preset(
        name="cifar10", dataset="cifar10", arch="resnet18",
        std=TrainConfig(epochs=150, **sgd),
        adv=TrainConfig(epochs=150, adv="l2", eps=0.5, steps=7, step_size=0.1, **sgd),
        inversion=InversionConfig(steps=1000, step_size=0.1),
        rand=RelabelConfig(mode="rand", eps=0.5, steps=100, step_size=0.1),
        det=RelabelConfig(mode="det", eps=0.5, steps=100, step_size=0.1),
        fresh=fresh, fresh_det=replace(fresh, crop_padding=0, flip=False),
        eval_eps=[0.25, 0.5], main_eval_eps=0.25, eval_steps=20, eval_limit=None, device="cuda",
    )


PRESETS = {"quick": _quick, "full": _full, "cifar10": _cifar10}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise NotbugsError(f"unknown preset '{name}'; use one of {', '.join(PRESETS)}")
    return PRESETS[name]()
