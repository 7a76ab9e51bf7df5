"""Every experiment, in the order of the discussion: the paper's, then the six Distill responses'."""

from __future__ import annotations

from . import noise_start, paper, robust_source, stress, theory
from .base import Experiment

REGISTRY: list[Experiment] = [
    paper.EXPERIMENT,
    robust_source.EXPERIMENT,
    noise_start.EXPERIMENT,
    stress.EXPERIMENT,
    theory.EXPERIMENT,
]


def by_name() -> dict[str, Experiment]:
    return {e.name: e for e in REGISTRY}
