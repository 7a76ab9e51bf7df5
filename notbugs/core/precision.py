"""The arithmetic of the lab's passes: fp32, bf16 (autocast), or auto.

``auto`` is fp32 on every device. It would be bf16 on a kind of device only once
the pipeline itself (a reproduction, not ``notbugs bench``'s single passes) was
measured faster there in bf16 *and* every step's premises in bf16 fell within
fp32's intervals; nobody has measured that on any device. Where it was tried it
did not pay: on an Intel Xeon with AMX (issue 45) the bench's passes were 2.2x
(inversion) and 1.9x (training) faster in bf16, yet ``reproduce all --preset
quick`` took 1,546 s = 468 calibrate units in bf16 (fp32 on this project's AMD
machine: 460 units) and the paper alone 510 s vs 578 s in fp32 on that machine
(1.13x), with the premises not compared; on this
project's AMD EPYC (AVX2 only) autocast emulates bf16 and a quick CNN
input-gradient pass took 13x longer (docs/measurements.md). A user can still ask
for bf16 (``--precision bf16``). The resolved precision is part of every store
key's compute context: bf16 and fp32 results are never mixed. Under bf16,
distances and losses are taken in fp32 (the callers cast, or ``exact``).
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
    """fp32 or bf16: what ``precision`` (auto, fp32, bf16) means on ``device``: auto is fp32 on every device until
    bf16 is measured to pay in the pipeline with the same premises (the module's docstring)."""
    if precision not in PRECISIONS:
        raise NotbugsError(f"unknown precision '{precision}'; use one of {', '.join(PRECISIONS)}")
    return "fp32" if precision == "auto" else precision


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
