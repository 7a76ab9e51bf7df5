"""Model checkpoints: a run folder with ``model.safetensors`` and ``manifest.json``.

The manifest carries the model spec (arch, image shape, classes, mean/std),
so a checkpoint rebuilds itself. State dicts from other projects (``.pt``)
load with ``weights_only=True``, which refuses pickled code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from ..core.errors import NotbugsError
from ..core.storage import load_tensors, manifest, read_json, save_tensors, torch_load_tensors, write_json
from . import build_model
from .madry import from_madry, is_madry_checkpoint

MODEL_FILE, MANIFEST_FILE = "model.safetensors", "manifest.json"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(out: Path, model: nn.Module, spec: dict, config: dict, **extra) -> dict:
    """Write the weights, then the manifest (last, so a folder with a manifest is complete)."""
    out = Path(out)
    save_tensors(out / MODEL_FILE, model.state_dict())
    info = manifest("model", config, spec=spec, sha256=file_sha256(out / MODEL_FILE), **extra)
    write_json(out / MANIFEST_FILE, info)
    return info


def _load_state(model: nn.Module, state: dict, where: str) -> None:
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    # Another project's state dict may lack our normalisation buffers: keep the spec's.
    for key in ("normalize.mean", "normalize.std"):
        state.setdefault(key, own[key])
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        detail = "; ".join(f"{name}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
                           for name, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape",
                                                                                                 wrong)) if keys)
        raise NotbugsError(f"{where} does not fit the architecture/class count asked for ({detail}); "
                           "check --arch and --dataset")
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise NotbugsError(f"{where} has NaN or infinite weights ({', '.join(broken[:4])}"
                           f"{' ...' if len(broken) > 4 else ''}): it cannot give a number; retrain it or use another")
    model.load_state_dict(state)


def read_manifest(folder: Path) -> dict:
    folder = Path(folder)
    if not (folder / MANIFEST_FILE).is_file():
        raise NotbugsError(f"{folder} has no {MANIFEST_FILE}; it is not a finished notbugs run folder")
    return read_json(folder / MANIFEST_FILE)


def load_model(path: Path, spec: dict | None = None) -> tuple[nn.Module, dict]:
    """Load a run folder (or its model.safetensors), or a foreign ``.pt`` state dict given ``spec``; a ``spec`` given
    with a run folder must name the architecture its manifest records."""
    path = Path(path)
    if not path.exists():
        raise NotbugsError(f"{path} does not exist; give a run folder made by 'notbugs train' or a .pt state dict")
    if path.is_dir() or path.suffix == ".safetensors":
        folder = path if path.is_dir() else path.parent
        info = read_manifest(folder)
        if "spec" not in info:
            raise NotbugsError(f"{folder / MANIFEST_FILE} has no model spec; it is not a model manifest")
        if spec is not None and spec.get("arch") != info["spec"].get("arch"):  # never ignore --arch silently
            raise NotbugsError(f"--arch {spec.get('arch')} contradicts {folder / MANIFEST_FILE}, which records "
                               f"{info['spec'].get('arch')}; a run folder's manifest says which model it is: drop "
                               "--arch")
        recorded = info.get("sha256")
        if recorded and (folder / MODEL_FILE).is_file() and file_sha256(folder / MODEL_FILE) != recorded:
            raise NotbugsError(f"{folder / MODEL_FILE} changed after it was written (its sha256 is not the one "
                               f"{MANIFEST_FILE} recorded): it is corrupt or was replaced; train it again or "
                               "restore the folder")
        model = build_model(info["spec"])
        _load_state(model, load_tensors(folder / MODEL_FILE), str(folder / MODEL_FILE))
        return model.eval(), info
    if spec is None:
        raise NotbugsError(f"{path} is a bare state dict; say which model it is with --arch and --dataset")
    loaded = torch_load_tensors(path)
    state, extra = loaded, {}
    if isinstance(loaded, dict):
        # a training checkpoint (MadryLab's robustness saves {"model": ..., "optimizer": ..., "epoch": ...})
        inner = next((loaded[k] for k in ("model", "state_dict") if isinstance(loaded.get(k), dict)), None)
        if inner is not None:
            state = inner
            extra = {k: loaded[k] for k in ("epoch",) if isinstance(loaded.get(k), (int, float))}
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise NotbugsError(f"{path} is not a state dict of tensors")
    if is_madry_checkpoint(state):
        if not spec["arch"].startswith("madry-"):
            raise NotbugsError(f"{path} is a checkpoint of MadryLab's robustness library; load it with "
                               "--arch madry-resnet50 or madry-resnet18 (the library's CIFAR ResNets)")
        state, mean, std = from_madry(state)
        spec = {**spec, "mean": mean, "std": std}  # the checkpoint's own normalisation
        extra["format"] = "robustness"
    model = build_model(spec)
    _load_state(model, state, str(path))
    return model.eval(), {"spec": spec, "source": str(path), **extra}
