"""Numbers that say what they are: a claim's verdict word, a proportion of n trials, an estimate with its interval.

``Proportion`` and ``Estimate`` are floats (arithmetic gives plain floats), so a statistic computes like a
number and still carries the 95 % interval the verdict rule reads (``.ci``).
"""

from __future__ import annotations

import math
from enum import Enum

from .stats import mean_sd, t_interval, wilson


class Outcome(str, Enum):
    """A claim's verdict: one of six words, the same in every package and every report."""

    HOLDS = "holds"
    FAILS = "does not hold"
    INCONCLUSIVE = "inconclusive"  # the interval of the claim's statistic (or of a premise) straddles its margin
    NOT_TESTABLE = "not testable"  # a premise of the claim is not met at this scale, or a value is undefined
    NOT_RUN = "not run"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value

    __hash__ = str.__hash__  # equal to its text, so it must hash like it (dict keys, sets)

    @property
    def judged(self) -> bool:
        """Whether the claim was measured and decided either way."""
        return self in (Outcome.HOLDS, Outcome.FAILS)


class Proportion(float):
    """A share of n trials (an accuracy on n images). Arithmetic gives plain floats; ``ci`` is the 95 % Wilson
    interval of the share, or the interval given (results of older versions, whose n is unknown)."""

    n: int | None
    _ci: tuple[float, float] | None

    def __new__(cls, p: float, n: int | None, ci=None):
        p = float(p)
        if n is not None:
            n = int(n)
            if n < 1:
                raise ValueError(f"a proportion needs at least one trial, got n={n}")
        if not (0.0 <= p <= 1.0):
            raise ValueError(f"a proportion lies in [0, 1], got {p}")
        obj = super().__new__(cls, p)
        obj.n = n
        obj._ci = tuple(ci) if ci is not None else None
        return obj

    @classmethod
    def of(cls, hits: int, n: int) -> "Proportion":
        return cls(hits / n, n)

    @property
    def ci(self) -> tuple[float, float] | None:
        if self._ci is not None:
            return self._ci
        return tuple(wilson(float(self), self.n)) if self.n else None

    def __reduce__(self):
        return (Proportion, (float(self), self.n, self._ci))

    def __repr__(self) -> str:
        return f"Proportion({float(self)!r}, n={self.n})"


class Estimate(float):
    """A statistic with its 95 % interval, when it has one: a mean over seeds, a difference of accuracies."""

    _ci: tuple[float, float] | None

    def __new__(cls, value: float, ci=None):
        obj = super().__new__(cls, float(value))
        obj._ci = tuple(float(c) for c in ci) if ci is not None else None
        return obj

    @property
    def ci(self) -> tuple[float, float] | None:
        return self._ci

    def __reduce__(self):
        return (Estimate, (float(self), self._ci))

    def __repr__(self) -> str:
        return f"Estimate({float(self)!r}, ci={self._ci})"


def over_seeds(values: list[float], confidence: float = 0.95) -> Estimate | None:
    """The mean over seeds as an ``Estimate`` with its Student-t interval (ci None for one seed); None when a
    seed's value is undefined (None or NaN) or there is none: the verdict rule makes that not testable."""
    if not values or any(v is None or math.isnan(float(v)) for v in values):
        return None
    return Estimate(mean_sd([float(v) for v in values])[0], t_interval(values, confidence))
