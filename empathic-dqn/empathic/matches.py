"""Pluggable policies for the N-agent worlds (``multi.py``), and a match: train the learners among them, then
evaluate every agent.

A policy drives one or more agents of a ``ParallelEnv``: ``act(observations, infos)`` returns an action for each of
its agents still in the game, ``record(...)`` sees each step's outcome (learners learn there). Built in:

- ``Learners``: DQN and Empathic DQN agents (``agent.Population``: one stacked network per agent, its own replay,
  generator and beta), on the preset's schedule (one update of 32 per step, the target copied every
  ``target_every`` steps, epsilon falling over ``epsilon_decay_steps``). An empathic agent's "swap" is the view in
  ``infos[agent]["other_view"]``: its closest living other's.
- ``RandomPolicy``: uniform actions (the scripted other of Coexistence).
- ``PathPolicy``: Sharing's scripted other, up every seventh step, else right.

``match(world, specs)`` runs one: ``empathic match coexistence --agents empathic,empathic`` or ``--agents
selfish,empathic``. A spec is ``empathic`` (beta 0.5), ``selfish`` (beta 1), ``beta=B``, ``random`` or ``path``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from .agent import Population, Replay
from .multi import PARALLEL
from .settings import Settings
from .training import epsilon_at
from .worlds import ACTIONS


class Policy(Protocol):
    agents: list[str]

    def act(self, observations: dict, infos: dict, epsilon: float | None = None) -> dict[str, int]: ...

    def record(self, observations, actions, rewards, next_observations, terminations, truncations, infos,
               next_infos) -> None: ...


class RandomPolicy:
    """Uniform actions, from its own generator."""

    def __init__(self, agents: list[str], seed: int):
        self.agents, self.rng = agents, np.random.default_rng(seed)

    def act(self, observations, infos, epsilon=None):
        return {a: int(self.rng.integers(ACTIONS)) for a in self.agents if a in observations}

    def record(self, *outcome) -> None:
        pass


class PathPolicy:
    """Sharing's scripted other: up (action 1) every seventh step, else right (2)."""

    def __init__(self, agents: list[str]):
        self.agents = agents

    def act(self, observations, infos, epsilon=None):
        return {a: 1 if infos[a].get("step", 0) % 7 == 0 else 2 for a in self.agents if a in observations}

    def record(self, *outcome) -> None:
        pass


class Learners:
    """DQN (beta 1) and Empathic DQN agents of one game, their networks stacked in one ``Population``."""

    def __init__(self, agents: list[str], betas: list[float], seed: int, s: Settings, device: str = "cpu"):
        self.agents, self.s, self.steps = agents, s, 0
        seeds = [seed * 100 + k for k in range(len(agents))]
        self.pop = Population(betas, seeds, [s] * len(agents), s.gamma, s.lr, s.window, device)
        self.replay = Replay(len(agents), min(s.replay_size, s.steps), s.window, self.pop.device)
        self.rngs = [np.random.default_rng(x) for x in seeds]
        self.limit_terminal = s.time_limit == "terminal"

    def _views(self, observations: dict, infos: dict) -> torch.Tensor:
        zero = np.zeros((self.s.window,) * 2, np.float32)
        return torch.from_numpy(np.stack([np.stack([observations.get(a, zero), infos.get(a, {}).get("other_view",
                                                                                                    zero)])
                                          for a in self.agents]))

    def act(self, observations, infos, epsilon=None):
        if epsilon is None:
            learning = self.steps >= self.s.replay_start
            epsilon = epsilon_at(self.steps - self.s.replay_start, self.s) if learning else 1.0
        actions, _ = self.pop.act(self._views(observations, infos), epsilon, self.rngs)
        return {a: int(x) for a, x in zip(self.agents, actions.tolist()) if a in observations}

    def record(self, observations, actions, rewards, next_observations, terminations, truncations, infos,
               next_infos) -> None:
        """Store each of its agents' transitions of this step, then one update for every agent."""
        acted = np.array([a in actions for a in self.agents])
        if not acted.any():
            return
        get = lambda d: np.array([float(d.get(a, 0)) for a in self.agents], np.float32)  # noqa: E731
        done = get(terminations) + (get(truncations) if self.limit_terminal else 0)
        alive = np.array([float(next_infos.get(a, {}).get("other_alive", False)) for a in self.agents], np.float32)
        action = torch.tensor([actions.get(a, 0) for a in self.agents])
        self.replay.add(self._views(observations, infos), action, torch.from_numpy(get(rewards)),
                        self._views(next_observations, next_infos), torch.from_numpy(np.minimum(done, 1)),
                        torch.from_numpy(alive), members=acted)
        if self.steps >= self.s.replay_start:
            if (self.steps - self.s.replay_start) % self.s.target_every == 0:
                self.pop.sync_target()
            self.pop.update(self.replay.sample(self.s.batch_size, self.rngs))
        self.steps += 1


