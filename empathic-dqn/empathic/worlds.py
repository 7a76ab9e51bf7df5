"""The paper's two gridworlds as Gymnasium environments: Coexistence and Sharing.

Both are a torus of ``size`` x ``size`` cells with the learning agent and one other agent. The board holds 0 for
an empty cell, -1 for a coin and ``5 * (coins collected + 1)`` for each agent. What each agent sees is a
``window`` x ``window`` crop of the board (wrapping around the edges) centred on it. The observation is the
agent's own view; the other agent's view, what the agent would see in its place (the empathic "swap"), comes
apart in ``info["other_view"]`` (all zeros once the other is gone), so that a stock agent does not read it by
accident. ``observe()`` gives both, stacked, as the training loop's batched worlds do.

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

Rules where the package may depart from the reference code (each a switch here, ``settings.RULES``; the
defaults are in ``settings.Settings``):

- ``shared_cell``: where the two agents share a cell, the board shows the agent's mark ("agent") or the other's
  ("other": the reference draws the other last, Coexistence.py:50-58, Sharing.py:48).
- ``kill_step_view`` (Coexistence): at the step the agent kills the other, the victim is off the board already
  ("removed") or still on the agent's own view ("shown": the reference draws the board before removing it; both
  zero the other's view, Coexistence.py:142-150).
- ``equality_from`` (Sharing): equality of the rewards paid ("paid") or of the reference's totals ("shifted":
  they count each coin 0.1 above its pay, the first as 1.1, Sharing.py:132-135).

Departures from the reference code, each a bug there (the first two are switches too):

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


def shifted_total(coins):
    """The reference's total of ``coins`` coins (a number or a float64 tensor): each counted 0.1 above its pay,
    the k-th as 1.2 - 0.1 k (its ``sum(1.1 - 0.1 x for x in range(coins))``), in closed form."""
    return 1.1 * coins - 0.05 * coins * (coins - 1)


def equality(own, other):
    """The paper's equality of an episode: 2 min(R, R') / (R + R'), 1 when both are equal, 0 when one got all
    (numbers, or float64 tensors elementwise, as the batched worlds call it)."""
    total = own + other
    if isinstance(total, float | int):
        return 1.0 if total <= 0 else 2 * min(own, other) / total
    import torch

    return torch.where(total <= 0, 1.0, 2 * torch.minimum(own, other) / total)


def picture(size: int, agent, other, coins) -> np.ndarray:
    """A board as an RGB image, one pixel per cell: agent blue (drawn last), other red (None: gone), coins gold."""
    image = np.full((size, size, 3), 235, np.uint8)
    for r, c in coins:
        image[r, c] = (230, 180, 30)
    if other is not None:
        image[tuple(other)] = (200, 40, 40)
    image[tuple(agent)] = (40, 80, 200)
    return image


def check_action(action) -> None:
    if not 0 <= action < ACTIONS:  # MOVES[-1] would silently be "stay"
        raise ValueError(f"an action is one of 0..{ACTIONS - 1}, got {action}")


class GridWorld(gym.Env):
    """What both worlds share: the torus, the board, the two windows, the agents' moves."""

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(self, size: int = 7, window: int = 5, max_steps: int = 500, render_mode: str | None = None,
                 shared_cell: str = "other"):
        if shared_cell not in ("agent", "other"):
            raise ValueError(f"shared_cell must be 'agent' or 'other', got {shared_cell!r}")
        if size < 3 or window < 1 or window % 2 == 0 or max_steps < 1:
            raise ValueError(f"a world needs size >= 3, an odd window >= 1 and max_steps >= 1 (got {size}, {window}, "
                             f"{max_steps})")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got "
                             f"'{render_mode}'")
        self.size, self.window, self.max_steps, self.render_mode = size, window, max_steps, render_mode
        self.shared_cell = shared_cell
        self.action_space = spaces.Discrete(ACTIONS)
        self.observation_space = spaces.Box(-1.0, 5.0 * (size * size + 1), (window, window), np.float32)
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
        marks = [(self.agent, self.own_coins), (self.other, self.other_coins)]
        for cell, coins in marks if self.shared_cell == "other" else marks[::-1]:  # the last drawn shows
            if cell is not None:
                grid[tuple(cell)] = 5 * (coins + 1)
        return grid

    def crop(self, grid: np.ndarray, centre) -> np.ndarray:
        half = self.window // 2
        rows = np.arange(centre[0] - half, centre[0] + half + 1) % self.size
        cols = np.arange(centre[1] - half, centre[1] + half + 1) % self.size
        return grid[np.ix_(rows, cols)]

    @staticmethod
    def split(views: np.ndarray, info: dict) -> tuple[np.ndarray, dict]:
        """The agent's own view as the observation, the other's in ``info["other_view"]``."""
        return views[0], {**info, "other_view": views[1]}

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
        return picture(self.size, self.agent, self.other, self.coins)


