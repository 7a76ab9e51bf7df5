"""The seeds grammar every command line shares: ``0,1,2``, ``0-4`` or a mix (``0-2,7``)."""

from __future__ import annotations

from .errors import UsageError


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """Distinct seeds >= 0, in the order given; ``UsageError`` (one line, saying what to write) otherwise."""
    seeds = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        try:
            seeds += list(range(int(lo), int(hi) + 1)) if dash and lo else [int(part)]
        except ValueError:
            raise UsageError(f"{option} takes integers or ranges separated by commas, e.g. 0,1,2 or 0-4 (got "
                             f"'{text}')") from None
    if not seeds or len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise UsageError(f"{option} needs distinct seeds >= 0, e.g. 0,1,2 or 0-4 (got '{text}')")
    return seeds
