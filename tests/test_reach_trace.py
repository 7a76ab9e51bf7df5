"""What a store step actually runs, traced, against the code ``versions.reach`` says keys it.

``reach`` reads the source: its misses are silent (an edit to a function it did not see keeps stale numbers).
Here a tiny run of the paper experiment builds the kinds it needs under a profiler that records each notbugs or
kernel function its ``make`` calls (not the store's own machinery: a call made from a ``versions.NEUTRAL``
module is its bookkeeping). Each must be in the code of the kind being built, or of a kind that code reached (an
input, keyed by its version), or, for a picture, in the code of the drawing it was given (``Lab.picture`` keys
it by that code).
"""

import sys
from pathlib import Path

import pytest

import notbugs
import verdicts
from notbugs.frame import lab as lab_module
from notbugs.store import pipeline, versions

ROOTS = {Path(notbugs.__file__).parent: "", Path(verdicts.__file__).parent: "verdicts"}


def _where(code) -> str | None:
    """``module:Top`` or ``module:Class.method`` of a function's code (nested functions, lambdas and
    comprehensions belong to the definition they sit in), None outside notbugs and the kernel."""
    path = Path(code.co_filename)
    for root, prefix in ROOTS.items():
        if path.is_relative_to(root):
            parts = [*([prefix] if prefix else []), *path.relative_to(root).with_suffix("").parts]
            module = ".".join(parts).removesuffix(".__init__").removesuffix("__init__")
            qual = code.co_qualname.split(".<locals>")[0]
            return None if qual == "<module>" else f"{module}:{qual}"
    return None


def _covered(name: str, code: dict) -> bool:
    module, _, qual = name.partition(":")
    return name in code or f"{module}:{qual.split('.')[0]}" in code or f"{module}:*" in code or \
        module in versions.NEUTRAL  # the store's own functions, a progress bar: they change no number


def _reached(roots) -> dict:
    """The code ``roots`` reach, and the code of every kind they reach."""
    code, kinds = versions.reach(roots, versions._roots())
    code = dict(code)
    for kind in kinds:
        code.update(versions.kind_code(kind))
    return code


@pytest.mark.slow
def test_every_function_a_step_runs_is_in_its_kinds_code(tmp_path, monkeypatch):
    from notbugs.running.runner import make_preset, run_experiments

    ran: dict[str, set[str]] = {}
    where: dict = {}
    drawings: set[str] = set()
    steps: list[str] = []

    def named(code):
        if code not in where:
            where[code] = _where(code)
        return where[code]

    def profile(frame, event, arg):
        if event != "call" or named(frame.f_code) is None:
            return
        caller = frame.f_back
        while caller is not None and caller.f_code is not traced_make.__code__:
            name = named(caller.f_code)
            if name and name.partition(":")[0] in versions.NEUTRAL:
                return  # the store's bookkeeping on the step's behalf
            caller = caller.f_back
        ran[steps[-1]].add(named(frame.f_code))

    def traced_make(make, b):
        sys.setprofile(profile)
        try:
            return make(b)
        finally:
            sys.setprofile(None)

    real_build, real_picture = pipeline.Store._build, lab_module.Lab.picture

    def build(self, kind, key, params, inputs, make, label, *rest):
        # imported models are stored as kind "model" under the import kind's version (frame.training: Training.imported)
        step = "import" if kind == "model" and label.startswith(("import ", "in-memory ")) else kind
        if step not in versions.STEPS:
            return real_build(self, kind, key, params, inputs, make, label, *rest)
        steps.append(step)
        ran.setdefault(step, set())
        try:
            return real_build(self, kind, key, params, inputs, lambda b: traced_make(make, b), label, *rest)
        finally:
            steps.pop()

    def picture(self, label, params, inputs, draw):
        drawings.add(f"{draw.__module__.removeprefix('notbugs.')}:{draw.__code__.co_qualname.split('.')[0]}")
        return real_picture(self, label, params, inputs, draw)

    monkeypatch.setattr(pipeline.Store, "_build", build)
    monkeypatch.setattr(lab_module.Lab, "picture", picture)
    res = run_experiments(["paper"], make_preset("tiny"), out=tmp_path / "o", cache=tmp_path / "c", progress=False)
    assert res["experiments"]["paper"]["status"] == "done", res["experiments"]["paper"].get("error")
    assert {"model", "dataset", "eval", "picture"} <= ran.keys() and drawings  # it saw real builds: it can fail
    missed = {}
    for kind, names in ran.items():
        allowed = _reached(versions.STEPS[kind][2]) | (_reached(sorted(drawings)) if kind == "picture" else {})
        missed[kind] = sorted(n for n in names if not _covered(n, allowed))
    assert not any(missed.values()), "\n".join(f"{kind}: {', '.join(names)}" for kind, names in missed.items())
