"""``notbugs reproduce [NAME ...]``: run experiments of the registry on one lab, collect one results dict.

Every experiment of the registry has an entry in ``results["experiments"]``
(status done / error / not run / running / pending), so the argument map can
list every claim of the discussion whatever ran. An experiment that raises is
recorded as an error and the others still run. When the paper experiment ran,
its results also sit at the top level (the results contract of a paper run).
"""

from __future__ import annotations

import time
from dataclasses import asdict, is_dataclass, replace
from pathlib import Path
from typing import Callable

from ..errors import NotbugsError
from ..pipeline import Store
from ..reference import all_reference
from ..storage import atomic_write_bytes, read_json, write_json
from .base import ERROR, NOT_RUN, Experiment, claim_rows
from .lab import Lab
from .presets import Preset, get_preset
from .registry import REGISTRY, by_name

PAPER_TOP_LEVEL = ("arch", "num_classes", "threat", "models", "datasets", "artifacts")


def select(names: list[str]) -> list[Experiment]:
    """The experiments named (``all`` = every one, none = the paper), in the registry's order."""
    names = names or ["paper"]
    if "all" in names:
        return list(REGISTRY)
    known = by_name()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise NotbugsError(f"unknown experiment {', '.join(repr(n) for n in unknown)}; use one of "
                           f"{', '.join(known)} or all ('notbugs reproduce --list' says what each does)")
    return [e for e in REGISTRY if e.name in names]


def make_preset(name: str, *, seed: int = 0, dataset: str | None = None, device: str | None = None,
                given: dict[str, str] | None = None, given_arch: str | None = None) -> Preset:
    """A preset for one seed, with the command line's overrides; ``given`` models replace trained ones."""
    preset = get_preset(name).with_seed(seed)
    if dataset:
        preset = preset.on_dataset(dataset)
    if device:
        preset = replace(preset, device=device)
    given = {k: str(v) for k, v in (given or {}).items() if v}
    for role, path in given.items():
        if role not in ("std", "adv"):
            raise NotbugsError(f"a given model is the standard ('std') or the robust ('adv') one, not '{role}'")
        if not Path(path).exists():
            raise NotbugsError(f"{path} does not exist; give a run folder, a .pt state dict or a robustness checkpoint")
        if not Path(path).is_dir() and not given_arch:
            raise NotbugsError(f"{path} is not a run folder; say its architecture with --model-arch "
                               "(e.g. madry-resnet50 for the paper's released CIFAR-10 models)")
    if given:
        preset = replace(preset, given=given, given_arch=given_arch)
    return preset


def _plain(settings) -> dict:
    return asdict(settings) if is_dataclass(settings) else dict(settings or {})


def _entry(e: Experiment, status: str, reason: str = "") -> dict:
    return {"title": e.title, "question": e.question, "method": e.method, "status": status, "reason": reason,
            "results": None, "claims": claim_rows(e, None), "timings": {}, "error": None, "settings": None}


class Progress:
    """One line per step: elapsed time and what remains by the experiments' measured costs."""

    def __init__(self, costs: list[float | None], say: Callable[[str], None]):
        self.costs, self.say = costs, say
        self.start = time.perf_counter()
        self.current, self.current_start, self.name = -1, self.start, ""

    def begin(self, index: int, name: str) -> None:
        self.current, self.current_start, self.name = index, time.perf_counter(), name

    def remaining(self) -> float | None:
        rest = self.costs[self.current:]
        if any(c is None for c in rest):
            return None
        return max(0.0, rest[0] - (time.perf_counter() - self.current_start)) + sum(rest[1:])

    def step(self, label: str, cached: bool) -> None:
        elapsed = time.perf_counter() - self.start
        left = self.remaining()
        eta = f"~{left / 60:.0f} min left" if left is not None else "no estimate"
        self.say(f"[{elapsed / 60:5.1f} min | {eta}] {self.name}: {label}{' (cached)' if cached else ''}")


