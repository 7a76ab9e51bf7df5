"""Every experiment, in the order of the discussion: the paper's, then the six Distill responses'."""

from __future__ import annotations

from . import fourier, leakage, linear_features, nakkiran, noise_start, paper, robust_source, stress, style, theory, transfer, wallace
from .base import Experiment

REGISTRY: list[Experiment] = [
    paper.EXPERIMENT,
    transfer.EXPERIMENT,
    robust_source.EXPERIMENT,
    noise_start.EXPERIMENT,
    stress.EXPERIMENT,
    theory.EXPERIMENT,
    wallace.EXPERIMENT,
    leakage.EXPERIMENT,
    nakkiran.EXPERIMENT,
    fourier.EXPERIMENT,
    linear_features.EXPERIMENT,
    style.EXPERIMENT,
]


def by_name() -> dict[str, Experiment]:
    return {e.name: e for e in REGISTRY}
