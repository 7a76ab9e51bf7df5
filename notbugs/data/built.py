"""A dataset ``notbugs construct`` wrote (``built:PATH``), as training data beside its source's test split.

The folder holds ``data.safetensors`` (x, y) and ``manifest.json``, which names the dataset it was built from;
that dataset's test split is the one a model trained on it is measured on, as in the paper (D_det's models are
tested on the original test set). Shapes, labels and values are checked against the source before use.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.errors import NotbugsError
from ..core.storage import load_tensors, read_json


def read_built(folder: Path) -> tuple[torch.Tensor, torch.Tensor, str, dict]:
    """(x, y, the source dataset's name, the files it was read from)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise NotbugsError(f"built:{folder}: not a folder; give the --out folder of 'notbugs construct'")
    files = {"data": folder / "data.safetensors", "manifest": folder / "manifest.json"}
    for name, path in files.items():
        if not path.is_file():
            raise NotbugsError(f"built:{folder} has no {path.name}; it is not (or not yet) a folder written by "
                               "'notbugs construct'")
    info = read_json(files["manifest"], typed=False)
    source = (info.get("config") or {}).get("dataset") if isinstance(info, dict) else None
    if not isinstance(source, str) or not source:
        raise NotbugsError(f"built:{folder}: its manifest does not name the dataset it was built from "
                           "(config.dataset); rebuild it with 'notbugs construct'")
    tensors = load_tensors(files["data"])
    if "x" not in tensors or "y" not in tensors:
        raise NotbugsError(f"built:{folder}: {files['data'].name} lacks 'x' or 'y'; it is not a constructed dataset")
    return tensors["x"], tensors["y"], source, files


def check_against(x: torch.Tensor, y: torch.Tensor, source, where: str) -> None:
    """The built images have the source's shape and range, the labels its classes."""
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(source.train_x.shape[1:]):
        raise NotbugsError(f"{where}: images of shape {tuple(x.shape[1:])}, but {source.name}'s are "
                           f"{tuple(source.train_x.shape[1:])}")
    if len(x) != len(y) or len(x) == 0:
        raise NotbugsError(f"{where}: {len(x)} images and {len(y)} labels; a dataset needs as many of each (> 0)")
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise NotbugsError(f"{where}: pixel values outside [0, 1] or not finite; the file is damaged")
    if y.dtype.is_floating_point or y.min() < 0 or y.max() >= source.num_classes:
        raise NotbugsError(f"{where}: labels outside 0..{source.num_classes - 1} of {source.name}")
