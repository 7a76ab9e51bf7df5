"""Attacks: ``pgd(model, x, y, norm=..., eps=..., steps=..., step_size=...)`` and the ``PGD`` wrapper."""

from .pgd import PGD, PGDL2, as_eps, cross_entropy, frozen, margin, norm_name, pgd
from .threat import L2, THREATS, Linf

__all__ = ["PGD", "PGDL2", "THREATS", "L2", "Linf", "as_eps", "cross_entropy", "frozen", "margin", "norm_name", "pgd"]
