"""Argument types of the command line: each refuses a bad value with argparse's one-line usage error (exit 2).

Numbers take the field's spellings: an eps may be a fraction (``8/255``), a norm is ``l2``/``L2`` or
``linf``/``Linf``.
"""

from __future__ import annotations

import argparse
import math
from fractions import Fraction

from ..core.errors import NotbugsError


def _number(text: str) -> float:
    """A decimal or a fraction (8/255): the field writes Linf budgets in 255ths."""
    text = text.strip()
    try:
        value = float(Fraction(text)) if "/" in text else float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a number (or a fraction such as 8/255), got '{text}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def nonneg(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive(text: str) -> float:
    value = nonneg(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _items(text: str, expected: str) -> list[str]:
    """The non-empty parts of a comma-separated value; ``expected`` says what was due when there are none."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(expected)
    return parts


def eps_list(text: str) -> list[float]:
    """Comma-separated eps values, each a number >= 0 or a fraction (0.5,1 or 4/255,8/255)."""
    parts = _items(text, f"expected comma-separated numbers, got '{text}'")
    try:
        return [nonneg(v) for v in parts]
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"eps must be finite numbers >= 0: {exc}") from None


def norm(text: str) -> str:
    from ..attacks import norm_name

    try:
        return norm_name(text)
    except NotbugsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed is an integer, got '{text}'") from None
    if not 0 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"a seed lies in 0 .. 2^63 - 1, got {text}")
    return value


def _integer(text: str, least: int, bound: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
    return value


def whole(text: str) -> int:
    return _integer(text, 0, ">= 0")


def count(text: str) -> int:
    return _integer(text, 1, "at least 1")


def counts(text: str) -> list[int]:
    """Whole numbers >= 1 separated by commas (``25,50,100``)."""
    return [count(p) for p in _items(text, "expected whole numbers separated by commas, e.g. 25,50,100")]


def names(text: str) -> tuple[str, ...]:
    """Names separated by commas (``paper,momentum``); which names are known is the command's to check."""
    return tuple(_items(text, f"expected names separated by commas, got '{text}'"))
