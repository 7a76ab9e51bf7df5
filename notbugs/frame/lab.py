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

import copy
import hashlib
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..core.storage import atomic_write_bytes, load_tensors
from ..data import ImageData, load_dataset, subset
from ..models.checkpoint import load_model
from ..present.grid import image_grid_png
from ..store.pipeline import Artifact, Build, Store
from ..store.versions import all_versions, code_key
from .datasets import Datasets
from .evaluations import Evaluations
from .presets import Preset
from .training import Training


def _grid_drawing(x: torch.Tensor, labels: list[str], title: str) -> Callable[[Build], bytes]:
    """A picture's drawing: the images in a grid (a function of its own, so its code keys the picture)."""
    def draw(b: Build) -> bytes:
        return image_grid_png(x, labels, title)
    return draw


class Lab(Training, Datasets, Evaluations):
    """The steps several experiments share. Its parts, one file each: ``Training`` (the models), ``Datasets`` (the
    paper's datasets), ``Evaluations``; here, what they all use: the data, models loaded once, pictures and an
    experiment's own cached computations."""

    def __init__(self, preset: Preset, store: Store, *, precision: str = "fp32", progress: bool = False,
                 modules: dict[str, nn.Module] | None = None):
        """``precision``: the resolved precision its experiments compute in (``core.precision.resolve``; the
        store keys its steps by the same value). ``modules``: in-memory models the user gives as the standard
        ('std') or robust ('adv') model."""
        self.preset, self.store, self.progress, self.precision = preset, store, progress, precision
        self.modules = dict(modules or {})
        self._memory: dict[str, nn.Module] = {}  # artifact key -> the in-memory model it stands for
        self.seed, self.device = preset.seed, preset.device  # the run's: every step gets them from here
        self._data: dict[str, ImageData] = {}
        self._models: dict[tuple[str, str], nn.Module] = {}
        self.pictures: Path | None = None  # where an experiment's lab keeps the pictures its results name
        self.experiment: str | None = None  # the experiment its measurements belong to (``for_experiment``)

    def for_experiment(self, name: str, pictures: Path) -> "Lab":
        """This lab as one experiment uses it: the same store, data and loaded models (shared, not copied), its
        measurements grouped under ``name`` and its pictures kept in ``pictures``."""
        lab = copy.copy(self)
        lab.experiment, lab.pictures = name, pictures
        return lab

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

