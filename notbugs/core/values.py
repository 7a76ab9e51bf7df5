"""Typed numbers of results, and their JSON form.

A number in results.json must say what it is. An accuracy measured on n test
images is a ``Proportion`` (from the ``verdicts`` kernel, with ``Estimate`` and
the verdicts' ``Outcome``): a float that carries n, so its 95 % interval is
computed from what was measured rather than written beside it by hand.
Maps keyed by eps (or any number) are ``ByNumber``: float keys in Python,
formatted only at the JSON boundary, so ``1`` and ``1.0`` are one key.
Statuses are one enumeration (verdicts: ``verdicts.Outcome``).

``to_json`` / ``from_json`` are the only way results cross into JSON: a
proportion becomes ``{"p", "n", "ci"}``, a number-keyed map an object with
``%g`` keys, a non-finite float ``null`` (a bare NaN is not JSON), and back.
"""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, asdict, fields, is_dataclass
from enum import Enum

from verdicts import Estimate, Proportion, mean_sd

from .stats import newcombe, newcombe_paired


class Status(str, Enum):
    """Where an experiment stands in a run."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    NOT_RUN = "not run"

    def __str__(self) -> str:
        return self.value

    __hash__ = str.__hash__  # equal to its text, so it must hash like it (dict keys, sets)


def difference(a: float, b: float) -> Estimate:
    """a - b, with the Newcombe interval when both are proportions with known sizes."""
    if isinstance(a, Proportion) and isinstance(b, Proportion) and a.n and b.n:
        return Estimate(float(a) - float(b), newcombe(float(a), a.n, float(b), b.n))
    return Estimate(float(a) - float(b))


def paired_difference(first: list[bool], second: list[bool]) -> Estimate:
    """p1 - p2 of two proportions measured on the same items, with the paired interval (``newcombe_paired``)."""
    lo, hi = newcombe_paired(first, second)
    return Estimate((sum(first) - sum(second)) / len(first), (lo, hi))


def paired_differences(correct: dict, pairs) -> dict[str, Estimate]:
    """"a - b" -> the paired difference of a's and b's per-image outcomes (``correct``), for each pair whose
    outcomes were kept (an evaluation stored before they were has None)."""
    return {f"{a} - {b}": paired_difference(correct[a], correct[b]) for a, b in pairs
            if correct[a] is not None and correct[b] is not None}


def on_same_images(paired: dict, a: str, b: str, pa, pb) -> Estimate:
    """a - b as ``paired_differences`` measured it, else (results stored before) ``difference`` of the two
    proportions, whose interval for independent samples is wider when the models agree image by image."""
    return paired[f"{a} - {b}"] if f"{a} - {b}" in paired else difference(pa, pb)


def pack_bools(flags) -> str:
    """A run of booleans (one per test image) as base64 text: a result's JSON holds 10,000 of them in 1.7 kB."""
    import base64

    import numpy as np

    return base64.b64encode(np.packbits(np.asarray(flags, dtype=bool)).tobytes()).decode()


def unpack_bools(text: str, n: int) -> list[bool]:
    import base64

    import numpy as np

    return np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8), count=n).astype(bool).tolist()


def _key(k) -> float:
    if isinstance(k, str):
        try:
            return float(k)
        except ValueError:
            raise KeyError(k) from None
    return float(k)


class ByNumber(dict):
    """A dict keyed by numbers (eps, radii, seeds): ``d[1]``, ``d[1.0]`` and ``d["1"]`` are one entry."""

    def __init__(self, items=None):
        super().__init__()
        self.update(items or {})

    def update(self, items=(), **kw):
        for k, v in dict(items, **kw).items():
            self[k] = v

    def __setitem__(self, k, v):
        super().__setitem__(_key(k), v)

    def __getitem__(self, k):
        return super().__getitem__(_key(k))

    def __contains__(self, k):
        try:
            return super().__contains__(_key(k))
        except (KeyError, TypeError, ValueError):
            return False

    def get(self, k, default=None):
        return self[k] if k in self else default


def fmt_number(k: float) -> str:
    """The JSON key of a number: %g where that is exact (0.5, 1, 1e-05), else every digit (8/255 ->
    0.03137254901960784), so that the key reads back as the same number."""
    text = f"{k:g}"
    return text if float(text) == k else repr(float(k))


