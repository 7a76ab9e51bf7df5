"""Data: seeded synthetic worlds (``synthetic``), a user's JSONL (``jsonl``), NYU's debate dataset (``nyu``).

``load(spec)`` turns the command line's ``--data`` into worlds: 'synthetic' or 'synthetic:N[:SEED]' for generated
worlds of N questions, or a path to a JSONL file.
"""

from __future__ import annotations

from ..domain import BadInput
from . import jsonl, synthetic


def load(spec: str, seed: int = 0) -> list[jsonl.World]:
    if spec == "synthetic" or spec.startswith("synthetic:"):
        parts = spec.split(":")[1:]
        try:
            n = int(parts[0]) if parts else 12
            seed = int(parts[1]) if len(parts) > 1 else seed
        except ValueError:
            raise BadInput(f"--data {spec!r}: use synthetic, synthetic:N or synthetic:N:SEED") from None
        if n < 1:
            raise BadInput(f"--data {spec!r}: need at least one question")
        return synthetic.generate(n, seed)
    return jsonl.read(spec)


__all__ = ["load", "jsonl", "synthetic"]
