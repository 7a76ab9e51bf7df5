"""The steps the CLI and the pipeline share: train a model on a dataset, evaluate a model.

Each takes plain arguments and returns a dict of results; the CLI only parses
and prints, and the pipeline only caches.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .checkpoint import load_model, read_manifest, save_model
from .data import ImageData, load_dataset
from .errors import NotbugsError
from .evaluate import accuracy, evaluate
from .models import build_model, model_spec
from .seeding import seed_everything
from .train import TrainConfig, train


def subset(x: torch.Tensor, y: torch.Tensor, limit: int | None, seed: int = 0):
    """The first ``limit`` examples of a fixed shuffle (all of them when limit is None)."""
    if limit is None or limit >= len(x):
        return x, y
    if limit < 1:
        raise NotbugsError(f"a limit must be >= 1, got {limit}")
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:limit]
    return x[idx], y[idx]


def train_model(data: ImageData, arch: str, cfg: TrainConfig, out: Path, *, train_limit: int | None = None,
                arch_options: dict | None = None, progress: bool = True) -> dict:
    """Train ``arch`` on ``data`` and save a run folder at ``out``; return its manifest."""
    spec = model_spec(arch, data.image_shape, data.num_classes, data.mean, data.std, **(arch_options or {}))
    seed_everything(cfg.seed)
    model = build_model(spec)
    x, y = subset(data.train_x, data.train_y, train_limit, cfg.seed)
    start = time.perf_counter()
    history = train(model, x, y, cfg, hflip_ok=data.hflip, progress=progress, desc=f"train {arch}")
    seconds = time.perf_counter() - start
    metrics = {"test_clean_accuracy": accuracy(model, data.test_x, data.test_y, device=cfg.device),
               "train_seconds": seconds, "train_images_per_second": len(x) * cfg.epochs / max(seconds, 1e-9)}
    return save_model(out, model.cpu(), spec, cfg.to_dict(), dataset=data.name, train_size=len(x),
                      history=history, metrics=metrics)


def spec_for_foreign(arch: str | None, dataset: ImageData) -> dict | None:
    return model_spec(arch, dataset.image_shape, dataset.num_classes, dataset.mean, dataset.std) if arch else None


def evaluate_model(model_path: Path, dataset: str | None, *, norm: str, eps_list: list[float], steps: int,
                   arch: str | None = None, limit: int | None = None, seed: int = 0, device: str = "cpu",
                   progress: bool = True) -> dict:
    """Clean and robust accuracy of a saved model on a dataset's test split."""
    if any(e < 0 for e in eps_list):
        raise NotbugsError(f"eps must be >= 0, got {eps_list}")
    model_path = Path(model_path)
    if not model_path.exists():
        raise NotbugsError(f"{model_path} does not exist; give a run folder made by 'notbugs train' or a .pt state dict")
    if dataset is None:
        if not model_path.is_dir():
            raise NotbugsError("--dataset is needed for a bare state dict")
        dataset = read_manifest(model_path).get("dataset")
        if dataset is None:
            raise NotbugsError(f"{model_path}'s manifest names no dataset; pass --dataset")
    data = load_dataset(dataset)
    model, info = load_model(model_path, spec_for_foreign(arch, data))
    spec = info["spec"]
    if list(spec["image_shape"]) != list(data.image_shape) or spec["num_classes"] != data.num_classes:
        raise NotbugsError(f"the model takes {tuple(spec['image_shape'])} images and {spec['num_classes']} classes, "
                           f"but {data.name} has {data.image_shape} and {data.num_classes}; pick the dataset it was trained on")
    x, y = subset(data.test_x, data.test_y, limit, seed)
    result = evaluate(model.to(device), x, y, norm=norm, eps_list=eps_list, steps=steps, seed=seed, device=device,
                      progress=progress)
    return {"model": str(model_path), "dataset": data.name, **result}
