"""Every experiment, in the order of the discussion: the paper's, then the six Distill responses'."""

from __future__ import annotations

from ..frame.base import Experiment
from . import (
    fourier,
    leakage,
    linear_features,
    nakkiran,
    noise_start,
    paper,
    robust_source,
    stress,
    style,
    theory,
    transfer,
    wallace,
)

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


def references() -> dict:
    """Every published table the registry's experiments compare against, by name (results.json keeps them)."""
    return {name: table for e in REGISTRY for name, table in e.reference.items()}
