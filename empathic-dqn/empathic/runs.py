"""Finished training runs on disk: ``OUT/runs/<world>-beta<b>-seed<s>/`` with ``run.json`` and ``agent.safetensors``.

A run folder is written whole into a private sibling and renamed into place, so an interrupted reproduction
leaves only finished runs, and the next one resumes by reading them (a run is reused only under the same
settings: ``run.json`` records them). Checkpoints are safetensors: loading one runs no code.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from .agent import Agent
from .settings import Settings


class CheckpointError(Exception):
    """A checkpoint that is missing or unreadable (the CLI makes it a one-line error)."""


def run_settings(s: Settings) -> dict:
    """What a single run depends on: the settings without the list of seeds and betas a reproduction runs."""
    return {k: v for k, v in s.to_dict().items() if k not in ("seeds", "betas")}


def run_name(world: str, beta: float, seed: int) -> str:
    return f"{world}-beta{beta:g}-seed{seed}"


def finished(out: Path, world: str, beta: float, seed: int, s: Settings) -> dict | None:
    """The stored result of this run under these settings, or None."""
    record = Path(out) / "runs" / run_name(world, beta, seed) / "run.json"
    if not record.is_file():
        return None
    try:
        run = json.loads(record.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return run if run.get("settings") == run_settings(s) else None


def save(out: Path, agent: Agent, run: dict, s: Settings) -> Path:
    final = Path(out) / "runs" / run_name(run["world"], run["beta"], run["seed"])
    partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file(agent.state_dict(), str(partial / "agent.safetensors"))
    (partial / "run.json").write_text(json.dumps({**run, "settings": run_settings(s)}, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return final


def load(folder: Path) -> tuple[Agent, dict, Settings]:
    """An agent and its run from a run folder (or its agent.safetensors)."""
    folder = Path(folder)
    folder = folder.parent if folder.name == "agent.safetensors" else folder
    weights, record = folder / "agent.safetensors", folder / "run.json"
    if not weights.is_file() or not record.is_file():
        raise CheckpointError(f"{folder} is not a run folder (it needs agent.safetensors and run.json, as "
                              f"'empathic train' writes them)")
    try:
        run = json.loads(record.read_text())
        s = Settings(**{k: tuple(v) if isinstance(v, list) else v for k, v in run["settings"].items()})
        agent = Agent(beta=run["beta"], gamma=s.gamma, lr=s.lr, window=s.window, seed=run["seed"])
        agent.load_state_dict(load_file(str(weights)))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{folder}: unreadable checkpoint ({type(err).__name__}: {err}); "
                              "train it again") from None
    return agent, run, s
