"""Nakano, "Adversarially Robust Neural Style Transfer" (Distill discussion), and the authors' layer robustness.

Style transfer through a standard ResNet gives noisy, high-frequency results;
through a robust one it looks as good as through VGG. The authors' reply
measures why: a layer f is robust when a small input change moves it little
compared with how far apart natural images lie in it,

    R(f) = E_x[ max_{||x' - x||_2 <= eps} ||f(x') - f(x)||_2 ] / E_{x1, x2} ||f(x1) - f(x2)||_2,

the inner max found by PGD on the feature distance. Here R is measured at
every ReLU stage of the standard and robust models, and the visual claim is
quantified: the share of the stylised image's spectral energy at high
frequencies, over 15 crops of a photograph so that it has an interval (a
bootstrap over the crops; R's ratios have one over the test images).

Premises of the style claim: the standard network's stylised image does show
high-frequency artefacts (more high-frequency energy than the content image),
and both optimisations converged (the loss fell by at most 1 % over the last
tenth of the steps). Departures: the small CNNs of the preset instead of
ResNet-50 and VGG-19, a grey 64x64 photograph (scikit-learn's samples), Adam
instead of L-BFGS, one style weight for both networks, and a number in place
of Nakano's visual comparison.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from verdicts import Estimate

from ..attacks import frozen, pgd
from ..core.errors import NotbugsError
from ..core.inputs import device_of
from ..core.reference import NAKANO
from ..core.stats import bootstrap_means
from ..core.storage import atomic_write_bytes
from ..data import subset
from ..frame.base import Bound, Claim, Experiment, Verdict
from ..frame.lab import Lab
from ..methods import spectral
from ..present.grid import image_grid_png
from ..present.htmlparts import h3, img, join, para, table


@dataclass
class Settings:
    eps: float = 0.5  # L2 radius for R(f)
    images: int = 200
    steps: int = 20
    content: str = "china.jpg"  # scikit-learn's bundled sample photographs
    style: str = "flower.jpg"
    size: int = 64  # stylised images are size x size, grey for a one-channel model
    style_steps: int = 300
    style_weight: float = 1e4
    high_cutoff: int = 16  # radius from which energy counts as high-frequency (a quarter of the size)


class _Enough(Exception):
    pass


class Stages(nn.Module):
    """The outputs of a model's ReLU stages, taken by forward hooks. The forward pass stops after the last stage
    asked for, so convolutional stages also take images of another size than the model's head expects."""

    def __init__(self, model: nn.Module, index: int | None = None):
        super().__init__()
        self.model, self.index = model, index
        self.relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]

    def all(self, x: torch.Tensor, upto: int | None = None) -> list[torch.Tensor]:
        upto = upto or len(self.relus)
        out = []

        def grab(module, inputs, output):
            out.append(output)
            if len(out) == upto:
                raise _Enough

        hooks = [r.register_forward_hook(grab) for r in self.relus]
        try:
            self.model(x)
        except _Enough:
            pass
        finally:
            for h in hooks:
                h.remove()
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened output of stage ``index``."""
        return self.all(x, self.index + 1)[self.index].flatten(1)


def feature_moves(model: nn.Module, x: torch.Tensor, *, eps: float, steps: int, generator: torch.Generator,
                  stages: int | None = None) -> list[dict[str, list[float]]]:
    """Per ReLU stage of ``model``, each image's worst-case feature change in the L2 ball (``moved``, by PGD on the
    feature distance) and its feature distance to another image (``spread``: x against a shuffle of x)."""
    n_stages = stages if stages is not None else len(Stages(model).relus)
    perm = torch.randperm(len(x), generator=generator)
    out = []
    for k in range(n_stages):
        f = Stages(model, k)
        with frozen(model), torch.no_grad():
            clean = f(x)
            spread = (clean - clean[perm]).norm(dim=1)
        x_adv = pgd(f, x, clean, norm="l2", eps=eps, steps=steps, random_start=True, generator=generator,
                    loss_fn=lambda z, target: (z - target).norm(dim=1))
        with frozen(model), torch.no_grad():
            moved = (f(x_adv) - clean).norm(dim=1)
        out.append({"moved": moved.tolist(), "spread": spread.tolist()})
    return out


def robustness_of(moves: dict[str, list[float]]) -> float:
    """R(f) = mean worst-case move over mean distance between images."""
    return sum(moves["moved"]) / max(sum(moves["spread"]), 1e-12)


def robust_over_standard(robust: list[dict], standard: list[dict]) -> tuple[Estimate, Estimate]:
    """R(robust) / R(standard): the largest over stages, and at the last stage, with 95 % bootstrap intervals over
    the images (each image's four distances resampled together)."""
    stages = len(robust)
    columns = np.stack([np.array([m[kind] for m in models]).T for models in (robust, standard)
                        for kind in ("moved", "spread")], 1).reshape(-1, 4 * stages)  # image, (quantity, stage)

    def ratios(m):
        m = m.reshape(len(m), 4, stages)
        return (m[:, 0] / np.maximum(m[:, 1], 1e-12)) / np.maximum(m[:, 2] / np.maximum(m[:, 3], 1e-12), 1e-12)

    point = ratios(columns.mean(0)[None])[0]
    largest = bootstrap_means(columns, lambda m: ratios(m).max(1))
    last = bootstrap_means(columns, lambda m: ratios(m)[:, -1])
    return Estimate(point.max(), largest), Estimate(point[-1], last)


def _photo(name: str) -> torch.Tensor:
    from sklearn.datasets import load_sample_image

    try:
        arr = load_sample_image(name)
    except (AttributeError, FileNotFoundError, ValueError):
        raise NotbugsError(f"no sample image '{name}' in scikit-learn; use china.jpg or flower.jpg") from None
    return torch.from_numpy(np.asarray(arr, dtype=np.float32) / 255).permute(2, 0, 1)[None]


def _grey(t: torch.Tensor, channels: int) -> torch.Tensor:
    return (t.mean(1, keepdim=True) if channels == 1 else t).clamp(0, 1)


def sample_photo(name: str, size: int, channels: int) -> torch.Tensor:
    """The photograph's centre-left square, resized to size x size."""
    t = _photo(name)
    side = min(t.shape[-2:])
    t = F.interpolate(t[..., :side, :side], size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return _grey(t, channels)


def photo_crops(name: str, size: int, channels: int) -> torch.Tensor:
    """size x size windows of the photograph resized to a short side of 2 size, at a stride of size / 2 (15 for
    scikit-learn's 427 x 640 photographs): several contents, so that a stylisation's statistic has an interval."""
    t = _photo(name)
    h, w = t.shape[-2:]
    scale = 2 * size / min(h, w)
    t = F.interpolate(t, size=(round(h * scale), round(w * scale)), mode="bilinear", antialias=True,
                      align_corners=False)
    stride = max(1, size // 2)
    return _grey(torch.cat([t[..., i:i + size, j:j + size] for i in range(0, t.shape[-2] - size + 1, stride)
                            for j in range(0, t.shape[-1] - size + 1, stride)]), channels)


def _gram(f: torch.Tensor) -> torch.Tensor:
    b, c = f.shape[:2]
    f = f.reshape(b, c, -1)
    return f @ f.transpose(1, 2) / f.shape[-1]


def _per_image_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).pow(2).flatten(1).mean(1)


def stylise(model: nn.Module, content: torch.Tensor, style: torch.Tensor, *, steps: int, style_weight: float,
            conv_stages: int) -> tuple[torch.Tensor, list[float]]:
    """Gatys et al.: match the last convolutional stage's features of ``content`` and the Gram matrices of every
    convolutional stage of ``style``, optimising the image (Adam, pixels kept in [0, 1]), from the content image.
    A batch of contents is stylised at once, each image by its own loss (their sum is minimised). Returns the
    images and the summed loss at every step (to tell whether the optimisation converged)."""
    f = Stages(model)
    with frozen(model), torch.no_grad():
        target_c = f.all(content, conv_stages)[-1]
        target_s = [_gram(s) for s in f.all(style, conv_stages)]
    x = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.02)
    losses = []
    with frozen(model):
        for _ in range(steps):
            feats = f.all(x, conv_stages)
            loss = _per_image_mse(feats[-1], target_c).sum() + style_weight * sum(
                _per_image_mse(_gram(a), g.expand(len(a), -1, -1)).sum() for a, g in zip(feats, target_s))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            with torch.no_grad():
                x.clamp_(0, 1)
    return x.detach(), losses


def last_tenth_fall(losses: list[float]) -> float:
    """How much the loss fell, relative to its value, over the last tenth of the steps: near 0 once converged."""
    k = max(1, len(losses) // 10)
    before = losses[-k - 1] if len(losses) > k else losses[0]
    return (before - losses[-1]) / max(abs(before), 1e-12)


def _conv_stages(model: nn.Module) -> int:
    """How many ReLU stages come before the first Flatten (they take any image size)."""
    count = 0
    for m in model.modules():
        if isinstance(m, nn.Flatten):
            break
        count += isinstance(m, nn.ReLU)
    return count


def measured(lab: Lab, inputs: dict, *, settings: dict, seed: int, folder) -> dict:
    """Per image, both models' feature moves at every stage, and crops of a photograph stylised through each (the
    first crop's grid saved in ``folder``)."""
    s = Settings(**settings)
    models = {"standard": lab.model(inputs["standard"]), "robust": lab.model(inputs["robust"])}
    data, dev = inputs["data"], device_of(models["standard"])
    x, _ = subset(data.test_x, data.test_y, s.images, seed)
    x = x.to(dev)
    conv = _conv_stages(models["standard"])
    contents = photo_crops(s.content, s.size, data.image_shape[0]).to(dev)
    style = sample_photo(s.style, s.size, data.image_shape[0]).to(dev)
    gen = torch.Generator().manual_seed(seed)
    out = {"moves": {name: feature_moves(m, x, eps=s.eps, steps=s.steps, generator=gen) for name, m in
                     models.items()}}
    out["R"] = {name: [robustness_of(m) for m in moves] for name, moves in out["moves"].items()}
    runs = {name: stylise(m, contents, style, steps=s.style_steps, style_weight=s.style_weight, conv_stages=conv)
            for name, m in models.items()}
    outputs = {name: x for name, (x, _) in runs.items()}
    out["style_loss"] = {name: {"final": losses[-1], "last_tenth_fall": last_tenth_fall(losses)}
                         for name, (_, losses) in runs.items()}
    out["high_frequency_shares"] = {name: [spectral.high_frequency_share(o[None], s.high_cutoff) for o in images]
                                    for name, images in (*outputs.items(), ("content", contents))}
    out["high_frequency_shares"]["style"] = [spectral.high_frequency_share(style, s.high_cutoff)]
    atomic_write_bytes(folder / "picture.png", image_grid_png(
        torch.cat([contents[:1], style, outputs["standard"][:1], outputs["robust"][:1]]),
        ["content", "style", "standard model", "robust model"], columns=4))
    return out


def smoother_and_artefacts(shares: dict[str, list[float]]) -> tuple[Estimate, Estimate]:
    """Mean high-frequency share through the standard model over that through the robust one, and the standard
    outputs' share minus their contents', each with its 95 % bootstrap interval over the crops."""
    columns = np.array([shares["standard"], shares["robust"], shares["content"]]).T

    def ratio(m):
        return m[:, 0] / np.maximum(m[:, 1], 1e-12)

    def excess(m):
        return m[:, 0] - m[:, 2]

    mean = columns.mean(0)[None]
    return (Estimate(ratio(mean)[0], bootstrap_means(columns, ratio)),
            Estimate(excess(mean)[0], bootstrap_means(columns, excess)))


def run(s: Settings, lab: Lab) -> dict:
    data = lab.data
    conv = _conv_stages(lab.model(lab.std()))
    if conv == 0:
        raise NotbugsError(f"architecture '{lab.preset.arch}' has no convolutional ReLU stage to stylise through")
    art = lab.measure("layer robustness and style transfer", measured, files=True,
                      params={"settings": asdict(s), "seed": lab.seed},
                      inputs={"standard": lab.std(), "robust": lab.robust(), "data": data})
    res = dict(art.summary)
    moves, shares = res.pop("moves"), res.pop("high_frequency_shares")
    largest, last = robust_over_standard(moves["robust"], moves["standard"])
    smoother, artefacts = smoother_and_artefacts(shares)
    return {**res, "robust_over_standard": {"largest": largest, "last": last}, "smoother": smoother,
            "artefacts": artefacts, "high_frequency_share": {k: float(np.mean(v)) for k, v in shares.items()},
            "crops": len(shares["content"]), "picture": lab.exhibit(art.file("picture.png")), "eps": s.eps,
            "images": min(s.images, len(data.test_x)), "conv_stages": conv, "high_cutoff": s.high_cutoff}


WHO = "Nakano; Engstrom et al. (Distill)"
LAYERS = Bound("largest robust over standard R(f), any stage", "<=", 1.0, percent=False)
LAST = Bound("robust over standard R(f) at the representation layer", "<=", 0.5, percent=False)
SMOOTHER = Bound("standard over robust outputs' mean high-frequency share", ">=", 2.0, percent=False)
ARTEFACTS = Bound("standard outputs' high-frequency share minus their contents'", ">=", 0.0)
CONVERGED = {m: Bound(f"fall of the {m} stylisation's loss over its last tenth of steps", "<=", 0.01)
             for m in ("standard", "robust")}
CLAIMS = (
    Claim("robust_layers_robust", f"{WHO}, layer robustness",
          "R(robust) <= R(standard) at every ReLU stage, and at most half of it at the representation layer.",
          "robust ResNet-50 layers ~0.05-0.07 vs standard ResNet-50 ~0.44-0.58", tests=(LAYERS, LAST)),
    Claim("robust_style_smoother", f"{WHO}, Adversarially Robust Neural Style Transfer",
          "Images stylised through the standard model have, on average, at least twice the high-frequency energy "
          "share of those stylised through the robust model.",
          "shown by eye: the standard ResNet's results carry high-frequency artefacts",
          tests=(SMOOTHER,), premises=(ARTEFACTS, *CONVERGED.values())),
)


def judge(res: dict, s: Settings) -> dict[str, Verdict]:
    std, rob = res["R"]["standard"], res["R"]["robust"]
    ratio = res["robust_over_standard"]
    hf = res["high_frequency_share"]
    loss = res.get("style_loss", {})
    return {
        "robust_layers_robust": Verdict(
            {LAYERS.name: ratio["largest"], LAST.name: ratio["last"]},
            f"last stage {rob[-1]:.3f} vs {std[-1]:.3f}",
            f"R at eps {res['eps']:g} on {res['images']} test images, stage by stage: standard "
            + " / ".join(f"{v:.3f}" for v in std) + ", robust " + " / ".join(f"{v:.3f}" for v in rob)),
        "robust_style_smoother": Verdict(
            {SMOOTHER.name: res["smoother"], ARTEFACTS.name: res["artefacts"],
             **{CONVERGED[m].name: (loss.get(m) or {}).get("last_tenth_fall") for m in CONVERGED}},
            f"{hf['standard']:.1%} vs {hf['robust']:.1%}",
            f"mean share of spectral energy at radius >= {res['high_cutoff']} over {res['crops']} crops of the "
            f"photograph: through standard {hf['standard']:.1%}, through robust {hf['robust']:.1%}; the crops "
            f"themselves {hf['content']:.1%}, style image {hf['style']:.1%}; "
            + "; ".join(f"{m} loss {v['final']:.3g}, fell {100 * v['last_tenth_fall']:.1f} % over the last tenth of "
                        "its steps" for m, v in loss.items())),
    }


def section(entry: dict) -> str:
    res = entry["results"]
    rows = [[f"stage {i + 1}", f"{a:.3f}", f"{b:.3f}"] for i, (a, b) in enumerate(zip(res["R"]["standard"],
                                                                                     res["R"]["robust"]))]
    hf = res["high_frequency_share"]
    return join([h3(f"Layer robustness R(f) at L2 eps {res['eps']:g} ({res['images']} test images)"),
                 table(["ReLU stage", "standard", "robust"], rows),
                 para("Published: " + "; ".join(f"{k.replace('_', ' ')} {lo:g}-{hi:g}" for k, (lo, hi) in
                                                NAKANO["layer_robustness"].items()) + " (ImageNet-scale eps)."),
                 h3(f"Style transfer through the first {res['conv_stages']} (convolutional) stages"),
                 img(res["picture"], "stylised images (the first of the crops)"),
                 table(["images", f"mean spectral energy at radius >= {res['high_cutoff']} (%)"],
                       [[f"{k} ({res['crops']} crops)" if k != "style" else k, f"{100 * v:.1f}"]
                        for k, v in hf.items()])])


def _tiny(preset) -> Settings:
    return Settings(images=50, steps=3, size=16, style_steps=5, high_cutoff=4)


EXPERIMENT = Experiment(
    reference={"nakano": NAKANO},
    name="style", title=f"{WHO}, 'Adversarially Robust Neural Style Transfer'",
    question="Are a robust model's layers robust in the sense that makes style transfer work, and does style "
             "transfer through it carry fewer high-frequency artefacts?",
    method="Measure R(f), the worst-case feature change in an L2 ball over the typical distance between images, at "
           "every ReLU stage of the standard and robust models; stylise a photograph through each model (Gatys et "
           "al.) and compare the high-frequency energy of the results.",
    settings={"quick": lambda preset: Settings(), "full": lambda preset: Settings(images=1000, style_steps=600),
              "cifar10": lambda preset: Settings(), "tiny": _tiny},
    run=run, claims=CLAIMS, judge=judge, section=section,
    cost={"quick": 5.0, "full": 20.0},
)
