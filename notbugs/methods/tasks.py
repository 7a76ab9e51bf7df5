"""The steps the CLI and the pipeline share: train, evaluate, construct a dataset.

Each takes plain arguments and returns a dict of results; the CLI only parses
and prints, and the pipeline only caches.
"""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..core.errors import NotbugsError, NotbugsWarning
from ..core.seeding import seed_everything
from ..core.storage import manifest, save_tensors, write_json
from ..core.values import ByNumber
from ..data import ImageData, load_dataset, subset
from ..evaluation.evaluate import accuracy, evaluate
from ..evaluation.sanity import sanity_checks
from ..models import build_model, check_fits, model_spec, wrap
from ..models.checkpoint import load_model, read_manifest, save_model
from ..present.grid import save_grid
from ..store.sharding import rank, work_folder
from .construct import InversionConfig, RelabelConfig, feature_dataset, leakage, relabelled_dataset
from .train import TrainConfig, train


def train_model(data: ImageData, arch: str, cfg: TrainConfig, out: Path, *, train_limit: int | None = None,
                arch_options: dict | None = None, test_dataset: str | None = None,
                progress: bool = True) -> dict | None:
    """Train ``arch`` on ``data`` and save a run folder at ``out``; return its manifest.

    ``test_dataset`` names the dataset whose test split ``data`` carries (for a
    constructed training set, the original one), so ``notbugs eval`` finds it.
    """
    spec = model_spec(arch, data.image_shape, data.num_classes, data.mean, data.std, **(arch_options or {}))
    check_fits(spec)
    seed_everything(cfg.seed)
    model = build_model(spec)
    x, y = subset(data.train_x, data.train_y, train_limit, cfg.seed)
    start = time.perf_counter()
    history = train(model, x, y, cfg, hflip_ok=data.hflip, progress=progress, desc=f"train {arch}")
    seconds = time.perf_counter() - start
    if rank() != 0:  # under torchrun the first process evaluates and saves
        return None
    metrics = {"test_clean_accuracy": accuracy(model, data.test_x, data.test_y),
               "train_seconds": seconds, "train_images_per_second": len(x) * cfg.epochs / max(seconds, 1e-9)}
    return save_model(out, model.cpu(), spec, cfg.to_dict(), dataset=data.name, test_dataset=test_dataset or data.name,
                      train_size=len(x), history=history, metrics=metrics)


def spec_for_foreign(arch: str | None, dataset: ImageData) -> dict | None:
    return model_spec(arch, dataset.image_shape, dataset.num_classes, dataset.mean, dataset.std) if arch else None


def model_and_data(model_path: Path, dataset: str | None, *, arch: str | None = None,
                   features_layer: str | None = None, split: str = "dataset") -> tuple[nn.Module, dict, ImageData]:
    """A model named on the command line and the dataset it goes with: a run folder (its manifest names the
    dataset, ``split`` says which), or a .pt state dict or robustness checkpoint of ``arch`` with ``dataset``;
    ``features_layer`` takes the representation at that submodule instead of the architecture's own."""
    model_path = _existing(model_path)
    if dataset is None:
        if not model_path.is_dir():
            raise NotbugsError("--dataset is needed for a bare state dict or checkpoint")
        manifest_info = read_manifest(model_path)
        dataset = manifest_info.get(split) or manifest_info.get("dataset")
        if dataset is None:
            raise NotbugsError(f"{model_path}'s manifest names no dataset; pass --dataset")
    data = load_dataset(dataset)
    model, info = model_for(model_path, data, arch=arch, features_layer=features_layer)
    return model, info, data


