"""The steps several experiments share, each built once per preset, dataset and seed.

An experiment asks the lab for "the standard model", "D_det", "the fresh model
on D_det", "an ensemble of k standard models"...; the lab asks the store,
which builds the artifact the first time and hands back the same folder to
every later caller (in this run or another that shares the cache). Keys are
the settings and the inputs' keys, so nothing is trained twice and changing
one setting rebuilds only what depends on it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from torch import nn

from ..checkpoint import MODEL_FILE, file_sha256, load_model, save_model
from ..data import ImageData, load_dataset
from ..evaluate import accuracy, evaluate
from ..grid import image_grid_png
from ..pipeline import Store
from ..sanity import sanity_checks
from ..stats import with_intervals
from ..steps import KINDS, build_dataset, model_and_data, save_dataset, spec_for_foreign, subset, train_model
from ..storage import atomic_write_bytes, load_tensors
from ..train import TrainConfig
from .presets import Preset

SOURCES = {"robust": "adv", "nonrobust": "std", "rand": "std", "det": "std"}  # the paper's source model per kind


def dataset_name(kind: str, source: str | None = None, start: str = "image", keep: bool = False) -> str:
    """d_r, d_nr, d_rand, d_det; variants say what differs (d_det_robust_source, d_r_noise, d_det_non_transferable)."""
    name = KINDS[kind]
    if source and source != SOURCES[kind]:
        name += "_robust_source" if source == "adv" else f"_{source}_source"
    return name + ("_noise" if start == "noise" else "") + ("_non_transferable" if keep else "")


class Lab:
    def __init__(self, preset: Preset, store: Store, *, progress: bool = False):
        self.preset, self.store, self.progress = preset, store, progress
        self.seed, self.device = preset.std.seed, preset.device
        self._data: dict[str, ImageData] = {}
        self._models: dict[Path, nn.Module] = {}

    # data and models ---------------------------------------------------------------------------------
    def load_data(self, name: str) -> ImageData:
        if name not in self._data:
            self._data[name] = load_dataset(name)
        return self._data[name]

    @property
    def data(self) -> ImageData:
        return self.load_data(self.preset.dataset)

    def model(self, folder: Path) -> nn.Module:
        """A trained model, loaded once (eval mode, on the CPU)."""
        if folder not in self._models:
            self._models[folder] = load_model(folder)[0]
        return self._models[folder]

    def samples(self) -> Path:
        """A grid of D's training images (the report shows it beside the built datasets')."""
        d = self.data
        x, y = subset(d.train_x, d.train_y, 16, self.seed)
        return self.picture("samples of D", {"dataset": d.name, "seed": self.seed},
                            lambda: image_grid_png(x, [d.classes[int(v)] for v in y], "D (source images)"))

    def constructed(self, folder: Path, name: str) -> ImageData:
        """A built dataset as training data, with the original test split."""
        t = load_tensors(folder / "data.safetensors")
        d = self.data
        return ImageData(f"{d.name}:{name}", t["x"], t["y"], d.test_x, d.test_y, d.classes, hflip=d.hflip,
                         source=str(folder))

    # training ----------------------------------------------------------------------------------------
    def train(self, label: str, cfg: TrainConfig, *, data: ImageData | None = None, source: dict | None = None,
              arch: str | None = None, limit: int | None = None, arch_options: dict | None = None,
              test_dataset: str | None = None) -> Path:
        """A model trained on ``data`` (default D), cached under its settings and ``source`` (what the data is);
        the preset's architecture and width unless ``arch`` (and its ``arch_options``) say otherwise."""
        data = data or self.data
        if arch is None:
            arch, arch_options = self.preset.arch, self.preset.arch_options
        cfg = replace(cfg, device=self.device)  # the preset's device (or --device) decides, for every model
        config = {"source": source or {"dataset": data.name, "seed": self.seed}, "arch": arch,
                  "train": cfg.to_dict(), "limit": limit}
        if arch_options:
            config["arch_options"] = arch_options

        def make(folder: Path):
            info = train_model(data, arch, cfg, folder, train_limit=limit, arch_options=arch_options,
                               test_dataset=test_dataset or self.preset.dataset, progress=self.progress)
            return {"test_clean_accuracy": info["metrics"]["test_clean_accuracy"]}

        return self.store.get("model", config, make, label)[0]

    def std(self) -> Path:
        """The standard model on D (or the one the user gave)."""
        if "std" in self.preset.given:
            return self.imported("std")
        return self.train("train std", self.preset.std, limit=self.preset.std_limit)

    def robust(self) -> Path:
        """The adversarially trained (robust) model on D (or the one the user gave)."""
        if "adv" in self.preset.given:
            return self.imported("adv")
        return self.train("train adv", self.preset.adv, limit=self.preset.adv_limit)

    def imported(self, role: str) -> Path:
        """A model the user brought, as a run folder in the store, keyed by its file's sha256: everything
        built from it is cached like the rest, and a changed file is a new model."""
        path = Path(self.preset.given[role])
        weights = path / MODEL_FILE if path.is_dir() else path
        spec = None if path.is_dir() else spec_for_foreign(self.preset.given_arch, self.data)
        config = {"imported": file_sha256(weights), "spec": spec, "role": role}

        def make(folder: Path):
            model, info, data = model_and_data(path, self.data.name, arch=self.preset.given_arch)
            acc = accuracy(model, data.test_x, data.test_y, device=self.device)
            save_model(folder, model, info["spec"], {"imported_from": str(path)}, dataset=data.name,
                       test_dataset=data.name, metrics={"test_clean_accuracy": acc},
                       **{k: info[k] for k in ("epoch", "format") if k in info})
            return {"test_clean_accuracy": acc}

        return self.store.get("model", config, make, f"import {role} model {path.name}")[0]

    def gaussian(self, std: float, *, limit: int | None = None) -> Path:
        """The standard model's recipe with Gaussian noise augmentation of this std (Yin et al.'s comparison),
        on the standard model's training images or the first ``limit``."""
        return self.train(f"train gaussian-augmented (std {std:g})", replace(self.preset.std, noise_std=std),
                          limit=limit or self.preset.std_limit)

    def picture(self, label: str, config: dict, make) -> Path:
        """A PNG an experiment draws from its data (sample images, stylised images), kept in the store."""
        folder, _ = self.store.get("picture", config, lambda f: atomic_write_bytes(f / "picture.png", make()), label)
        return folder / "picture.png"

    def ensemble(self, k: int, *, limit: int | None = None, epochs: int | None = None) -> list[Path]:
        """k more standard models, independent of ``std()`` and of each other (other seeds); by default with the
        standard model's recipe, or on ``limit`` images for ``epochs`` (asking for fewer gives a prefix)."""
        cfg = replace(self.preset.std, epochs=epochs or self.preset.std.epochs)
        limit = limit if limit is not None else self.preset.std_limit
        return [self.train(f"train std #{i + 1}", replace(cfg, seed=self.seed + 1000 * (i + 1)),
                           source={"dataset": self.data.name, "seed": self.seed + 1000 * (i + 1)}, limit=limit)
                for i in range(k)]

    # the paper's datasets ------------------------------------------------------------------------------
    def dataset(self, kind: str, *, source: str | None = None, start: str = "image", limit: int | None = None,
                keep: list[Path] | None = None) -> tuple[Path, dict]:
        """D_R / D_NR / D_rand / D_det from a prefix of one fixed shuffle of D; (folder, summary).

        ``source`` ("std" or "adv") overrides the paper's source model; ``start``
        "noise" starts inversion from noise; ``limit`` overrides the preset's size;
        ``keep`` (models) makes the relabelling attack non-transferable to them (Nakkiran).
        """
        p = self.preset
        source = source or SOURCES[kind]
        name = dataset_name(kind, source, start, bool(keep))
        std_dir, adv_dir = self.std(), self.robust()
        source_dir = adv_dir if source == "adv" else std_dir
        cfg = {"robust": p.inversion, "nonrobust": p.inversion, "rand": p.rand, "det": p.det}[kind]
        if start != "image":
            cfg = replace(cfg, start=start)
        if limit is None:
            limit = p.kind_limits.get(kind, p.construct_limit)
        base = {"dataset": self.data.name, "seed": self.seed}
        config = {"builder": kind, "source_model": source_dir.name, "robust_model": adv_dir.name,
                  "data": base, "limit": limit, "settings": cfg.to_dict()}
        if keep:
            config["keep"] = [k.name for k in keep]
        x, y = subset(self.data.train_x, self.data.train_y, limit, self.seed)

        def make(folder: Path, work: Path):
            tensors, stats = build_dataset(kind, self.model(source_dir), x, y, self.data.num_classes, cfg,
                                           robust_model=self.model(adv_dir), device=self.device,
                                           progress=self.progress, work=work,
                                           keep=[self.model(k).to(self.device) for k in keep or []])
            save_dataset(folder, tensors, stats, self.data.classes, kind, config)
            return {**stats, "size": len(x)}

        folder, info = self.store.get("dataset", config, make, f"construct {name}", resumable=True)
        return folder, info["summary"]

    def fresh(self, kind: str, folder: Path, name: str) -> Path:
        """Plain standard training on a built dataset (the paper's D_det recipe, no augmentation, for rand/det)."""
        cfg = self.preset.fresh_det if kind == "det" else self.preset.fresh
        return self.train(f"train {name}", cfg, data=self.constructed(folder, name),
                          source={"constructed": folder.name, "seed": self.seed})

    def fresh_prefix(self, kind: str, n: int | None, *, arch: str | None = None, arch_options: dict | None = None,
                     epochs: int | None = None, folder: Path | None = None, name: str | None = None) -> Path:
        """A fresh model on the first n images of a built dataset (default: the paper's ``kind`` dataset; another
        built ``folder`` of that kind is called ``name``), with the paper's recipe for that kind; experiments
        that ask the same get the same model."""
        folder = folder or self.dataset(kind)[0]
        built = self.constructed(folder, f"{name or KINDS[kind]}[:{n}]")
        if n is not None:
            built = replace(built, train_x=built.train_x[:n], train_y=built.train_y[:n])
        cfg = self.preset.fresh_det if kind == "det" else self.preset.fresh
        return self.train(f"train {arch or self.preset.arch} on {built.name.split(':', 1)[1]}",
                          replace(cfg, epochs=epochs or cfg.epochs), data=built, arch=arch, arch_options=arch_options,
                          source={"constructed": folder.name, "limit": n, "seed": self.seed})

    def paper_model(self, name: str) -> Path:
        """A model of the paper experiment by its results name: std, adv, d_r, d_nr, d_rand or d_det."""
        if name == "std":
            return self.std()
        if name == "adv":
            return self.robust()
        kind = {v: k for k, v in KINDS.items()}[name]
        return self.fresh(kind, self.dataset(kind)[0], name)

    # evaluation ----------------------------------------------------------------------------------------
    def evaluation(self, name: str, model_dir: Path) -> dict:
        """Clean accuracy (all test images) and robust accuracy at the preset's eps, each with the attack checks."""
        p, dev = self.preset, self.device
        config = {"model": model_dir.name, "norm": "l2", "eps": p.eval_eps, "steps": p.eval_steps,
                  "limit": p.eval_limit, "batch_size": p.eval_batch_size, "seed": self.seed,
                  "sanity": [p.sanity_limit, p.sanity_steps_factor, p.sanity_restarts]}
        std_dir = self.std()

        def make(folder: Path):
            model = self.model(model_dir).to(dev)
            data = self.data
            x, y = subset(data.test_x, data.test_y, p.eval_limit, self.seed)
            res = evaluate(model, x, y, norm="l2", eps_list=p.eval_eps, steps=p.eval_steps, seed=self.seed,
                           device=dev, progress=self.progress, batch_size=p.eval_batch_size)
            res["clean_accuracy"] = accuracy(model, data.test_x, data.test_y, device=dev)  # all test images
            # every reported number gets the attack checks; the standard model is the transfer surrogate
            xs, ys = x[:p.sanity_limit], y[:p.sanity_limit]
            surrogate = None if model_dir == std_dir else self.model(std_dir)
            res["sanity"] = {f"{eps:g}": sanity_checks(
                model, xs, ys, norm="l2", eps=eps, steps=p.eval_steps, step_factor=p.sanity_steps_factor,
                restarts=p.sanity_restarts, surrogate=surrogate, seed=self.seed,
                unbounded=eps == p.main_eval_eps, device=dev) for eps in p.eval_eps}
            return res

        return self.store.get("eval", config, make, f"evaluate {name}")[1]["summary"]

    @property
    def eval_images(self) -> int:
        """How many test images the robust accuracies are measured on (clean accuracy uses all of them)."""
        return min(self.preset.eval_limit or len(self.data.test_x), len(self.data.test_x))

    def scores(self, ev: dict) -> dict:
        """An evaluation's accuracies with their 95 % Wilson intervals, and the attack checks' flags per eps."""
        out = {"clean_accuracy": ev["clean_accuracy"], "robust_accuracy": ev["robust_accuracy"],
               "sanity_flags": {eps: rep["flags"] for eps, rep in ev["sanity"].items()}}
        with_intervals(out, len(self.data.test_x), "clean_accuracy")
        return with_intervals(out, self.eval_images, "robust_accuracy")

    def measure(self, label: str, config: dict, make: Callable[[], dict]) -> dict:
        """Any experiment-specific computation worth caching: a dict of numbers under ``config``."""
        return self.store.get("measure", config, lambda folder: make(), label)[1]["summary"]
