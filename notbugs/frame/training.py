"""The lab's models: the standard and robust models (trained, imported or handed over in memory), ensembles,
and the fresh models the paper trains on its built datasets. A part of ``Lab`` (``frame.lab``): it reads the
lab's preset, store, data, seed and device and asks it for the datasets it trains on."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from ..core.errors import NotbugsError
from ..core.inputs import check_logits
from ..data import ImageData
from ..data.content import files_content
from ..evaluation.evaluate import accuracy
from ..methods.tasks import KINDS, model_and_data, spec_for_foreign, train_model
from ..methods.train import TrainConfig
from ..models.checkpoint import MODEL_FILE, save_model
from ..store.pipeline import Artifact, Build
from ..store.versions import all_versions


class Training:
    def train(self, label: str, cfg: TrainConfig, *, data: ImageData | None = None, arch: str | None = None,
              limit: int | None = None, arch_options: dict | None = None,
              test_dataset: str | None = None, seed: int | None = None) -> Artifact:
        """A model trained on ``data`` (default D; its first ``limit`` images of a fixed shuffle); the preset's
        architecture and width unless ``arch`` (and its ``arch_options``) say otherwise; the run's seed unless
        ``seed`` (an independent model) says otherwise: ``cfg``'s own seed and device are not read."""
        data = data or self.data
        if arch is None:
            arch, arch_options = self.preset.arch, self.preset.arch_options
        cfg = replace(cfg, device=self.device, seed=self.seed if seed is None else seed)
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
        return [self.train(f"train std #{i + 1}", cfg, limit=limit, seed=self.seed + 1000 * (i + 1))
                for i in range(k)]


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
        cfg = replace(cfg, epochs=epochs or cfg.epochs)
        label = f"train {arch or self.preset.arch} on {data.name.split(':', 1)[1]}"
        return self.train(label + (f" (seed {seed})" if seed is not None else ""), cfg, data=data, arch=arch,
                          arch_options=arch_options, seed=seed)

    def paper_model(self, name: str) -> Artifact:
        """A model of the paper experiment by its results name: std, adv, d_r, d_nr, d_rand or d_det."""
        if name == "std":
            return self.std()
        if name == "adv":
            return self.robust()
        kind = {v: k for k, v in KINDS.items()}[name]
        return self.fresh(kind, self.dataset(kind), name)