def policies(world: str, specs: list[str], seed: int, s: Settings) -> list:
    """The policies of a game from its agents' specs (one per agent, in agent order); learners share one."""
    names = [f"agent_{i}" for i in range(len(specs))]
    betas = {"empathic": 0.5, "selfish": 1.0}
    learners, out = [], []
    for k, (name, spec) in enumerate(zip(names, specs)):
        if spec in betas or spec.startswith("beta="):
            try:
                b = betas.get(spec) if spec in betas else float(spec.removeprefix("beta="))
            except ValueError:
                raise ValueError(f"an agent's beta is a number in [0, 1], got '{spec}'") from None
            if not 0 <= b <= 1:
                raise ValueError(f"an agent's beta (selfishness) lies in [0, 1], got {b:g}")
            learners.append((name, b))
        elif spec == "random":
            out.append(RandomPolicy([name], seed * 100 + 50 + k))
        elif spec == "path" and world == "sharing":
            out.append(PathPolicy([name]))
        else:
            raise ValueError(f"an agent is empathic, selfish, beta=B, random or (in sharing) path; got '{spec}'")
    if learners:
        out.insert(0, Learners([n for n, _ in learners], [b for _, b in learners], seed, s))
    return out


def _outcome(world: str, env, players: list, episodes: int, seed: int, epsilon: float | None,
             learn: bool, steps: int | None = None) -> dict[str, list[dict]]:
    """Play until ``episodes`` games (or ``steps`` steps) are over; each agent's statistics per game."""
    rows: dict[str, list[dict]] = {a: [] for a in env.possible_agents}
    games = taken = 0
    observations, infos = env.reset(seed=seed)
    totals = {a: {"return": 0.0, "length": 0, "kills": 0} for a in env.possible_agents}
    while (steps is None and games < episodes) or (steps is not None and taken < steps):
        actions, live = {}, {a: observations[a] for a in env.agents}  # the dead's last observations stay out
        for p in players:
            actions.update(p.act(live, infos, epsilon))
        nxt, rewards, terminations, truncations, next_infos = env.step(actions)
        if learn:
            for p in players:
                p.record(observations, actions, rewards, nxt, terminations, truncations, infos, next_infos)
        for a in actions:
            t = totals[a]
            t["return"] += rewards[a]
            t["length"] += 1
            t["kills"] += next_infos[a].get("killed", 0)
            if terminations[a] or truncations[a]:
                extra = ({"killed_other": float(t["kills"] > 0), "died": float(next_infos[a]["died"])}
                         if world == "coexistence" else {"coins": next_infos[a]["coins"],
                                                         "equality": next_infos[a]["equality"]})
                rows[a].append({"return": t["return"], "length": t["length"], **extra})
        taken += 1
        observations, infos = nxt, next_infos
        if not env.agents:
            games += 1
            observations, infos = env.reset(seed=seed + games)
            totals = {a: {"return": 0.0, "length": 0, "kills": 0} for a in env.possible_agents}
    return rows


def match(world: str, specs: list[str], seed: int, s: Settings, episodes: int = 20) -> dict:
    """Train the learners among the agents for ``s.steps`` steps, then play ``episodes`` games at the evaluation
    epsilon; each agent's spec and mean statistics."""
    if len(specs) < 2:
        raise ValueError(f"a match needs two agents or more, got {len(specs)}")
    env = PARALLEL[world](agents=len(specs), size=s.size, window=s.window, max_steps=s.max_steps)
    players = policies(world, specs, seed, s)
    _outcome(world, env, players, 0, seed * 1000, None, learn=True, steps=s.steps)
    rows = _outcome(world, env, players, episodes, 10_000 + 1000 * seed, s.eval_epsilon, learn=False)
    return {a: {"policy": spec, "games": len(rows[a]),
                **{k: float(np.mean([r[k] for r in rows[a]])) for k in rows[a][0]}}
            for a, spec in zip(env.possible_agents, specs)}
