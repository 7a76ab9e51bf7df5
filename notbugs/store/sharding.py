"""Work split into batches that can be resumed and shared between processes.

A long construction (inversion, relabelling) is a map over fixed batches of
examples. ``map_batches`` saves each finished batch in a work folder and skips
the ones already there, so an interrupted run resumes from the last finished
batch; under ``torchrun`` rank r takes batches r, r + W, r + 2W, ..., and
rank 0 merges them in order. Every batch holds the same examples however many
processes run, so the merged result equals the single-process one.

``init_distributed`` starts the process group when ``torchrun`` set
WORLD_SIZE > 1 (gloo on CPUs, NCCL on GPUs); the rest of notbugs asks
``rank()`` and ``world_size()``, which are 0 and 1 without it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from ..core.progress import bar
from ..core.storage import load_tensors, read_json, save_tensors, write_json


def init_distributed(device: str = "cpu") -> bool:
    """Join the process group torchrun describes; False (and nothing done) when not under torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    if device.startswith("cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def work_folder(path: Path, config: dict) -> Path:
    """A folder for ``map_batches`` that holds batches of this ``config`` only.

    Batches left by an interrupted run with the same config are kept (that is
    the resume); a folder from other settings is emptied first.
    """
    path = Path(path)
    stamp = path / "config.json"
    if rank() == 0:
        if path.exists() and (not stamp.is_file() or read_json(stamp) != json.loads(json.dumps(config, default=str))):
            shutil.rmtree(path)
        if not stamp.is_file():
            write_json(stamp, json.loads(json.dumps(config, default=str)))
    barrier()
    return path


def map_batches(fn: Callable[[int, int], dict], n: int, batch_size: int, *, work: Path | None = None,
                progress: bool = True, desc: str = "") -> dict | None:
    """Concatenate ``fn(start, stop)`` (a dict of tensors) over the batches of ``range(n)``.

    With ``work``, finished batches are saved there and reused; several
    processes need it to exchange their batches. Returns the merged dict on
    rank 0 and None on the other ranks.
    """
    r, w = rank(), world_size()
    if w > 1 and work is None:
        raise ValueError("map_batches needs a work folder to merge batches from several processes")
    starts = list(range(0, n, batch_size))
    mine = [b for b in range(len(starts)) if b % w == r]
    results: dict[int, dict] = {}
    for b in bar(mine, desc=desc, disable=not progress or r != 0, leave=False, unit="batch"):
        path = Path(work) / f"batch{b:06d}.safetensors" if work else None
        if path is not None and path.is_file():
            continue
        out = {k: v.detach().cpu() for k, v in fn(starts[b], min(starts[b] + batch_size, n)).items()}
        if path is not None:
            save_tensors(path, out)
        else:
            results[b] = out
    barrier()
    if r != 0:
        return None
    parts = [results[b] if b in results else load_tensors(Path(work) / f"batch{b:06d}.safetensors")
             for b in range(len(starts))]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]} if parts else {}