def model_for(model_path: Path, data: ImageData, *, arch: str | None = None,
              features_layer: str | None = None) -> tuple[nn.Module, dict]:
    """A model from a run folder, or a .pt state dict or robustness checkpoint of ``arch``, checked to take
    ``data``'s images and classes (a second model beside the first, e.g. construct's robust model)."""
    model, info = load_model(_existing(model_path), spec_for_foreign(arch, data))
    spec = info["spec"]
    if list(spec["image_shape"]) != list(data.image_shape) or spec["num_classes"] != data.num_classes:
        raise NotbugsError(f"{model_path} takes {tuple(spec['image_shape'])} images and {spec['num_classes']} "
                           f"classes, but {data.name} has {data.image_shape} and {data.num_classes}; pick the "
                           "dataset it was trained on")
    if features_layer:
        model = wrap(model, features_layer)
    return model, info


def _existing(model_path: Path) -> Path:
    model_path = Path(model_path)
    if not model_path.exists():
        raise NotbugsError(f"{model_path} does not exist; give a run folder made by 'notbugs train', a .pt state "
                           "dict or a robustness checkpoint (with --arch)")
    return model_path


def evaluate_model(model_path: Path, dataset: str | None, *, norm: str, eps_list: list[float], steps: int,
                   arch: str | None = None, limit: int | None = None, seed: int = 0, device: str = "cpu",
                   progress: bool = True, sanity: bool = False, autoattack: bool = False,
                   surrogate: Path | None = None) -> dict:
    """Clean and robust accuracy of a saved model on a dataset's test split.

    ``sanity`` adds the attack checks of ``notbugs.evaluation.sanity`` at each eps (with
    ``surrogate``, a transfer attack from that model); ``autoattack`` adds
    AutoAttack's robust accuracy and the accuracy after each of its attacks.
    """
    from ..evaluation.autoattack import autoattack as run_autoattack

    if any(e < 0 for e in eps_list):
        raise NotbugsError(f"eps must be >= 0, got {eps_list}")
    model, info, data = model_and_data(model_path, dataset, arch=arch, split="test_dataset")
    model = model.to(device)
    x, y = subset(data.test_x, data.test_y, limit, seed)
    result = evaluate(model, x, y, norm=norm, eps_list=eps_list, steps=steps, seed=seed, progress=progress)
    if autoattack:
        result["autoattack"] = ByNumber()
        for eps in (e for e in eps_list if e > 0):  # at eps 0 nothing moves: robust accuracy is the clean one
            start = time.perf_counter()
            aa = run_autoattack(model, x, y, norm=norm, eps=eps, seed=seed)
            result["autoattack"][eps] = {"robust_accuracy": aa["robust_accuracy"], "after": aa["after"],
                                         "seconds": time.perf_counter() - start}
    if sanity:
        other = model_for(surrogate, data, arch=arch)[0].to(device) if surrogate else None
        result["sanity"] = ByNumber({eps: sanity_checks(model, x, y, norm=norm, eps=eps, steps=steps, surrogate=other,
                                                        seed=seed) for eps in eps_list if eps > 0})
    return {"model": str(model_path), "dataset": data.name, **result}


LOW_SUCCESS = 0.5  # a relabelling attack that fools the source on fewer images than this is said

KINDS = {"robust": "d_r", "nonrobust": "d_nr", "rand": "d_rand", "det": "d_det"}
TITLES = {"d_r": "D_R (robust features)", "d_nr": "D_NR (non-robust features)",
          "d_rand": "D_rand (random wrong labels)", "d_det": "D_det (labels y+1)"}


def build_dataset(kind: str, model, x: torch.Tensor, y: torch.Tensor, num_classes: int, cfg, *,
                  progress: bool = True, work: Path | None = None, keep: list | None = None) -> tuple[dict,
                                                                                                      dict] | None:
    """One of the paper's datasets from images (x, y) and a model on the device to compute on: (tensors to save,
    summary stats).

    ``work`` keeps finished batches for a resume or for several processes;
    under torchrun only rank 0 gets the result (the others get None).
    """
    if kind in ("robust", "nonrobust"):
        res = feature_dataset(model, x, y, cfg, progress=progress, desc=KINDS[kind], work=work)
    else:
        res = relabelled_dataset(model, x, y, num_classes, cfg, progress=progress, desc=KINDS[kind], work=work,
                                 keep=keep)
    if res is None:
        return None
    return {"x": res["x"], "y": res["y"], "original_y": y}, dict(res["stats"])


