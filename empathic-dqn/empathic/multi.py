"""Both worlds for any number of agents, all of them players, as PettingZoo ``ParallelEnv``s.

``CoexistenceParallel(agents=N)`` and ``SharingParallel(agents=N)`` hold the paper's worlds with N >= 2 agents
named ``agent_0`` ... ``agent_{N-1}``, each choosing its own action every step (the single-agent worlds in
``worlds.py`` script the other one inside the environment). Each agent's observation is its own window of the
board only; the view it would have in the place of its closest living other (the empathic "swap", as the
reference picks the closest other, Coexistence.py:47-58) comes in ``infos[agent]["other_view"]``, all zeros when
no other lives. Which policy drives which agent is the caller's (``matches.py``).

The rules are the two-agent worlds' made symmetric, since no agent is the scripted one any more:

- Coexistence: ``agent_0`` starts in the centre, ``agent_1`` in the corner (0, 0), any further agent on a free cell
  drawn from the reset's seed. All agents move at once; then an agent dies when a living other is on the cell
  above or left of it (wrapping), or shares its cell and it did not step there down or right; deaths are
  simultaneous, and each threat that kills counts as a kill of the threatening agent. Every agent that acted
  gets ``step_reward`` (+ ``kill_reward`` per kill); a dead agent leaves the game (terminated); the game is
  truncated after ``max_steps`` steps.
- Sharing: all start in the centre; coins on the cells of odd row and column; every step the living agents move
  in an order drawn afresh from the reset's seed (the reference tosses a coin for the first move only, which
  with two scripted roles was enough) and each takes the coin it steps on, its k-th worth 1.1 - 0.1 k. The game
  ends when the coins are gone (terminated) or after ``max_steps`` steps. Equality in ``infos`` is N min R / sum
  R over the agents (the paper's 2 min(R, R') / (R + R') for two).
- Boards: an agent's own window is drawn with its own mark first and the others' over it (the reference draws
  the other last); the other's view is the same board's window around that other.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from .worlds import ACTIONS, MOVES, GridWorld, check_action, coin_value


class GridParallel(ParallelEnv):
    """What both N-agent worlds share: the torus, each agent's window, the closest other's window."""

    metadata = {"name": "empathic_grid_v0", "render_modes": ["ansi"], "render_fps": 4, "is_parallelizable": True}

    def __init__(self, agents: int = 2, size: int = 7, window: int = 5, max_steps: int = 500,
                 render_mode: str | None = None):
        if agents < 2 or size < 3 or window < 1 or window % 2 == 0 or max_steps < 1:
            raise ValueError(f"a game needs >= 2 agents, size >= 3, an odd window >= 1 and max_steps >= 1 (got "
                             f"{agents}, {size}, {window}, {max_steps})")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got "
                             f"'{render_mode}'")
        self.size, self.window, self.max_steps, self.render_mode = size, window, max_steps, render_mode
        self.possible_agents = [f"agent_{i}" for i in range(agents)]
        high = 5.0 * (size * size + 1)
        self.observation_spaces = {a: spaces.Box(-1.0, high, (window, window), np.float32)
                                   for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(ACTIONS) for a in self.possible_agents}
        self.agents: list[str] = []
        self.position: dict[str, np.ndarray] = {}
        self.coins_of = {a: 0 for a in self.possible_agents}
        self.coins: set[tuple[int, int]] = set()
        self.steps = 0
        self.rng = np.random.default_rng()

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self.action_spaces[agent]

    def _seed(self, seed: int | None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def board(self, viewer: str) -> np.ndarray:
        grid = np.zeros((self.size, self.size), np.float32)
        for r, c in self.coins:
            grid[r, c] = -1
        for a in [viewer, *(b for b in self.agents if b != viewer)]:  # the viewer first, the others over it
            if a in self.agents:
                grid[tuple(self.position[a])] = 5 * (self.coins_of[a] + 1)
        return grid

    crop = GridWorld.crop  # the same torus window as the single-agent worlds (it reads only window and size)

    def closest(self, agent: str) -> str | None:
        """The living other nearest on the torus (ties: the first in agent order), or None."""
        def distance(b: str) -> float:
            d = np.abs(self.position[agent] - self.position[b])
            return float(np.hypot(*np.minimum(d, self.size - d)))

        others = [b for b in self.agents if b != agent]
        return min(others, key=distance) if others else None

    def views(self, agent: str) -> tuple[np.ndarray, np.ndarray]:
        """The agent's own window and its closest living other's, of the agent's board."""
        grid = self.board(agent)
        other = self.closest(agent)
        theirs = self.crop(grid, self.position[other]) if other else np.zeros((self.window,) * 2, np.float32)
        return self.crop(grid, self.position[agent]), theirs

    def move(self, agent: str, action) -> None:
        check_action(action)
        self.position[agent] = (self.position[agent] + MOVES[action]) % self.size

    def render(self):
        """The board as text (with render_mode "ansi"): each agent as its index, $ a coin."""
        if self.render_mode != "ansi":
            return None
        rows = [["."] * self.size for _ in range(self.size)]
        for r, c in self.coins:
            rows[r][c] = "$"
        for a in self.agents:
            r, c = self.position[a]
            rows[r][c] = a.rsplit("_", 1)[1][-1]
        return "\n".join("".join(row) for row in rows) + "\n"


