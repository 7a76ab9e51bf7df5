"""``notbugs reproduce [NAME ...]``: run experiments of the registry on one lab, collect one results dict.

Every experiment of the registry has an entry in ``results["experiments"]``
(a ``Status``), so the argument map can list every claim of the discussion
whatever ran. An experiment that raises is recorded as an error and the others
still run. When the paper experiment ran, its results also sit at the top
level (the results contract of a paper run).

An experiment's results are a store step of their own, keyed by its settings,
the data's content, the fingerprint of its code and every shared kind's
version: a rerun reads them instead of re-measuring, and an edit to the
experiment recomputes them. Its report section is drawn from the results, never
kept. The pictures its results name are copied into the run folder, so a run
folder can be moved and still renders.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import traceback
from dataclasses import asdict, is_dataclass, replace
from pathlib import Path
from typing import Callable

import torch

from .. import __version__
from ..core.errors import DiskFull, NotbugsError
from ..core.precision import computing, resolve
from ..core.storage import read_json, write_json
from ..core.values import Status
from ..data.content import files_content
from ..experiments.registry import REGISTRY, by_name, references
from ..frame.base import Experiment, claim_rows
from ..frame.config import apply_fields
from ..frame.lab import Lab
from ..frame.presets import Preset, get_preset
from ..frame.recipes import with_recipe
from ..store.pipeline import Build, Store, said
from ..store.versions import all_versions, code_key, snapshot

PAPER_TOP_LEVEL = ("arch", "num_classes", "threat", "models", "datasets", "artifacts")
COST, PROVENANCE = "cost.json", "provenance.json"


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


def check_device(device: str) -> None:
    """A device the machine has, before any work (a missing GPU is one line, not a traceback after the report)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise NotbugsError(f"unknown device '{device}'; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise NotbugsError(f"--device {device}: this machine has no CUDA device (or this torch is the CPU build);"
                               " use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise NotbugsError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":
        raise NotbugsError(f"--device {device}: notbugs computes on cpu or cuda")


def make_preset(name: str | None = None, *, seed: int | None = None, dataset: str | None = None,
                device: str | None = None, given: dict[str, str] | None = None, given_arch: str | None = None,
                overrides: dict | None = None, recipe: tuple[str, ...] = ()) -> Preset:
    """A preset with the command line's changes, in this order: the preset by name (default: the overrides'
    ``name``, else quick), its dataset (``dataset``, else the overrides'), the parts of the paper's recipe
    (``frame.recipes``), the overrides' fields (a config and ``--set``, checked), the seed of every step (where
    ``seed`` is given), the device; ``given`` models replace trained ones."""
    overrides = dict(overrides or {})
    base = overrides.pop("name", None)
    preset = get_preset(name or base or "quick")
    dataset = dataset or overrides.pop("dataset", None)
    overrides.pop("dataset", None)
    if dataset:
        preset = preset.on_dataset(dataset)
    if recipe:
        preset = with_recipe(preset, recipe)
    if overrides:
        preset = apply_fields(preset, overrides)
        for exp, changes in preset.experiments.items():
            experiment_settings(exp, preset)  # a wrong name or field is said now, before anything runs
    if seed is not None:
        preset = preset.with_seed(seed)
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


def event_log(path: Path, then: Callable[[dict], None] | None = None) -> Callable[[dict], None]:
    """An ``on_event`` that appends each event to ``path`` as one JSON line (for a cluster job's log readers and
    scripts), then calls ``then``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(event: dict) -> None:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, default=str) + "\n")
        if then:
            then(event)
    return log


def experiment_settings(name: str, preset: Preset):
    """An experiment's settings at this preset, with the preset's changes to them (``preset.experiments``)."""
    e = by_name().get(name)
    if e is None:
        raise NotbugsError(f"unknown experiment '{name}' in the config's experiments; valid: "
                           f"{', '.join(x.name for x in REGISTRY)}")
    if preset.name not in e.settings:
        raise NotbugsError(f"experiment '{name}' has no settings for preset '{preset.name}' (it has "
                           f"{', '.join(e.settings)})")
    settings = e.settings[preset.name](preset)
    changes = preset.experiments.get(name)
    return apply_fields(settings, changes, f"experiments.{name}") if changes else settings


def _without_overrides(settings: dict) -> dict:
    """A preset's (or a preset-shaped settings') fields without the per-experiment changes, which are in each
    experiment's own settings: another experiment's override does not re-measure this one."""
    return {k: v for k, v in settings.items() if k != "experiments"}


def _plain(settings) -> dict:
    return asdict(settings) if is_dataclass(settings) else dict(settings or {})


def _entry(e: Experiment, status: Status, preset: Preset, reason: str = "") -> dict:
    return {"title": e.title, "question": e.question, "method": e.method, "status": status, "reason": reason,
            "results": None, "claims": claim_rows(e, None, preset=preset), "timings": {}, "error": None,
            "settings": None, "artifacts": []}


def code_version() -> dict:
    """The package version and, in a git checkout, the commit (and whether the tree had edits)."""
    out = {"notbugs": __version__, "torch": torch.__version__}
    here = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5)
        if commit.returncode == 0:
            out["commit"] = commit.stdout.strip()
            dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "notbugs"],
                                   capture_output=True, text=True, timeout=5)
            out["edited"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return out


class Progress:
    """One line per step: elapsed time and what remains by the experiments' measured costs."""

    def __init__(self, costs: list[float | None], say: Callable[[str], None], unknown: str = "no estimate"):
        self.costs, self.say, self.unknown = costs, say, unknown
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
        eta = f"~{left / 60:.0f} min left" if left is not None else self.unknown
        self.say(f"[{elapsed / 60:5.1f} min | {eta}] {self.name}: {label}{' (cached)' if cached else ''}")


