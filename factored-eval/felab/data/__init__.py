"""Data: seeded synthetic worlds (``synthetic``), a user's JSONL (``jsonl``), NYU's debate dataset (``nyu``).

``load(spec)`` turns the command line's ``--data`` into worlds: 'synthetic' or 'synthetic:N[:SEED]' for generated
worlds of N questions, or a path to a JSONL file: a user's documents with their questions (``jsonl``), or the
lab's NYU export (``felab import-nyu``, lines with a "kind"), whose stories and questions are used.
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
    if _first_kind(spec) is not None:
        from . import nyu

        data = nyu.read_jsonl(spec)
        by_doc: dict[str, list] = {}
        for q in data.questions:
            by_doc.setdefault(q.document_id, []).append(q)
        return [(d, by_doc[d.id]) for d in data.documents if by_doc.get(d.id)]
    return jsonl.read(spec)


def _first_kind(path: str) -> str | None:
    """The "kind" of the first record of a JSONL file (the NYU export has one), None otherwise."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
        rec = json.loads(first)
    except (OSError, ValueError):
        return None
    return rec.get("kind") if isinstance(rec, dict) else None


__all__ = ["load", "jsonl", "synthetic"]
