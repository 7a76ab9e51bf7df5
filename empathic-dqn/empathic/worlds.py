"""The paper's two gridworlds as Gymnasium environments: Coexistence and Sharing.

Both are a torus of ``size`` x ``size`` cells with the learning agent and one other agent. The board holds 0 for
an empty cell, -1 for a coin and ``5 * (coins collected + 1)`` for each agent. An observation is two
``window`` x ``window`` crops of the board (wrapping around the edges): channel 0 centred on the agent, channel 1
on the other agent. Channel 1 is what the agent would see in the other's place, so "swapping" the two agents is
taking channel 1 as the agent's own view (``swapped``); it is all zeros when the other agent is gone.

Actions: 0 down (row + 1), 1 up, 2 right (column + 1), 3 left, 4 stay.

Rules, read from the authors' code (``GridworldCoexistenceGym.py``, ``GridworldSharingGym.py``) and run at the
sizes its main script uses (7 x 7 for both, window 5, 500 steps):

- Coexistence: the agent starts in the centre, the other in a corner; each step the agent moves, then the other
  takes one of the five actions at random. Each agent kills from above and from the left: the other kills the
  agent when the agent is in the cell below it or right of it (or on its cell, unless the agent stepped there
  down or right); otherwise the agent kills the other when the other is below it or right of it. +1 per step
  survived; the episode ends when the agent dies or after ``max_steps`` (a killed other is gone for the rest of
  the episode).
- Sharing: both start in the centre; coins lie on the cells of odd row and column (nine on 7 x 7). A coin's value
  falls with the collector's own count: its k-th coin is worth 1.1 - 0.1 k (1.0, 0.9, ...). The other walks a
  fixed path (up every seventh step, else right) and collects what it steps on; who moves first on the first
  step is a coin toss. The episode ends when the coins are gone or after ``max_steps``.

Departures from the reference code, each a bug there (the first two are switches, ``settings.RULES``):

- Kill cells wrap around the edges as movement does (``kill_wrap=False``: the reference compares unwrapped
  coordinates, so an agent on the last row or column can neither kill nor be killed across the edge it can walk
  over).
- A terminal step returns the terminal observation (the reference returns the next episode's first one, which
  the empathic target then values as the other's future; the training loop can store that one instead:
  ``terminal_observation="reset"``).
- Equality of an episode in which neither agent earned anything is 1 (the reference divides by zero).
- An episode lasts at most ``max_steps`` steps (the reference's Coexistence ends after 501).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

MOVES = np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [0, 0]])
ACTIONS = len(MOVES)


def coin_value(k: int) -> float:
    """What the k-th coin (1-based) of one collector is worth: diminishing returns."""
    return 1.1 - 0.1 * k


def equality(own: float, other: float) -> float:
    """The paper's equality of an episode: 2 min(R, R') / (R + R'), 1 when both are equal, 0 when one got all."""
    total = own + other
    return 1.0 if total <= 0 else 2 * min(own, other) / total


def swapped(observation: np.ndarray) -> np.ndarray:
    """The observation of the other agent, as the agent's own view: channel 1 first (the empathic "swap")."""
    return observation[::-1].copy()


class GridWorld(gym.Env):
    """What both worlds share: the torus, the board, the two windows, the agents' moves."""

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(self, size: int = 7, window: int = 5, max_steps: int = 500, render_mode: str | None = None):
        if size < 3 or window < 1 or window % 2 == 0 or max_steps < 1:
            raise ValueError(f"a world needs size >= 3, an odd window >= 1 and max_steps >= 1 (got {size}, {window}, "
                             f"{max_steps})")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got "
                             f"'{render_mode}'")
        self.size, self.window, self.max_steps, self.render_mode = size, window, max_steps, render_mode
        self.action_space = spaces.Discrete(ACTIONS)
        self.observation_space = spaces.Box(-1.0, 5.0 * (size * size + 1), (2, window, window), np.float32)
        self.agent = np.zeros(2, int)
        self.other: np.ndarray | None = None
        self.coins: set[tuple[int, int]] = set()
        self.own_coins = self.other_coins = self.steps = 0

    def wrap(self, cell) -> np.ndarray:
        return np.asarray(cell) % self.size

    def board(self) -> np.ndarray:
        grid = np.zeros((self.size, self.size), np.float32)
        for r, c in self.coins:
            grid[r, c] = -1
        if self.other is not None:
            grid[tuple(self.other)] = 5 * (self.other_coins + 1)
        grid[tuple(self.agent)] = 5 * (self.own_coins + 1)  # on a shared cell the agent's own mark is shown
        return grid

    def crop(self, grid: np.ndarray, centre) -> np.ndarray:
        half = self.window // 2
        rows = np.arange(centre[0] - half, centre[0] + half + 1) % self.size
        cols = np.arange(centre[1] - half, centre[1] + half + 1) % self.size
        return grid[np.ix_(rows, cols)]

    def observe(self) -> np.ndarray:
        grid = self.board()
        other = self.crop(grid, self.other) if self.other is not None else np.zeros((self.window, self.window),
                                                                                   np.float32)
        return np.stack([self.crop(grid, self.agent), other]).astype(np.float32)

    def render(self):
        """The whole board: with render_mode "rgb_array" an RGB image, one pixel per cell (agent blue, other red,
        coins gold); with "ansi" text, one character per cell (A agent, O other, $ coin); None without a mode."""
        if self.render_mode == "ansi":
            rows = [["."] * self.size for _ in range(self.size)]
            for r, c in self.coins:
                rows[r][c] = "$"
            if self.other is not None:
                rows[self.other[0]][self.other[1]] = "O"
            rows[self.agent[0]][self.agent[1]] = "A"
            return "\n".join("".join(row) for row in rows) + "\n"
        if self.render_mode != "rgb_array":
            return None
        image = np.full((self.size, self.size, 3), 235, np.uint8)
        for r, c in self.coins:
            image[r, c] = (230, 180, 30)
        if self.other is not None:
            image[tuple(self.other)] = (200, 40, 40)
        image[tuple(self.agent)] = (40, 80, 200)
        return image


