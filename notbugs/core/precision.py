"""The arithmetic of the lab's passes: fp32, bf16 (autocast), or auto.

bf16 pays only where the hardware computes it natively: Intel CPUs with AMX
(``amx_bf16``) or AVX512-BF16, and GPUs with bf16 units. Elsewhere autocast
emulates it: on this project's AMD EPYC (AVX2 only) a quick CNN input-gradient
pass took 13x longer in bf16 than in fp32 (docs/measurements.md). So ``auto``
means bf16 where it is native and fp32 everywhere else. The resolved precision
is part of every store key's compute context: bf16 and fp32 results are never
mixed. Under bf16, distances and losses are taken in fp32 (the callers cast).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path

import torch

from .errors import NotbugsError

PRECISIONS = ("auto", "fp32", "bf16")


@lru_cache(maxsize=None)
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


def native_bf16(device: str) -> bool:
    """Whether ``device`` computes bf16 matrix products natively (not emulated)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return bool({"amx_bf16", "avx512_bf16"} & _cpu_flags())


def resolve(precision: str, device: str) -> str:
    """fp32 or bf16: what ``precision`` (auto, fp32, bf16) means on ``device``."""
    if precision not in PRECISIONS:
        raise NotbugsError(f"unknown precision '{precision}'; use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


@contextmanager
def computing(precision: str, device: str):
    """Run the enclosed passes in ``precision`` (already resolved) on ``device``."""
    dev = torch.device(device)
    with torch.autocast(dev.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext():
        yield


@contextmanager
def exact(device: str):
    """Run the enclosed passes in fp32 even inside a bf16 run: for a result that is read as numbers, not as a
    step of an optimisation (the affine map a linear model computes, extracted from its outputs)."""
    with torch.autocast(torch.device(device).type, enabled=False):
        yield
