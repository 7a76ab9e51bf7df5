"""Attacks: ``pgd(model, x, y, norm=..., eps=..., steps=..., step_size=...)``, the ``PGD`` wrapper, and ``apgd``
(AutoAttack's APGD-CE and APGD-T)."""

from .apgd import apgd, dlr_targeted
from .pgd import PGD, PGDL2, as_eps, cross_entropy, frozen, margin, norm_name, pgd
from .threat import L2, THREATS, Linf

__all__ = ["apgd", "dlr_targeted", "PGD", "PGDL2", "THREATS", "L2", "Linf", "as_eps", "cross_entropy", "frozen",
           "margin", "norm_name", "pgd"]