class Coexistence(GridWorld):
    """Survive beside a randomly moving agent that can kill you, and that you can kill."""

    def __init__(self, size: int = 7, window: int = 5, max_steps: int = 500, step_reward: float = 1.0,
                 kill_reward: float = 0.0, render_mode: str | None = None, kill_wrap: bool = True):
        super().__init__(size, window, max_steps, render_mode)
        self.step_reward, self.kill_reward, self.kill_wrap = step_reward, kill_reward, kill_wrap

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.agent = np.array([self.size // 2, self.size // 2])
        self.other = np.array([0, 0])
        self.coins, self.own_coins, self.other_coins, self.steps = set(), 0, 0, 0
        return self.observe(), {}

    def other_action(self) -> int:
        """The other agent's move: one of the five actions, uniformly (the reference's)."""
        return int(self.np_random.integers(ACTIONS))

    def threatens(self, killer, victim) -> bool:
        """Whether ``killer`` kills ``victim``: the victim is in the cell below or right of the killer (across the
        torus's edges only with ``kill_wrap``; the reference compares unwrapped cells)."""
        cells = (killer + d for d in ((1, 0), (0, 1)))
        return any(np.array_equal(self.wrap(c) if self.kill_wrap else c, victim) for c in cells)

    def step(self, action: int):
        self.steps += 1
        self.agent = self.wrap(self.agent + MOVES[action])
        if self.other is not None:
            self.other = self.wrap(self.other + MOVES[self.other_action()])
        dead = self.other is not None and (self.threatens(self.other, self.agent) or (
            np.array_equal(self.agent, self.other) and action not in (0, 2)))
        killed = not dead and self.other is not None and self.threatens(self.agent, self.other)
        reward = self.step_reward + self.kill_reward * killed
        if killed:
            self.other = None
        observation = self.observe()
        if dead:
            observation[0] = 0  # the agent's own view ends with it
        truncated = not dead and self.steps >= self.max_steps  # both worlds: max_steps steps, then truncated
        return observation, reward, dead, truncated, {"killed_other": killed, "died": dead,
                                                      "other_alive": self.other is not None}


class Sharing(GridWorld):
    """Collect coins of diminishing value beside another collector on a fixed path."""

    def __init__(self, size: int = 7, window: int = 5, max_steps: int = 500, step_reward: float = 0.0,
                 render_mode: str | None = None):
        super().__init__(size, window, max_steps, render_mode)
        self.step_reward = step_reward
        self.own_reward = self.other_reward = 0.0
        self.agent_first = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        centre = np.array([self.size // 2, self.size // 2])
        self.agent, self.other = centre.copy(), centre.copy()
        self.coins = {(r, c) for r in range(1, self.size, 2) for c in range(1, self.size, 2)}
        self.own_coins = self.other_coins = self.steps = 0
        self.own_reward = self.other_reward = 0.0
        self.agent_first = bool(self.np_random.integers(2))
        return self.observe(), {}

    def step(self, action: int):
        gained = other_gained = 0.0
        if self.agent_first or self.steps > 0:
            self.agent = self.wrap(self.agent + MOVES[action])
            if tuple(self.agent) in self.coins:
                self.coins.discard(tuple(self.agent))
                self.own_coins += 1
                gained = coin_value(self.own_coins)
        if not self.agent_first or self.steps > 0:
            self.other = self.wrap(self.other + MOVES[1 if self.steps % 7 == 0 else 2])
            if tuple(self.other) in self.coins:
                self.coins.discard(tuple(self.other))
                self.other_coins += 1
                other_gained = coin_value(self.other_coins)
        self.steps += 1
        self.own_reward += gained
        self.other_reward += other_gained
        done = not self.coins
        truncated = not done and self.steps >= self.max_steps
        return self.observe(), gained + self.step_reward, done, truncated, {
            "coin_value": gained, "other_coin_value": other_gained, "own_reward": self.own_reward,
            "other_coins": self.other_coins,
            "other_reward": self.other_reward, "other_alive": True,
            "equality": equality(self.own_reward, self.other_reward)}


WORLDS = {"coexistence": Coexistence, "sharing": Sharing}


def make_world(name: str, **options) -> GridWorld:
    if name not in WORLDS:
        raise KeyError(name)
    return WORLDS[name](**options)
