"""The steps several experiments share, each built once per preset, dataset and seed.

An experiment asks the lab for "the standard model", "D_det", "the fresh model
on D_det", "an ensemble of k standard models"...; the lab asks the store,
which builds the artifact the first time and hands back the same one to every
later caller (in this run or another that shares the cache). Each step
declares its parameters and its inputs (the data by its content, other steps
by their keys), so nothing is trained twice and changing one setting rebuilds
exactly what depends on it.

Models are loaded once per (artifact, device) and never moved: every helper
takes its device from the model, so no experiment can move a model another
one holds.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..core.errors import NotbugsError, NotbugsWarning
from ..core.inputs import check_logits
from ..core.storage import atomic_write_bytes, load_tensors
from ..data import ImageData, load_dataset, subset, subset_index
from ..data.content import files_content
from ..evaluation.evaluate import accuracy, evaluate
from ..evaluation.sanity import sanity_checks
from ..methods.construct import leakage
from ..methods.tasks import KINDS, build_dataset, model_and_data, save_dataset, spec_for_foreign, train_model
from ..methods.train import TrainConfig
from ..models.checkpoint import MODEL_FILE, load_model, read_manifest, save_model
from ..present.grid import image_grid_png
from ..store.pipeline import Artifact, Build, Store
from ..store.versions import all_versions, code_key
from .presets import Preset

SOURCES = {"robust": "adv", "nonrobust": "std", "rand": "std", "det": "std"}  # the paper's source model per kind


def dataset_name(kind: str, source: str | None = None, start: str = "image", keep: bool = False,
                 eps: float | None = None) -> str:
    """d_r, d_nr, d_rand, d_det; variants say what differs (d_det_robust_source, d_r_noise, d_det_non_transferable,
    d_det_eps3)."""
    name = KINDS[kind]
    if source and source != SOURCES[kind]:
        name += "_robust_source" if source == "adv" else f"_{source}_source"
    name += f"_eps{eps:g}" if eps is not None else ""
    return name + ("_noise" if start == "noise" else "") + ("_non_transferable" if keep else "")


def _grid_drawing(x: torch.Tensor, labels: list[str], title: str) -> Callable[[Build], bytes]:
    """A picture's drawing: the images in a grid (a function of its own, so its code keys the picture)."""
    def draw(b: Build) -> bytes:
        return image_grid_png(x, labels, title)
    return draw


