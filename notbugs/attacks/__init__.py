"""Attacks: ``pgd(model, x, y, norm=..., eps=..., steps=..., step_size=...)`` and the ``PGD`` wrapper."""

from .pgd import PGD, as_eps, cross_entropy, frozen, margin, pgd
from .threat import L2, THREATS, Linf

__all__ = ["PGD", "THREATS", "L2", "Linf", "as_eps", "cross_entropy", "frozen", "margin", "pgd"]
