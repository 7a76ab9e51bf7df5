"""``reproduce``: every seed's two models (plain and DP-SGD), each saved as it finishes, then the claims.

A finished model's record (its numbers) and weights are written under temporary names and renamed into place,
keyed by the preset and the corpus: an interrupted run resumes at the first model not yet done, and a changed
setting or corpus trains again rather than reusing stale numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable

from safetensors import SafetensorError
from safetensors.torch import load_model as load_weights
from safetensors.torch import save_model as save_weights

from .claims import CLAIMS, judge
from .errors import ExposureError
from .measure import one_run, statistics
from .models import build
from .settings import Preset
from .text import read_corpus


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


NOT_OF_A_MODEL = ("name", "seeds", "dp_seeds", "smoke")  # preset fields that change no model's numbers


def run_key(p: Preset, documents: list[str], seed: int, dp: bool) -> str:
    """A model's key: what its numbers depend on (so another preset or seed list with the same model reuses it)."""
    digest = hashlib.sha256("\x00".join(documents).encode()).hexdigest()
    unused = (() if dp else ("dp_epochs",)) + (() if p.audit else ("audit", "audit_insertions"))
    settings = {k: v for k, v in p.to_dict().items() if k not in NOT_OF_A_MODEL + unused}
    payload = json.dumps({"preset": settings, "corpus": digest, "seed": seed, "dp": dp}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_model(folder: Path, name: str = "plain"):
    """A model ``reproduce`` saved (``folder/<name>.safetensors`` beside its ``<name>.json``), in eval mode."""
    folder = Path(folder)
    meta, weights = folder / f"{name}.json", folder / f"{name}.safetensors"
    if not meta.is_file() or not weights.is_file():
        raise ExposureError(f"{folder} holds no saved model '{name}' ({meta.name} and {weights.name}); give a seed "
                            "folder written by 'canary-exposure reproduce'")
    try:
        record = json.loads(meta.read_text())
        s = record["settings"]
        model = build(s["arch"], dp=bool(s.get("dp")), **s["arch_options"])
        load_weights(model, str(weights))  # strict: every tensor present, of its shape
    except (ValueError, KeyError, TypeError, RuntimeError, OSError, SafetensorError) as exc:
        raise ExposureError(f"the model in {folder} does not load ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}); rerun 'canary-exposure reproduce'") \
            from None
    return model.eval(), record


def _seeds_of(claim, seeds, stats: dict) -> list[int]:
    """The seeds that measured every statistic of a claim (a seed without a DP-SGD model measured no DP one; a
    statistic measured and undefined is there, as None, and makes the claim not testable)."""
    names = {b.name for b in claim.tests + claim.premises}
    return [s for s in seeds if names <= stats[s].keys()]


def reproduce(p: Preset, out: Path, *, corpus: str | Path | None = None,
              say: Callable[[str], None] | None = None, device: str = "cpu") -> dict:
    say = say or (lambda line: None)
    documents = read_corpus(corpus)[:p.documents] if p.documents else read_corpus(corpus)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    per_seed = {}
    with_dp = p.seeds[:len(p.seeds) if p.dp_seeds is None else p.dp_seeds]
    for seed in p.seeds:
        folder = out / f"seed-{seed}"
        folder.mkdir(exist_ok=True)
        records = {}
        for name, dp in (("plain", False), ("dp", True))[:2 if seed in with_dp else 1]:
            key = run_key(p, documents, seed, dp)
            meta = folder / f"{name}.json"
            if meta.is_file() and json.loads(meta.read_text()).get("key") == key:
                records[name] = json.loads(meta.read_text())
                say(f"seed {seed}, {name}: done before, reused")
                continue
            say(f"seed {seed}, {name}{' (DP-SGD)' if dp else ''}: training on {len(documents)} documents")
            t0 = time.perf_counter()
            record = one_run(documents, p, seed, dp=dp, say=lambda line: say(f"  {line}"), device=device)
            model = record.pop("model")
            record.update(key=key, seconds=time.perf_counter() - t0)
            save_weights(model.cpu(), str(folder / f".{name}.st.tmp"))  # shared tensors (DPLSTM's) saved once
            os.replace(folder / f".{name}.st.tmp", folder / f"{name}.safetensors")
            _write_atomic(meta, json.dumps(record, indent=1).encode())  # last: its key means complete
            records[name] = record
        per_seed[seed] = records
    stats = {seed: statistics(r["plain"], r.get("dp")) for seed, r in per_seed.items()}
    claims = [judge(c, [stats[s] for s in _seeds_of(c, p.seeds, stats)]) for c in CLAIMS]
    results = {"preset": p.to_dict(), "documents": len(documents), "corpus": str(corpus or "fortunes"),
               "seeds": list(p.seeds), "statistics": {str(k): v for k, v in stats.items()}, "claims": claims,
               "runs": {str(s): r for s, r in per_seed.items()}, "seconds": time.perf_counter() - began}
    _write_atomic(out / "results.json", json.dumps(results, indent=1).encode())
    return results