def save_dataset(folder: Path, tensors: dict, stats: dict, classes: list[str], kind: str, config: dict) -> dict:
    """data.safetensors, samples.png, then manifest.json (written last: its presence means complete)."""
    folder = Path(folder)
    save_tensors(folder / "data.safetensors", tensors)
    save_grid(folder / "samples.png", tensors["x"], tensors["y"], classes, TITLES[KINDS[kind]])
    info = manifest("dataset", config, builder=kind, stats=stats, classes=classes)
    write_json(folder / "manifest.json", info)
    return info


def construct_dataset(kind: str, model_path: Path, dataset: str | None, out: Path, *, robust_model: Path | None = None,
                      limit: int | None = None, steps: int | None = None, step_size: float | None = None,
                      norm: str = "l2", eps: float | None = None, default_eps: Callable[[str, str],
                                                                                        float | None] = None,
                      noise_std: float = 0.0, noise_samples: int = 1, start: str = "image", seed: int = 0,
                      device: str = "cpu", progress: bool = True, arch: str | None = None,
                      features_layer: str | None = None, robust_arch: str | None = None,
                      into: Path | None = None) -> dict:
    """The CLI's ``construct``: build one dataset from a saved model and save it in ``into`` (default ``out``,
    whose name keys the resumable work folder); ``robust_model`` (a run folder, or a file of ``robust_arch``,
    default ``arch``) is the leakage check's robust model. Without ``eps``, a relabelling takes
    ``default_eps(dataset, norm)``."""
    if kind not in KINDS:
        raise NotbugsError(f"unknown dataset kind '{kind}'; use one of {', '.join(KINDS)}")
    if steps is not None and steps < 1:
        raise NotbugsError(f"--steps must be at least 1, got {steps}")
    if noise_samples < 1:
        raise NotbugsError(f"--noise-samples must be at least 1, got {noise_samples}")
    model, info, data = model_and_data(model_path, dataset, arch=arch, features_layer=features_layer)
    model = model.to(device)
    x, y = subset(data.train_x, data.train_y, limit, seed)
    if kind in ("robust", "nonrobust"):
        cfg = InversionConfig(steps=1000 if steps is None else steps, step_size=step_size or 0.1, start=start,
                              seed=seed)
    else:
        if eps is None:
            eps = default_eps(data.name, norm) if default_eps else None
            if eps is None:
                raise NotbugsError(f"no default {norm} eps for {data.name}: give --eps (the robust model's training "
                                   "eps, as in the paper)")
        cfg = RelabelConfig(mode=kind, eps=eps, steps=100 if steps is None else steps, step_size=step_size,
                            norm=norm, noise_std=noise_std, noise_samples=noise_samples, seed=seed)
    robust = model_for(robust_model, data, arch=robust_arch or arch)[0].to(device) if robust_model else None
    config = {"settings": cfg.to_dict(), "dataset": data.name, "limit": limit,
              "source_model_sha256": info.get("sha256"), "source_model": str(model_path),
              **({"features_layer": features_layer} if features_layer else {})}
    out = Path(out)
    work = work_folder(out.parent / f".{out.name}.work", {"kind": kind, **config})
    built = build_dataset(kind, model, x, y, data.num_classes, cfg, progress=progress, work=work)
    if built is None:  # another rank merges and saves
        return None
    tensors, stats = built
    if kind in ("rand", "det") and stats["attack_success"] < LOW_SUCCESS:
        warnings.warn(f"the targeted attack succeeded on only {stats['attack_success']:.0%} of the images: the "
                      f"dataset carries few features of its new labels; raise --eps (now {cfg.eps:g}) or --steps",
                      NotbugsWarning, stacklevel=2)
    if robust is not None and kind in ("rand", "det"):
        stats.update(leakage(robust, tensors["x"], x, y))
    info = save_dataset(into or out, tensors, stats, data.classes, kind, config)
    shutil.rmtree(work)
    return info