def run_experiments(names: list[str], preset: Preset, *, out: Path, cache: Path | None = None,
                    progress: bool = True, say: Callable[[str], None] | None = None,
                    on_update: Callable[[dict], None] | None = None) -> dict:
    """Run the named experiments; ``on_update(results)`` after each one (the CLI rewrites the report there)."""
    chosen = select(names)
    lab = Lab(preset, Store(cache or Path(out) / "cache"), progress=progress)
    results = {"dataset": lab.data.name, "preset": preset.name, "seed": lab.seed, "device": preset.device,
               "requested": [e.name for e in chosen], "experiments": {}, "reference": all_reference(),
               "settings": preset.to_dict(), "timings": {}}
    todo = []
    for e in REGISTRY:
        reason = ""
        if e not in chosen:
            reason = "not requested"
        elif preset.name not in e.settings:
            reason = f"no settings for preset '{preset.name}' (it has {', '.join(e.settings)})"
        elif (why := e.unsupported(lab.data)) is not None:
            reason = why
        if reason and e in chosen and len(chosen) == 1:
            raise NotbugsError(f"experiment '{e.name}' cannot run here: {reason}")
        if not reason:
            todo.append(e)
        results["experiments"][e.name] = _entry(e, "pending" if not reason else NOT_RUN, reason)

    say = say or (lambda line: None)
    for e in todo:  # before any work: which parts will not run for want of a dataset
        for name in e.extra_data(e.settings[preset.name](preset)):
            try:
                lab.load_data(name)
            except NotbugsError as exc:
                say(f"{e.name}: {exc} The parts of {e.name} that need {name} will be shown as not run.")
    tracker = Progress([e.cost.get(preset.name) for e in todo], say)
    lab.store.on_step = tracker.step
    start = time.perf_counter()
    for i, e in enumerate(todo):
        entry = results["experiments"][e.name]
        settings = e.settings[preset.name](preset)
        entry["settings"] = _plain(settings)
        # the whole experiment is a step too: a rerun reads its results instead of re-measuring them (and the
        # page is then written once at the end, not after each experiment)
        config = {"experiment": e.name, "settings": entry["settings"], "preset": preset.to_dict(),
                  "dataset": lab.data.name}
        stored = lab.store.has("results", config)
        entry["status"] = "running"
        if on_update and not stored:
            on_update(results)
        tracker.begin(i, e.name)
        first_step, t0 = len(lab.store.log), time.perf_counter()
        built = None
        try:
            folder, built = lab.store.get("results", config, lambda folder: _measured(e, settings, lab, folder),
                                          f"results of {e.name}", record=False)
            entry["results"] = built["summary"]
            entry["claims"] = claim_rows(e, e.judge(entry["results"], settings))
            entry["status"] = "done"
            entry["section"] = _drawn(e, entry, folder)
        except NotbugsError as exc:
            entry.update(status=ERROR, error=str(exc), claims=claim_rows(e, None, error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - one experiment's failure must not stop the others
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            entry.update(status=ERROR, error=message, claims=claim_rows(e, None, error=message))
        steps = lab.store.log[first_step:]
        entry["timings"] = {"wall": round(time.perf_counter() - t0, 2),
                            # from scratch: the whole experiment as first measured (its steps and the rest)
                            "uncached": round(read_json(folder / COST)["uncached"] if built
                                              else sum(s["build_seconds"] for s in steps), 2),
                            "steps": {s["step"]: s["build_seconds"] for s in steps}, "from_store": stored}
        if e.name == "paper" and entry["results"] is not None:
            results.update({k: entry["results"][k] for k in PAPER_TOP_LEVEL})
            results["claims"] = entry["claims"]
        results["steps"] = lab.store.log
        results["timings"] = {**{s["step"]: s["build_seconds"] for s in lab.store.log},
                              "total_this_run": round(time.perf_counter() - start, 2),
                              "total_uncached": round(sum(x["timings"]["uncached"] for x in
                                                          results["experiments"].values() if x["timings"]), 2)}
        if on_update and not stored:
            on_update(results)
    return results


COST, SECTION = "cost.json", "section.html"


def _measured(e: Experiment, settings, lab: Lab, folder: Path) -> dict:
    """Run an experiment as a store step; beside its results, what it costs from scratch: its own time plus the
    first-build time of every shared step it used, cached or not."""
    first, start = len(lab.store.log), time.perf_counter()
    results = e.run(settings, lab)
    inner = lab.store.log[first:]
    own = time.perf_counter() - start - sum(s["seconds"] for s in inner)
    write_json(folder / COST, {"uncached": own + sum(s["build_seconds"] for s in inner)})
    return results


def _drawn(e: Experiment, entry: dict, folder: Path) -> str:
    """The experiment's report section, drawn once and kept with its results (a rerun draws no figure)."""
    path = folder / SECTION
    if not path.is_file():
        atomic_write_bytes(path, e.section(entry).encode())
    return str(path)


def failed(results: dict) -> list[str]:
    return [name for name, entry in results["experiments"].items() if entry["status"] == ERROR]
