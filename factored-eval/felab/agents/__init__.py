"""Agents: one interface (``base.Agent``), scripted agents of controlled skill (``scripted``); the chat-model,
cache and local-model agents live beside them (``chat``, ``cache``, ``local``).

Agents are named on the command line as ``NAME[:key=value,...]``, e.g. ``weigher:temperature=0.5`` or
``honest:omit=0.1``. ``resolve`` finds NAME among the scripted agents; any other NAME is looked up as a module
``felab.agents.NAME`` that defines ``make(options: dict[str, str], seed: int, role: str) -> Agent`` (so
``chat:base_url=...,model=...`` reaches ``felab.agents.chat.make``). Values that parse as numbers are numbers for
the scripted agents.
"""

from __future__ import annotations

import importlib

from ..domain import BadInput
from .base import Agent, AgentFactory, ByHonesty, play, seed_for


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """'name:k=v,k2=v2' -> ('name', {'k': 'v', 'k2': 'v2'})."""
    name, _, rest = spec.strip().partition(":")
    opts = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        k, eq, v = part.partition("=")
        if not eq or not k.strip():
            raise BadInput(f"agent {spec!r}: options are key=value separated by commas, e.g. weigher:temperature=0.5")
        opts[k.strip()] = v.strip()
    if not name:
        raise BadInput(f"agent {spec!r}: give a name, e.g. weigher, honest, malicious")
    return name, opts


def _number(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def resolve(spec: str, seed: int = 0, role: str = "judge") -> Agent:
    """The agent a spec names (see the module docstring); ``BadInput`` naming the known agents otherwise."""
    from .scripted import EXPERTS, JUDGES

    name, opts = parse_spec(spec)
    table = JUDGES if role == "judge" else EXPERTS
    if name in table:
        try:
            return table[name](name=spec, seed=seed, **{k: _number(v) for k, v in opts.items()})
        except TypeError as e:
            raise BadInput(f"agent {spec!r}: {e}") from None
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        module = None
    if module is None or not hasattr(module, "make"):
        raise BadInput(f"no {'judge' if role == 'judge' else 'expert'} agent {name!r}; scripted ones: "
                       f"{', '.join(sorted(table))}")
    return module.make(opts, seed, role)


def judge_factory(spec: str, seed: int = 0) -> AgentFactory:
    """A factory of fresh judges (one per game, sub-game and claim-tree step); checked once up front."""
    resolve(spec, seed, "judge")
    return lambda: resolve(spec, seed, "judge")


def expert_seats(specs: list[str], seed: int = 0) -> dict[str, Agent]:
    """Seat agents from 'honest-side[,dishonest-side]' specs: every expert seat plays the first when it argues
    the correct option and the second otherwise (one spec plays both)."""
    if not specs:
        return {}
    if len(specs) > 2:
        raise BadInput("--experts takes one or two agents: the honest side's and the dishonest side's")
    honest = resolve(specs[0], seed, "expert")
    dishonest = resolve(specs[-1], seed, "expert")
    seat = ByHonesty(honest, dishonest)
    return {"expert0": seat, "expert1": seat}


__all__ = ["Agent", "AgentFactory", "ByHonesty", "play", "seed_for", "parse_spec", "resolve", "judge_factory",
           "expert_seats"]