class Lab:
    def __init__(self, preset: Preset, store: Store, *, precision: str = "fp32", progress: bool = False,
                 modules: dict[str, nn.Module] | None = None):
        """``precision``: the resolved precision its experiments compute in (``core.precision.resolve``; the
        store keys its steps by the same value). ``modules``: in-memory models the user gives as the standard
        ('std') or robust ('adv') model."""
        self.preset, self.store, self.progress, self.precision = preset, store, progress, precision
        self.modules = dict(modules or {})
        self._memory: dict[str, nn.Module] = {}  # artifact key -> the in-memory model it stands for
        self.seed, self.device = preset.std.seed, preset.device
        self._data: dict[str, ImageData] = {}
        self._models: dict[tuple[str, str], nn.Module] = {}
        self.pictures: Path | None = None  # where the experiment being run keeps the pictures its results name
        self.experiment: str | None = None  # the experiment being run (its measurements belong to it)

    # data and models ---------------------------------------------------------------------------------
    def load_data(self, name: str) -> ImageData:
        if name not in self._data:
            self._data[name] = load_dataset(name)
        return self._data[name]

    @property
    def data(self) -> ImageData:
        return self.load_data(self.preset.dataset)

    def model(self, artifact: Artifact) -> nn.Module:
        """A trained model in eval mode on the lab's device: one object per (artifact, device), shared by every
        caller and never moved (helpers take their device from it)."""
        path = self.store.open(artifact)
        if artifact.key in self._memory:
            return self._memory[artifact.key]
        slot = (artifact.key, str(self.device))
        if slot not in self._models:
            self._models[slot] = load_model(path)[0].to(self.device).eval()
        return self._models[slot]

    def constructed(self, artifact: Artifact, name: str) -> ImageData:
        """A built dataset as training data, with the original test split."""
        t = load_tensors(self.store.open(artifact) / "data.safetensors")
        d = self.data
        return ImageData(f"{d.name}:{name}", t["x"], t["y"], d.test_x, d.test_y, d.classes, hflip=d.hflip,
                         source=artifact.ref, content=f"built {artifact.key}, tested on {d.key}",
                         lineage=d.lineage | artifact.lineage)

    def exhibit(self, path: Path) -> str:
        """A picture the results name: copied beside the experiment's results, named by its content; the
        reference is relative to the run folder (which gets a copy), so a moved run folder keeps its images."""
        data = Path(path).read_bytes()
        name = f"{hashlib.sha256(data).hexdigest()[:16]}.png"
        if self.pictures is not None:
            self.pictures.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.pictures / name, data)
        return f"pictures/{name}"

    def samples(self) -> str:
        """A grid of D's training images (the report shows it beside the built datasets')."""
        d = self.data
        x, y = subset(d.train_x, d.train_y, 16, self.seed)
        return self.exhibit(self.picture("samples of D", {"seed": self.seed}, {"data": d},
                                         _grid_drawing(x, [d.classes[int(v)] for v in y], "D (source images)")))

    def picture(self, label: str, params: dict, inputs: dict, draw: Callable[[Build], bytes]) -> Path:
        """A PNG drawn from what ``inputs`` and ``params`` say, kept in the store; its path. Keyed also by the
        code ``draw`` sits in (``code_key``: the code reach cannot see, a drawing passed in as a function), so
        editing how a picture is drawn redraws it."""
        version = {"picture": all_versions()["picture"], "draw": code_key(draw)}
        art = self.store.get("picture", params, lambda b: atomic_write_bytes(b.folder / "picture.png", draw(b)),
                             inputs=inputs, label=label, version=version)
        return art.file("picture.png")

    # training ----------------------------------------------------------------------------------------
    def train(self, label: str, cfg: TrainConfig, *, data: ImageData | None = None, arch: str | None = None,
              limit: int | None = None, arch_options: dict | None = None,
              test_dataset: str | None = None) -> Artifact:
        """A model trained on ``data`` (default D; its first ``limit`` images of a fixed shuffle); the preset's
        architecture and width unless ``arch`` (and its ``arch_options``) say otherwise."""
        data = data or self.data
        if arch is None:
            arch, arch_options = self.preset.arch, self.preset.arch_options
        cfg = replace(cfg, device=self.device)  # the preset's device (or --device) decides, for every model
        test_dataset = test_dataset or self.preset.dataset
        params = {"arch": arch, "arch_options": arch_options or {}, "train": cfg.key(), "limit": limit,
                  "test_dataset": test_dataset}

        def make(b: Build):
            info = train_model(b.inputs["data"], arch, cfg, b.folder, train_limit=limit, arch_options=arch_options,
                               test_dataset=test_dataset, progress=self.progress)
            return {"test_clean_accuracy": info["metrics"]["test_clean_accuracy"],
                    "train_accuracy": info["history"][-1]["train_accuracy"] if info["history"] else None}

        return self.store.get("model", params, make, inputs={"data": data}, label=label)

    def std(self) -> Artifact:
        """The standard model on D (or the one the user gave)."""
        return self._given_or_trained("std", self.preset.std, self.preset.std_limit)

    def robust(self) -> Artifact:
        """The adversarially trained (robust) model on D (or the one the user gave)."""
        return self._given_or_trained("adv", self.preset.adv, self.preset.adv_limit)

    def _given_or_trained(self, role: str, cfg: TrainConfig, limit: int | None) -> Artifact:
        """The user's model for ``role`` (an in-memory module, else a file), or one trained by the preset's recipe."""
        if role in self.modules:
            return self.in_memory(role)
        if role in self.preset.given:
            return self.imported(role)
        return self.train(f"train {role}", cfg, limit=limit)

    def imported(self, role: str) -> Artifact:
        """A model the user brought, as a run folder in the store, keyed by its files' content: everything built
        from it is cached like the rest, and a changed file is a new model."""
        path = Path(self.preset.given[role])
        files = {"model": path / MODEL_FILE, "manifest": path / "manifest.json"} if path.is_dir() else {"model": path}
        spec = None if path.is_dir() else spec_for_foreign(self.preset.given_arch, self.data)
        params = {"weights": files_content(files), "spec": spec, "role": role}

        def make(b: Build):
            model, info, data = model_and_data(path, self.data.name, arch=self.preset.given_arch)
            acc = accuracy(model, data.test_x, data.test_y)
            save_model(b.folder, model, info["spec"], {"imported_from": str(path)}, dataset=data.name,
                       test_dataset=data.name, metrics={"test_clean_accuracy": acc},
                       **{k: info[k] for k in ("epoch", "format") if k in info})
            return {"test_clean_accuracy": acc}

        return self.store.get("model", params, make, inputs={"data": self.data}, label=f"import {role} model "
                                                                                       f"{path.name}",
                              version=f"import {all_versions()['import']}")

    def in_memory(self, role: str) -> Artifact:
        """A model the user handed over as a module: keyed by its class and the bytes of its weights and buffers,
        so that what is built from it is cached, and an edited module is a new model. The store keeps its test
        accuracy, not its weights: a later process finds the module only if it is given again."""
        module = self.modules[role]
        if not isinstance(module, nn.Module):
            raise NotbugsError(f"the {role} model must be a torch.nn.Module (wrap your own with notbugs.wrap), got "
                               f"{type(module).__name__}")
        module = module.to(self.device).eval()
        data = self.data
        with torch.no_grad():
            logits = check_logits(module(data.test_x[:1].to(self.device)), module)
        if logits.shape[1] != data.num_classes:
            raise NotbugsError(f"the {role} model gives {logits.shape[1]} logits; {data.name} has {data.num_classes} "
                               "classes")
        digest = hashlib.sha256()
        for name, t in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        params = {"weights": digest.hexdigest(), "type": f"{type(module).__module__}.{type(module).__qualname__}",
                  "role": role}

        def make(b: Build):
            acc = accuracy(module, data.test_x, data.test_y)
            return {"test_clean_accuracy": acc, "in_memory": params["type"]}

        art = self.store.get("model", params, make, inputs={"data": data}, label=f"in-memory {role} model",
                             version=f"import {all_versions()['import']}")
        self._memory[art.key] = module
        return art

    def gaussian(self, std: float, *, limit: int | None = None) -> Artifact:
        """The standard model's recipe with Gaussian noise augmentation of this std (Yin et al.'s comparison),
        on the standard model's training images or the first ``limit``."""
        return self.train(f"train gaussian-augmented (std {std:g})", replace(self.preset.std, noise_std=std),
                          limit=limit or self.preset.std_limit)

    def ensemble(self, k: int, *, limit: int | None = None, epochs: int | None = None) -> list[Artifact]:
        """k more standard models, independent of ``std()`` and of each other (other seeds); by default with the
        standard model's recipe, or on ``limit`` images for ``epochs`` (asking for fewer gives a prefix)."""
        cfg = replace(self.preset.std, epochs=epochs or self.preset.std.epochs)
        limit = limit if limit is not None else self.preset.std_limit
        return [self.train(f"train std #{i + 1}", replace(cfg, seed=self.seed + 1000 * (i + 1)), limit=limit)
                for i in range(k)]

    # the paper's datasets ------------------------------------------------------------------------------
    def dataset(self, kind: str, *, source: str | None = None, start: str = "image", limit: int | None = None,
                keep: list[Artifact] | None = None, eps: float | None = None) -> Artifact:
        """D_R / D_NR / D_rand / D_det from a prefix of one fixed shuffle of D.

        ``source`` ("std" or "adv") overrides the paper's source model; ``start``
        "noise" starts inversion from noise; ``limit`` overrides the preset's size;
        ``keep`` (models) makes the relabelling attack non-transferable to them (Nakkiran);
        ``eps`` overrides the relabelling eps (its step keeps its ratio to eps).
        """
        p = self.preset
        source = source or SOURCES[kind]
        cfg = {"robust": p.inversion, "nonrobust": p.inversion, "rand": p.rand, "det": p.det}[kind]
        if kind in ("rand", "det"):
            cfg = replace(cfg, eps=self.relabel_eps(kind))
        if eps is not None and eps == getattr(cfg, "eps", None):
            eps = None
        if eps is not None:
            if kind not in ("rand", "det"):
                raise NotbugsError(f"an eps belongs to a relabelled dataset, not to '{kind}'")
            cfg = replace(cfg, eps=eps, step_size=cfg.step_size * eps / cfg.eps if cfg.step_size else None)
        name = dataset_name(kind, source, start, bool(keep), eps)
        if start != "image":
            cfg = replace(cfg, start=start)
        if limit is None:
            limit = p.kind_limits.get(kind, p.construct_limit)
        inputs = {"data": self.data, "source": self.robust() if source == "adv" else self.std()}
        inputs.update({f"keep{i}": k for i, k in enumerate(keep or [])})
        params = {"builder": kind, "limit": limit, "seed": self.seed, "settings": cfg.key()}

        def make(b: Build):
            data = b.inputs["data"]
            idx = subset_index(len(data.train_x), limit, self.seed)
            keeps = [self.model(b.inputs[f"keep{i}"]) for i in range(len(keep or []))]
            tensors, stats = build_dataset(kind, self.model(b.inputs["source"]), data.train_x[idx], data.train_y[idx],
                                           data.num_classes, cfg, progress=self.progress, work=b.work, keep=keeps)
            save_dataset(b.folder, {**tensors, "source_index": idx}, stats, data.classes, kind, params)
            return {**stats, "size": len(idx)}

        return self.store.get("dataset", params, make, inputs=inputs, label=f"construct {name}", resumable=True)

    def robust_eps(self) -> float | None:
        """The robust model's training eps: the preset's recipe, or what a given run folder's manifest records
        (None where it records none: a bare state dict, an in-memory module)."""
        if "adv" in self.modules:
            return None
        if "adv" in self.preset.given:
            path = Path(self.preset.given["adv"])
            train = (read_manifest(path).get("config") or {}) if path.is_dir() else {}
            return train.get("eps") if train.get("adv") else None
        return self.preset.adv.eps

    def relabel_eps(self, kind: str) -> float:
        """D_rand's or D_det's eps: the robust model's (the paper relabels at the eps its robust model was trained
        at), unless the preset sets one; a set one that differs is warned of."""
        set_eps, robust = getattr(self.preset, kind).eps, self.robust_eps()
        if set_eps is None:
            if robust is None:
                raise NotbugsError(f"the relabelling eps of D_{kind} follows the robust model's training eps, which "
                                   "the given robust model does not record; set it (--set rand.eps=0.5 --set "
                                   "det.eps=0.5)")
            return robust
        if robust is not None and set_eps != robust:
            warnings.warn(f"D_{kind} is relabelled at eps {set_eps:g}, the robust model was trained at {robust:g}: "
                          "the paper relabels at the robust model's eps (leave it unset to follow it)",
                          NotbugsWarning, stacklevel=2)
        return set_eps

    def leakage(self, built: Artifact) -> dict:
        """The paper's leakage check of a relabelled dataset: how often the robust model still gives the original
        label to its images, perturbed and unperturbed. A step of its own, so the datasets do not depend on it."""
        def make(b: Build):
            t = load_tensors(self.store.open(b.inputs["dataset"]) / "data.safetensors")
            clean = b.inputs["data"].train_x[t["source_index"]]
            return leakage(self.model(b.inputs["robust"]), t["x"], clean, t["original_y"])

        art = self.store.get("leakage", {}, make, inputs={"dataset": built, "robust": self.robust(),
                                                          "data": self.data},
                             label=f"leakage of {built.label.removeprefix('construct ')}")
        return art.summary

    def fresh(self, kind: str, built: Artifact, name: str) -> Artifact:
        """Plain standard training on a built dataset (the paper's D_det recipe, no augmentation, for rand/det)."""
        cfg = self.preset.fresh_det if kind == "det" else self.preset.fresh
        return self.train(f"train {name}", cfg, data=self.constructed(built, name))

    def fresh_prefix(self, kind: str, n: int | None, *, arch: str | None = None, arch_options: dict | None = None,
                     epochs: int | None = None, built: Artifact | None = None, name: str | None = None,
                     seed: int | None = None) -> Artifact:
        """A fresh model on the first n images of a built dataset (default: the paper's ``kind`` dataset; another
        built one of that kind is called ``name``), with the paper's recipe for that kind (another ``seed`` for an
        independently trained one); experiments that ask the same get the same model."""
        built = built or self.dataset(kind)
        data = self.constructed(built, f"{name or KINDS[kind]}").prefix(n)
        cfg = self.preset.fresh_det if kind == "det" else self.preset.fresh
        cfg = replace(cfg, epochs=epochs or cfg.epochs, seed=cfg.seed if seed is None else seed)
        label = f"train {arch or self.preset.arch} on {data.name.split(':', 1)[1]}"
        return self.train(label + (f" (seed {seed})" if seed is not None else ""), cfg, data=data, arch=arch,
                          arch_options=arch_options)

    def paper_model(self, name: str) -> Artifact:
        """A model of the paper experiment by its results name: std, adv, d_r, d_nr, d_rand or d_det."""
        if name == "std":
            return self.std()
        if name == "adv":
            return self.robust()
        kind = {v: k for k, v in KINDS.items()}[name]
        return self.fresh(kind, self.dataset(kind), name)

    # evaluation ----------------------------------------------------------------------------------------
    def evaluation(self, name: str, model: Artifact) -> dict:
        """Clean accuracy (all test images) and robust accuracy at the preset's eps, with the attack checks at the
        main eval eps (the one every claim reads; at the others they fed no claim and cost as much as the
        evaluation); the standard model is the transfer surrogate of the checks (an input of the step)."""
        p = self.preset
        params = {"norm": "l2", "eps": p.eval_eps, "steps": p.eval_steps, "limit": p.eval_limit,
                  "batch_size": p.eval_batch_size, "seed": self.seed,
                  "sanity": [p.sanity_limit, p.sanity_steps_factor, p.sanity_restarts], "main_eps": p.main_eval_eps}
        std = self.std()
        inputs = {"model": model, "data": self.data} | ({} if model.key == std.key else {"surrogate": std})

        def make(b: Build):
            net, data = self.model(b.inputs["model"]), b.inputs["data"]
            x, y = subset(data.test_x, data.test_y, p.eval_limit, self.seed)
            res = evaluate(net, x, y, norm="l2", eps_list=p.eval_eps, steps=p.eval_steps, seed=self.seed,
                           progress=self.progress, batch_size=p.eval_batch_size)
            res["clean_accuracy"] = accuracy(net, data.test_x, data.test_y)  # all test images
            xs, ys = x[:p.sanity_limit], y[:p.sanity_limit]
            surrogate = self.model(b.inputs["surrogate"]) if "surrogate" in b.inputs else None
            res["sanity"] = {eps: sanity_checks(
                net, xs, ys, norm="l2", eps=eps, steps=p.eval_steps, step_factor=p.sanity_steps_factor,
                restarts=p.sanity_restarts, surrogate=surrogate, seed=self.seed,
                unbounded=True) for eps in (p.main_eval_eps,)}  # the eps the claims read: the others feed none
            return res

        return self.store.get("eval", params, make, inputs=inputs, label=f"evaluate {name}").summary

    @property
    def eval_images(self) -> int:
        """How many test images the robust accuracies are measured on (clean accuracy uses all of them)."""
        return min(self.preset.eval_limit or len(self.data.test_x), len(self.data.test_x))

    @staticmethod
    def scores(ev: dict) -> dict:
        """An evaluation's accuracies and the attack checks' flags per eps."""
        return {"clean_accuracy": ev["clean_accuracy"], "robust_accuracy": ev["robust_accuracy"],
                "sanity_flags": {eps: rep["flags"] for eps, rep in ev["sanity"].items()}}

    def measure(self, label: str, fn: Callable[..., dict], *, params: dict | None = None,
                inputs: dict | None = None, files: bool = False) -> Artifact:
        """An experiment's own computation worth caching: ``fn(lab, inputs, **params)`` -> a dict of numbers
        (with ``files``, also ``folder=``, where it may write files the artifact keeps, e.g. a picture).
        Its key holds ``params``, ``inputs`` and the fingerprint of ``fn``'s code (and of all it calls in its
        module), so editing the computation recomputes it and editing a report section does not."""
        params = dict(params or {})
        version = code_key(fn)

        def make(b: Build):
            return fn(self, b.inputs, **params, **({"folder": b.folder} if files else {}))

        return self.store.get("measure", params, make, inputs=inputs or {}, label=label, version=version,
                              group=self.experiment)

