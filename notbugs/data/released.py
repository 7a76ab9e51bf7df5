"""The paper's released datasets (d_robust_CIFAR, d_non_robust_CIFAR, drand_CIFAR, ddet_CIFAR).

Each is a folder with two ``torch.save`` files, ``CIFAR_ims`` (N x 3 x 32 x 32
floats in [0, 1]) and ``CIFAR_lab`` (N labels). They are read with
``weights_only=True``, which loads tensors and refuses pickled code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.errors import NotbugsError
from ..core.storage import torch_load_tensors


def _load_tensor(path: Path) -> torch.Tensor:
    if not path.is_file():
        raise NotbugsError(f"{path} does not exist; a released dataset folder holds CIFAR_ims and CIFAR_lab")
    obj = torch_load_tensors(path)
    if not isinstance(obj, torch.Tensor):
        raise NotbugsError(f"{path} holds a {type(obj).__name__}, expected a tensor")
    return obj


def read_released(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    folder = Path(folder)
    x = _load_tensor(folder / "CIFAR_ims").float()
    y = _load_tensor(folder / "CIFAR_lab").long()
    if x.ndim != 4 or tuple(x.shape[1:]) != (3, 32, 32):
        raise NotbugsError(f"{folder / 'CIFAR_ims'} has shape {tuple(x.shape)}, expected N x 3 x 32 x 32")
    return x, y
