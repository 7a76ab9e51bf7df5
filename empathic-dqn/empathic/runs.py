"""Finished training runs on disk: ``OUT/runs/<name>/`` with ``run.json`` and ``agent.safetensors``.

A run folder is written whole into a private sibling and renamed into place (``verdicts.atomic_folder``), so
an interrupted reproduction leaves only finished runs, and the next one resumes by reading them (a run is
reused only under the same settings: ``run.json`` records them). Checkpoints are safetensors: loading one runs no code.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from verdicts import atomic_folder

from .agent import Population
from .settings import BEFORE_0_2, DEFAULT_RULES, REFERENCE_RULES, Settings
from .training import Run


class CheckpointError(Exception):
    """A checkpoint that is missing or unreadable (the CLI makes it a one-line error)."""


def variant(s: Settings) -> str:
    """The run's rules in a name: "" for the defaults, else each rule that differs ("reference" when all the
    reference's that differ from the defaults are set)."""
    changed = {k: v for k, v in s.rules().items() if v != DEFAULT_RULES[k]}
    if changed and changed == {k: v for k, v in REFERENCE_RULES.items() if v != DEFAULT_RULES[k]}:
        return "reference"
    return "+".join(f"{k}={v}" for k, v in sorted(changed.items()))


def run_name(run: Run) -> str:
    rules = variant(run.settings)
    return f"{run.world}{'-' + rules if rules else ''}-beta{run.beta:g}-seed{run.seed}"


def finished(out: Path, run: Run) -> dict | None:
    """The stored result of this run under these settings, or None."""
    record = Path(out) / "runs" / run_name(run) / "run.json"
    if not record.is_file():
        return None
    try:
        stored = json.loads(record.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(stored.get("settings"), dict):
        return None
    recorded = {**BEFORE_0_2, **stored["settings"]}  # a run of 0.1.0 ran by the rules that were not yet switches
    return stored if recorded == json.loads(json.dumps(run.settings.run_key())) else None


def save(out: Path, pop: Population, i: int, run: Run, result: dict) -> Path:
    final = Path(out) / "runs" / run_name(run)
    with atomic_folder(final) as partial:
        save_file(pop.member_state(i), str(partial / "agent.safetensors"))
        (partial / "run.json").write_text(json.dumps({**result, "settings": run.settings.run_key()}, indent=1))
    return final


def load(folder: Path) -> tuple[Population, Run, dict]:
    """A run's agent (a population of one), the run and its record, from a run folder (or its agent.safetensors)."""
    folder = Path(folder)
    folder = folder.parent if folder.name == "agent.safetensors" else folder
    weights, record = folder / "agent.safetensors", folder / "run.json"
    if not weights.is_file() or not record.is_file():
        raise CheckpointError(f"{folder} is not a run folder (it needs agent.safetensors and run.json, as "
                              f"'empathic train' writes them)")
    try:
        stored = json.loads(record.read_text())
        # a run of 0.1.0 records no value for the rules that were not yet switches: it ran by BEFORE_0_2's
        s = Settings(**{**BEFORE_0_2, **{k: tuple(v) if isinstance(v, list) else v
                                         for k, v in stored["settings"].items()}})
        run = Run(stored["world"], stored["beta"], stored["seed"], s)
        pop = Population([run.beta], [run.seed], [s], s.gamma, s.lr, s.window)
        pop.load_member(0, load_file(str(weights)))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError, SafetensorError) as err:
        raise CheckpointError(f"{folder}: unreadable checkpoint ({type(err).__name__}: {err}); "
                              "train it again") from None
    return pop, run, stored
