"""The paper's datasets: D_R and D_NR by inverting a model's representation, D_rand and D_det by relabelling
attacks, each from a prefix of one fixed shuffle of D, and the leakage check of the relabelled ones. A part of
``Lab`` (``frame.lab``): it reads the lab's preset, store, data and seed and asks it for the source models."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

from ..core.errors import NotbugsError, NotbugsWarning
from ..core.storage import load_tensors
from ..data import subset_index
from ..methods.construct import leakage
from ..methods.tasks import KINDS, build_dataset, save_dataset
from ..models.checkpoint import read_manifest
from ..store.pipeline import Artifact, Build

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




class Datasets:
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
        cfg = replace({"robust": p.inversion, "nonrobust": p.inversion, "rand": p.rand, "det": p.det}[kind],
                      seed=self.seed)
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