class CoexistenceParallel(GridParallel):
    """Coexistence for N agents, every one of them a player: survive beside others who can kill you."""

    metadata = {**GridParallel.metadata, "name": "empathic_coexistence_v0"}

    def __init__(self, agents: int = 2, size: int = 7, window: int = 5, max_steps: int = 500,
                 step_reward: float = 1.0, kill_reward: float = 0.0, render_mode: str | None = None):
        super().__init__(agents, size, window, max_steps, render_mode)
        self.step_reward, self.kill_reward = step_reward, kill_reward

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._seed(seed)
        self.agents, self.steps = list(self.possible_agents), 0
        centre = self.size // 2
        self.position = {self.agents[0]: np.array([centre, centre]), self.agents[1]: np.array([0, 0])}
        free = [(r, c) for r in range(self.size) for c in range(self.size) if (r, c) not in {(centre, centre), (0, 0)}]
        for a, k in zip(self.agents[2:], self.rng.choice(len(free), len(self.agents) - 2, replace=False)):
            self.position[a] = np.array(free[k])
        return self._observe({a: {} for a in self.agents})

    def _observe(self, infos: dict, dead: frozenset = frozenset()):
        observations = {}
        for a in infos:
            own, theirs = self.views(a)
            observations[a] = np.zeros_like(own) if a in dead else own  # a dead agent's view ends with it
            infos[a] = {**infos[a], "other_view": theirs, "other_alive": len(self.agents) > (a in self.agents)}
        return observations, infos

    def threatens(self, killer: str, victim: str) -> bool:
        return any(np.array_equal((self.position[killer] + d) % self.size, self.position[victim])
                   for d in ((1, 0), (0, 1)))

    def step(self, actions: dict):
        acting = [a for a in self.agents if a in actions]
        self.steps += 1
        for a in acting:
            self.move(a, actions[a])
        kills = {a: 0 for a in acting}
        dead = set()
        for a in self.agents:
            for b in self.agents:
                if b == a:
                    continue
                threat = self.threatens(b, a)
                shared = np.array_equal(self.position[a], self.position[b]) and actions.get(a, 4) not in (0, 2)
                if threat or shared:
                    dead.add(a)
                if threat and b in kills:
                    kills[b] += 1
        truncated = self.steps >= self.max_steps
        rewards = {a: self.step_reward + self.kill_reward * kills[a] for a in acting}
        terminations = {a: a in dead for a in acting}
        truncations = {a: truncated and a not in dead for a in acting}
        self.agents = [a for a in self.agents if a not in dead]
        observations, infos = self._observe({a: {"killed": kills[a], "died": a in dead} for a in acting},
                                            frozenset(dead))
        if truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos


class SharingParallel(GridParallel):
    """Sharing for N agents, every one of them a collector of coins that are worth less the more it holds."""

    metadata = {**GridParallel.metadata, "name": "empathic_sharing_v0"}

    def __init__(self, agents: int = 2, size: int = 7, window: int = 5, max_steps: int = 500,
                 render_mode: str | None = None):
        super().__init__(agents, size, window, max_steps, render_mode)
        self.reward_of = {a: 0.0 for a in self.possible_agents}

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._seed(seed)
        self.agents, self.steps = list(self.possible_agents), 0
        centre = np.array([self.size // 2] * 2)
        self.position = {a: centre.copy() for a in self.agents}
        self.coins = {(r, c) for r in range(1, self.size, 2) for c in range(1, self.size, 2)}
        self.coins_of = {a: 0 for a in self.possible_agents}
        self.reward_of = {a: 0.0 for a in self.possible_agents}
        return self._observe({a: {} for a in self.agents})

    def equality(self) -> float:
        """N min R / sum R over the agents' coin rewards (1 when nobody earned anything)."""
        rewards = list(self.reward_of.values())
        total = sum(rewards)
        return 1.0 if total <= 0 else len(rewards) * min(rewards) / total

    def _observe(self, infos: dict):
        observations = {}
        for a in infos:
            observations[a], theirs = self.views(a)
            infos[a] = {**infos[a], "other_view": theirs, "other_alive": True, "own_reward": self.reward_of[a],
                        "coins": self.coins_of[a], "equality": self.equality(), "step": self.steps}
        return observations, infos

    def step(self, actions: dict):
        acting = [a for a in self.agents if a in actions]
        gained = {a: 0.0 for a in acting}
        for k in self.rng.permutation(len(acting)):
            a = acting[k]
            self.move(a, actions[a])
            cell = tuple(int(x) for x in self.position[a])
            if cell in self.coins:
                self.coins.discard(cell)
                self.coins_of[a] += 1
                gained[a] = coin_value(self.coins_of[a])
                self.reward_of[a] += gained[a]
        self.steps += 1
        done = not self.coins
        truncated = not done and self.steps >= self.max_steps
        observations, infos = self._observe({a: {"coin_value": gained[a]} for a in acting})
        if done or truncated:
            self.agents = []
        return (observations, gained, {a: done for a in acting}, {a: truncated for a in acting}, infos)


PARALLEL = {"coexistence": CoexistenceParallel, "sharing": SharingParallel}