_NUMBER = re.compile(r"^-?(\d+(\.\d+)?)(e[-+]\d+)?$")


def to_json(obj):
    """Plain JSON values for a results tree (see the module docstring)."""
    if isinstance(obj, Proportion):
        out = {"p": float(obj), "n": obj.n}
        if obj.ci is not None:
            out["ci"] = list(obj.ci)
        return out
    if isinstance(obj, Estimate):
        return {"estimate": float(obj), "ci": list(obj.ci) if obj.ci is not None else None}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, ByNumber):
        return {fmt_number(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # a numpy or torch scalar
        return to_json(obj.item())
    return str(obj)


def _is_proportion(d: dict) -> bool:
    return set(d) in ({"p", "n"}, {"p", "n", "ci"}) and isinstance(d["p"], (int, float)) and \
        (d["n"] is None or isinstance(d["n"], int))


def from_json(obj):
    """The typed tree back from ``to_json``'s form: proportions, number-keyed maps (an object whose keys are all
    numbers written as %g)."""
    if isinstance(obj, list):
        return [from_json(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if _is_proportion(obj):
        return Proportion(obj["p"], obj["n"], obj.get("ci") if obj["n"] is None else None)
    if set(obj) == {"estimate", "ci"} and isinstance(obj["estimate"], (int, float)):
        return Estimate(obj["estimate"], obj["ci"])
    values = {k: from_json(v) for k, v in obj.items()}
    if values and all(_NUMBER.match(k) for k in values):
        return ByNumber(values)
    return values


def shares(tree, path: str = ""):
    """(path, Proportion) for every proportion below ``tree``."""
    if isinstance(tree, Proportion):
        yield path, tree
    elif isinstance(tree, dict):
        for k, v in tree.items():
            key = fmt_number(k) if isinstance(k, float) else str(k)
            yield from shares(v, f"{path}.{key}" if path else key)
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from shares(v, f"{path}[{i}]")


def summarise(trees: list):
    """For results dicts of several seeds: every measurement all of them hold, at its place in the tree.

    A proportion or a fractional number becomes {"mean", "sd", "values", "kind"} ("proportion" or "number");
    an integer is a count or a setting, never averaged: kept as {"values", "kind": "count"} only where the seeds
    differ. Lists are taken element by element when their lengths agree; text, paths and shapes that differ are
    left out.
    """
    first = trees[0]
    if isinstance(first, bool) or any(isinstance(t, bool) for t in trees):
        return None
    if all(isinstance(t, (int, float)) for t in trees):
        if all(isinstance(t, int) for t in trees):
            values = [int(t) for t in trees]
            return {"values": values, "kind": "count"} if len(set(values)) > 1 else None
        values = [float(t) for t in trees]
        mean, sd = mean_sd(values)
        kind = "proportion" if all(isinstance(t, Proportion) for t in trees) else "number"
        return {"mean": mean, "sd": sd, "values": values, "kind": kind}
    if isinstance(first, dict):
        out = ByNumber() if isinstance(first, ByNumber) else {}
        for key in first:
            if all(isinstance(t, dict) and key in t for t in trees):
                sub = summarise([t[key] for t in trees])
                if sub is not None:
                    out[key] = sub
        return out or None
    if isinstance(first, list) and all(isinstance(t, list) and len(t) == len(first) for t in trees):
        items = [summarise([t[i] for t in trees]) for i in range(len(first))]
        return items if any(item is not None for item in items) else None
    return None


def non_default(config) -> dict:
    """A dataclass's fields that differ from their defaults (and those without one), as plain values: what a
    store key holds of a config, so that a field added with a default that keeps today's behaviour re-keys
    nothing (the class's defaults are code of the kinds that read it: a changed default is a code change)."""
    out = {}
    for f in fields(config):
        value = getattr(config, f.name)
        default = f.default if f.default is not MISSING else \
            f.default_factory() if f.default_factory is not MISSING else MISSING
        if default is MISSING or value != default:
            out[f.name] = asdict(value) if is_dataclass(value) else value
    return out