class Coexistence(GridWorld):
    """Survive beside a randomly moving agent that can kill you, and that you can kill."""

    def __init__(self, size: int = 7, window: int = 5, max_steps: int = 500, step_reward: float = 1.0,
                 kill_reward: float = 0.0, render_mode: str | None = None, kill_wrap: bool = True,
                 shared_cell: str = "other", kill_step_view: str = "shown"):
        super().__init__(size, window, max_steps, render_mode, shared_cell)
        if kill_step_view not in ("removed", "shown"):
            raise ValueError(f"kill_step_view must be 'removed' or 'shown', got {kill_step_view!r}")
        self.step_reward, self.kill_reward, self.kill_wrap = step_reward, kill_reward, kill_wrap
        self.kill_step_view = kill_step_view

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.agent = np.array([self.size // 2, self.size // 2])
        self.other = np.array([0, 0])
        self.coins, self.own_coins, self.other_coins, self.steps = set(), 0, 0, 0
        return self.split(self.observe(), {})

    def other_action(self) -> int:
        """The other agent's move: one of the five actions, uniformly (the reference's)."""
        return int(self.np_random.integers(ACTIONS))

    def threatens(self, killer, victim) -> bool:
        """Whether ``killer`` kills ``victim``: the victim is in the cell below or right of the killer (across the
        torus's edges only with ``kill_wrap``; the reference compares unwrapped cells)."""
        cells = (killer + d for d in ((1, 0), (0, 1)))
        return any(np.array_equal(self.wrap(c) if self.kill_wrap else c, victim) for c in cells)

    def step(self, action: int):
        check_action(action)
        self.steps += 1
        self.agent = self.wrap(self.agent + MOVES[action])
        if self.other is not None:
            self.other = self.wrap(self.other + MOVES[self.other_action()])
        dead = self.other is not None and (self.threatens(self.other, self.agent) or (
            np.array_equal(self.agent, self.other) and action not in (0, 2)))
        killed = not dead and self.other is not None and self.threatens(self.agent, self.other)
        reward = self.step_reward + self.kill_reward * killed
        if killed and self.kill_step_view == "shown":
            observation = self.observe()
            observation[1] = 0  # the victim's own view is gone, as the reference zeroes it
            self.other = None
        else:
            self.other = None if killed else self.other
            observation = self.observe()
        if dead:
            observation[0] = 0  # the agent's own view ends with it
        truncated = not dead and self.steps >= self.max_steps  # both worlds: max_steps steps, then truncated
        observation, info = self.split(observation, {"killed_other": killed, "died": dead,
                                                     "other_alive": self.other is not None})
        return observation, reward, dead, truncated, info


class Sharing(GridWorld):
    """Collect coins of diminishing value beside another collector on a fixed path."""

    def __init__(self, size: int = 7, window: int = 5, max_steps: int = 500, step_reward: float = 0.0,
                 render_mode: str | None = None, shared_cell: str = "other", equality_from: str = "paid"):
        super().__init__(size, window, max_steps, render_mode, shared_cell)
        if equality_from not in ("paid", "shifted"):
            raise ValueError(f"equality_from must be 'paid' or 'shifted', got {equality_from!r}")
        self.step_reward, self.equality_from = step_reward, equality_from
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
        return self.split(self.observe(), {})

    def step(self, action: int):
        check_action(action)
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
        observation, info = self.split(self.observe(), {
            "coin_value": gained, "other_coin_value": other_gained, "own_reward": self.own_reward,
            "other_coins": self.other_coins, "other_reward": self.other_reward, "other_alive": True,
            "equality": self.equality()})
        return observation, gained + self.step_reward, done, truncated, info

    def equality(self) -> float:
        if self.equality_from == "shifted":
            return equality(shifted_total(float(self.own_coins)), shifted_total(float(self.other_coins)))
        return equality(self.own_reward, self.other_reward)


WORLDS = {"coexistence": Coexistence, "sharing": Sharing}


def make_world(name: str, **options) -> GridWorld:
    if name not in WORLDS:
        raise KeyError(name)
    return WORLDS[name](**options)