def _relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies inside it, else absolute: what results name a store by."""
    path, base = Path(path).resolve(), Path(base).resolve()
    return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)


def _inputs_content(lab: Lab, e: Experiment, settings) -> dict:
    """What an experiment's results depend on besides its settings and code: the content of every dataset it
    reads and of every model the user gave."""
    content = {"data": lab.data.key}
    for name in e.extra_data(settings):
        try:
            content[f"data {name}"] = lab.load_data(name).key
        except NotbugsError:
            content[f"data {name}"] = "missing"
    for role in sorted(lab.modules):
        content[f"given {role}"] = f"in-memory {lab.in_memory(role).key}"
    for role, path in sorted(lab.preset.given.items()):
        path = Path(path)
        files = {"model": path / "model.safetensors", "manifest": path / "manifest.json"} if path.is_dir() \
            else {"model": path}
        content[f"given {role}"] = files_content(files)
    return content


def open_lab(preset: Preset, cache: Path, *, progress: bool = True, modules: dict | None = None,
             **store_options) -> Lab:
    """A lab on ``preset`` over the store at ``cache``, keyed as a reproduction keys its steps (the preset's device
    and resolved precision), so whatever a reproduction built there is found, e.g. by ``notbugs bench --passes``."""
    precision = resolve(preset.precision, preset.device)
    store = Store(cache, device=preset.device, precision=precision, **store_options)
    return Lab(preset, store, precision=precision, progress=progress, modules=modules)


def run_experiments(names: list[str], preset: Preset, *, out: Path, cache: Path | None = None,
                    progress: bool = True, say: Callable[[str], None] | None = None,
                    on_update: Callable[[dict], None] | None = None, rebuild: tuple[str, ...] = (),
                    read_only: bool = False, on_event: Callable[[dict], None] | None = None,
                    write_to: Path | None = None, events: Path | None = None,
                    models: dict | None = None) -> dict:
    """Run the named experiments; ``on_update(results)`` after each one (the CLI rewrites the report there).
    ``out`` is the run folder results name their store and pictures relative to; ``write_to`` is where its files
    are written meanwhile (the CLI's private sibling, moved to ``out`` when the run ends; default ``out``);
    ``events`` a file each step's events are appended to as JSON lines (step, kind, key, event, seconds, time);
    ``models`` in-memory modules ({"std": ..., "adv": ...}, e.g. ``notbugs.wrap``-ped) to use instead of training
    those models."""
    chosen = select(names)
    check_device(preset.device)
    snapshot()
    out = Path(out)
    write_to = Path(write_to) if write_to is not None else out
    unknown = set(models or {}) - {"std", "adv"}
    if unknown:
        raise NotbugsError(f"models are given as the standard ('std') or the robust ('adv') one, not {sorted(unknown)}")
    lab = open_lab(preset, cache or out / "cache", progress=progress, modules=models, rebuild=rebuild,
                   read_only=read_only, on_event=event_log(events, on_event) if events else on_event)
    results = _header(lab, chosen, out)
    todo = _plan(chosen, lab, results)
    say = say or (lambda line: None)
    _say_missing_data(todo, lab, say)
    tracker = _progress(todo, preset, say)
    lab.store.on_step = tracker.step
    start = time.perf_counter()
    for i, e in enumerate(todo):
        tracker.begin(i, e.name)
        stored = _run_one(e, lab, results, rebuild=rebuild, write_to=write_to, on_start=on_update)
        _totals(results, lab.store, start)
        if on_update and not stored:
            on_update(results)
    return results


def _header(lab: Lab, chosen: list[Experiment], out: Path) -> dict:
    """The results dict before any experiment ran: what runs where, with which settings and code."""
    preset, store = lab.preset, lab.store
    return {"dataset": lab.data.name, "preset": preset.name, "seed": lab.seed, "device": preset.device,
            "requested": [e.name for e in chosen], "experiments": {}, "reference": references(),
            "settings": preset.to_dict(), "timings": {}, "store": _relative(store.root, out),
            "context": store.context, "code": code_version(), "warnings": []}


def _plan(chosen: list[Experiment], lab: Lab, results: dict) -> list[Experiment]:
    """Every experiment of the registry gets its entry (pending, or not run and why); the ones to run, in order.
    An experiment asked for alone that cannot run here is one line, before any work."""
    preset, todo = lab.preset, []
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
        results["experiments"][e.name] = _entry(e, Status.PENDING if not reason else Status.NOT_RUN, preset, reason)
    return todo


def _say_missing_data(todo: list[Experiment], lab: Lab, say: Callable[[str], None]) -> None:
    """Before any work: which parts will not run for want of a dataset."""
    for e in todo:
        for name in e.extra_data(experiment_settings(e.name, lab.preset)):
            try:
                lab.load_data(name)
            except NotbugsError as exc:
                say(f"{e.name}: {exc} The parts of {e.name} that need {name} will be shown as not run.")


def _progress(todo: list[Experiment], preset: Preset, say: Callable[[str], None]) -> Progress:
    """The progress lines, with time left from the experiments' measured costs where they apply here."""
    measured_on = get_preset(preset.name).dataset  # the experiments' costs were measured on it
    same = preset.dataset == measured_on and not preset.given
    return Progress([e.cost.get(preset.name) if same else None for e in todo], say,
                    unknown="no estimate" if same else f"time left unknown (costs measured on {measured_on})")


def _run_one(e: Experiment, lab: Lab, results: dict, *, rebuild: tuple[str, ...], write_to: Path,
             on_start: Callable[[dict], None] | None) -> bool:
    """One experiment as a store step, its entry filled in: results, claims, status or the error that stopped
    it (a full disk stops the run; bad input is one line; anything else is recorded with its traceback and the
    other experiments still run), and its timings. Whether its results came from the store."""
    store, entry = lab.store, results["experiments"][e.name]
    settings = experiment_settings(e.name, lab.preset)
    entry["settings"] = _plain(settings)
    params = {"experiment": e.name, "settings": _without_overrides(entry["settings"]),
              "preset": _without_overrides(lab.preset.to_dict()), "inputs": _inputs_content(lab, e, settings)}
    # a composite step: the shared steps it asks for are found by their keys only when it runs, so every
    # shared kind's version is in its key
    version = {"code": code_key(e.run)["code"], "shared": all_versions()}
    stored = store.has("results", params, version=version) and not rebuild
    entry["status"] = Status.RUNNING
    if on_start and not stored:
        on_start(results)
    first_step, t0 = len(store.log), time.perf_counter()
    art = None
    try:
        with said() as warned:
            art = store.get("results", params, lambda b: _measured(e, settings, lab, b),
                            label=f"results of {e.name}", version=version, record=False, composite=True,
                            group=e.name)
        entry["warnings"] = warned
        results["warnings"] += [f"{e.name}: {w}" for w in warned if f"{e.name}: {w}" not in results["warnings"]]
        entry["results"] = art.summary
        entry["claims"] = claim_rows(e, e.judge(entry["results"], settings), preset=lab.preset)
        entry["status"] = Status.DONE
        entry["artifacts"] = read_json(art.file(PROVENANCE))["steps"] + [
            {"step": f"results of {e.name}", "kind": "results", "key": art.key}]
        _copy_pictures(art.path / "pictures", write_to / "pictures")
    except DiskFull:
        raise
    except NotbugsError as exc:
        entry.update(status=Status.ERROR, error=str(exc), claims=claim_rows(e, None, error=str(exc)))
    except Exception as exc:  # noqa: BLE001 - one experiment's failure must not stop the others
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        entry.update(status=Status.ERROR, error=message, claims=claim_rows(e, None, error=message),
                     traceback=traceback.format_exc())  # in results.json, for whoever debugs it
    steps = store.log[first_step:]
    entry["timings"] = {"wall": round(time.perf_counter() - t0, 2),
                        # from scratch: the whole experiment as first measured (its steps and the rest)
                        "uncached": round(read_json(art.file(COST))["uncached"] if art
                                          else sum(s["build_seconds"] for s in steps), 2),
                        "steps": {s["step"]: s["build_seconds"] for s in steps}, "from_store": stored}
    if e.name == "paper" and entry["results"] is not None:  # the results contract of a paper run
        results.update({k: entry["results"][k] for k in PAPER_TOP_LEVEL})
        results["claims"] = entry["claims"]
    return stored


def _totals(results: dict, store: Store, start: float) -> None:
    """The run's steps and timings so far."""
    results["steps"] = store.log
    results["timings"] = {**{s["step"]: s["build_seconds"] for s in store.log},
                          "total_this_run": round(time.perf_counter() - start, 2),
                          "total_uncached": round(sum(x["timings"]["uncached"] for x in
                                                      results["experiments"].values() if x["timings"]), 2)}


def _measured(e: Experiment, settings, lab: Lab, b: Build) -> dict:
    """Run an experiment as a store step; beside its results, what it costs from scratch (its own time plus the
    first-build time of every shared step it used, cached or not) and which steps its numbers come from."""
    first, start = len(lab.store.log), time.perf_counter()
    with computing(lab.precision, lab.device):
        results = e.run(settings, lab.for_experiment(e.name, b.folder / "pictures"))
    inner = lab.store.log[first:]
    own = time.perf_counter() - start - sum(s["seconds"] for s in inner)
    write_json(b.folder / COST, {"uncached": own + sum(s["build_seconds"] for s in inner)})
    write_json(b.folder / PROVENANCE, {"steps": [{k: s[k] for k in ("step", "kind", "key")} for s in inner]})
    return results


def _copy_pictures(source: Path, dest: Path) -> None:
    if source.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        for picture in source.iterdir():
            if not (dest / picture.name).is_file():  # named by content: an existing copy is the same picture
                shutil.copyfile(picture, dest / picture.name)


def artifact_path(results: dict, ref: str, base: Path) -> Path:
    """The folder of an artifact a results dict names (``kind/key``), for results that sit in ``base``."""
    return (Path(base) / results["store"] / ref).resolve()


def failed(results: dict) -> list[str]:
    return [name for name, entry in results["experiments"].items() if entry["status"] == Status.ERROR]
