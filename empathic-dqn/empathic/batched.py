"""Both worlds for many runs at once, as array operations over (runs, board) torch tensors, on CPU or GPU.

``BatchedCoexistence`` and ``BatchedSharing`` hold every run's state as tensors (positions (n, 2), coins
(n, size, size), counts (n,)) and take every run's step, observation, reward, kill and coin in one call. They
follow ``worlds.Coexistence`` and ``worlds.Sharing`` step for step, numbers and random draws included
(``tests/test_batched.py`` steps both on random actions over many runs and seeds): each run keeps its own numpy
generator, seeded as the Gymnasium world seeds its ``np_random``, and draws from it what that world would draw
(the random other's action in Coexistence, only while it lives; the first-move coin toss at each Sharing reset)
in blocks, which a numpy generator yields in the same order as one draw at a time.

Why: one Python world step costs about as much as a run's share of a batched network update, so with every run
stepping its own Python world the worlds were a quarter of a training step; here a population's worlds cost a
few tensor operations whatever its size.

Rewards and reward totals are float64, as the Python worlds' floats are, so that they agree to the bit.
"""

from __future__ import annotations

import numpy as np
import torch

from .worlds import MOVES, coin_value, equality, picture, shifted_total


class Draws:
    """Each run's generator of uniform integers in [0, high), drawn ahead in blocks and taken in order."""

    def __init__(self, n: int, high: int, block: int = 512):
        self.high, self.block = high, block
        self.generators: list[np.random.Generator | None] = [None] * n
        self.buffer = np.zeros((n, block), np.int64)
        self.cursor = np.full(n, block)  # block: the buffer is spent (refilled at the next take)

    def seed(self, runs: np.ndarray, seeds: list[int]) -> None:
        """Reseed these runs' generators, as ``reset(seed=...)`` reseeds a Gymnasium world's ``np_random``."""
        for i, s in zip(runs, seeds):
            self.generators[i] = np.random.default_rng(s)
            self.cursor[i] = self.block

    def take(self, mask: np.ndarray) -> np.ndarray:
        """One draw for each run in ``mask`` (bool, (n,)); the others' entries are 0 and draw nothing."""
        for i in np.flatnonzero(mask & (self.cursor >= self.block)):
            if self.generators[i] is None:
                raise RuntimeError("a run drew before its world was seeded; reset it with a seed first")
            self.buffer[i] = self.generators[i].integers(self.high, size=self.block)
            self.cursor[i] = 0
        out = np.where(mask, self.buffer[np.arange(len(mask)), np.minimum(self.cursor, self.block - 1)], 0)
        self.cursor += mask
        return out


class BatchedWorlds:
    """What both batched worlds share: the tori, the boards, the two windows, the agents' moves.

    ``options`` are per-run rules (sequences of n values) as the Python worlds take them as single values."""

    def __init__(self, n: int, size: int = 7, window: int = 5, max_steps: int = 500, device: str = "cpu",
                 shared_cell: list[str] | None = None):
        if size < 3 or window < 1 or window % 2 == 0 or max_steps < 1:
            raise ValueError(f"a world needs size >= 3, an odd window >= 1 and max_steps >= 1 (got {size}, {window}, "
                             f"{max_steps})")
        self.n, self.size, self.window, self.max_steps = n, size, window, max_steps
        self.device = torch.device(device)
        z = lambda dtype: torch.zeros(n, dtype=dtype, device=self.device)  # noqa: E731
        self.agent = torch.zeros(n, 2, dtype=torch.long, device=self.device)
        self.other = torch.zeros_like(self.agent)
        self.alive = z(torch.bool)  # whether the other agent is on the board
        self.coins = torch.zeros(n, size, size, dtype=torch.bool, device=self.device)
        self.own_coins, self.other_coins, self.steps = z(torch.long), z(torch.long), z(torch.long)
        self.other_last = self._flags(shared_cell, "other", "other")
        self.moves = torch.as_tensor(MOVES, device=self.device)
        half = window // 2
        self.offsets = torch.arange(-half, half + 1, device=self.device)

    def _flags(self, values, on: str, default: str) -> torch.Tensor:
        values = [default] * self.n if values is None else list(values)
        if len(values) != self.n:
            raise ValueError(f"a per-run rule needs {self.n} values, got {len(values)}")
        return torch.tensor([v == on for v in values], device=self.device)

    def _mask(self, mask) -> torch.Tensor:
        if mask is None:
            return torch.ones(self.n, dtype=torch.bool, device=self.device)
        return torch.as_tensor(mask, dtype=torch.bool, device=self.device)

    def board(self, other_shown: torch.Tensor) -> torch.Tensor:
        """Every run's board (n, size, size): 0 empty, -1 a coin, 5 (coins + 1) an agent; where the two share a
        cell, the other's mark, or the agent's where the run's ``shared_cell`` rule is "agent"."""
        flat = torch.where(self.coins, -1.0, 0.0).flatten(1)
        a = (self.agent[:, 0] * self.size + self.agent[:, 1])[:, None]
        o = (self.other[:, 0] * self.size + self.other[:, 1])[:, None]
        own, theirs = (5.0 * (self.own_coins + 1))[:, None], (5.0 * (self.other_coins + 1))[:, None]
        first = (other_shown & ~self.other_last)[:, None]
        flat.scatter_(1, o, torch.where(first, theirs, flat.gather(1, o)))
        flat.scatter_(1, a, own)
        last = (other_shown & self.other_last)[:, None]
        flat.scatter_(1, o, torch.where(last, theirs, flat.gather(1, o)))
        return flat.view(self.n, self.size, self.size)

    def crop(self, grid: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
        """Each run's window of its grid around its ``centre`` (wrapping), one gather over the flat boards."""
        rows = (centre[:, 0:1] + self.offsets) % self.size
        cols = (centre[:, 1:2] + self.offsets) % self.size
        cells = (rows[:, :, None] * self.size + cols[:, None, :]).flatten(1)
        return grid.flatten(1).gather(1, cells).view(self.n, self.window, self.window)

    def observe(self, other_shown: torch.Tensor | None = None) -> torch.Tensor:
        """(n, 2, window, window) float32: the agent's window, then the other's (zeros where it is gone)."""
        grid = self.board(self.alive if other_shown is None else other_shown)
        theirs = torch.where(self.alive[:, None, None], self.crop(grid, self.other), 0.0)
        return torch.stack([self.crop(grid, self.agent), theirs], 1)

    def render(self, i: int) -> np.ndarray:
        """Run i's board as ``GridWorld.render`` draws it in "rgb_array" mode."""
        coins = [tuple(c) for c in torch.nonzero(self.coins[i]).tolist()]
        return picture(self.size, self.agent[i].tolist(), self.other[i].tolist() if self.alive[i] else None, coins)

    def move(self, position: torch.Tensor, action: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        return torch.where(where[:, None], (position + self.moves[action]) % self.size, position)


class BatchedCoexistence(BatchedWorlds):
    """``worlds.Coexistence`` for n runs: survive beside a randomly moving agent that can kill you."""

    def __init__(self, n: int, size: int = 7, window: int = 5, max_steps: int = 500, step_reward: float = 1.0,
                 kill_reward: float = 0.0, device: str = "cpu", kill_wrap: list[bool] | None = None,
                 shared_cell: list[str] | None = None, kill_step_view: list[str] | None = None):
        super().__init__(n, size, window, max_steps, device, shared_cell)
        self.step_reward, self.kill_reward = step_reward, kill_reward
        self.kill_wrap = self._flags(kill_wrap, True, True)
        self.victim_shown = self._flags(kill_step_view, "shown", "shown")
        self.draws = Draws(n, len(MOVES))

    def reset(self, mask=None, seeds: list[int] | None = None) -> torch.Tensor:
        """Start the runs in ``mask`` (all when None) afresh, reseeding their generators with ``seeds`` (one per
        run in the mask) when given; returns every run's observation."""
        m = self._mask(mask)
        if seeds is not None:
            self.draws.seed(np.flatnonzero(m.cpu().numpy()), seeds)
        centre = torch.full_like(self.agent, self.size // 2)
        self.agent = torch.where(m[:, None], centre, self.agent)
        self.other = torch.where(m[:, None], 0, self.other)
        self.alive = self.alive | m
        self.steps = torch.where(m, 0, self.steps)
        return self.observe()

    def threatens(self, killer: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
        """Whether the victim is in the cell below or right of the killer (across the edges where ``kill_wrap``)."""
        out = torch.zeros(self.n, dtype=torch.bool, device=self.device)
        for d in ((1, 0), (0, 1)):
            cell = killer + torch.tensor(d, device=self.device)
            cell = torch.where(self.kill_wrap[:, None], cell % self.size, cell)
            out |= (cell == victim).all(1)
        return out

    def step(self, actions: torch.Tensor):
        """Every run's step: observation, reward (float64), terminated, truncated and info, as tensors."""
        actions = torch.as_tensor(actions, device=self.device)
        self.steps += 1
        self.agent = self.move(self.agent, actions, torch.ones_like(self.alive))
        theirs = torch.from_numpy(self.draws.take(self.alive.cpu().numpy())).to(self.device)
        self.other = self.move(self.other, theirs, self.alive)
        stepped_in = (actions == 0) | (actions == 2)
        same = (self.agent == self.other).all(1)
        dead = self.alive & (self.threatens(self.other, self.agent) | (same & ~stepped_in))
        killed = ~dead & self.alive & self.threatens(self.agent, self.other)
        reward = self.step_reward + self.kill_reward * killed.double()
        self.alive = self.alive & ~killed
        observation = self.observe(self.alive | (killed & self.victim_shown))
        observation[:, 0] = torch.where(dead[:, None, None], 0.0, observation[:, 0])  # its view ends with it
        truncated = ~dead & (self.steps >= self.max_steps)
        return observation, reward, dead, truncated, {"killed_other": killed, "died": dead,
                                                      "other_alive": self.alive.clone()}


class BatchedSharing(BatchedWorlds):
    """``worlds.Sharing`` for n runs: collect coins of diminishing value beside a collector on a fixed path."""

    def __init__(self, n: int, size: int = 7, window: int = 5, max_steps: int = 500, step_reward: float = 0.0,
                 device: str = "cpu", shared_cell: list[str] | None = None, equality_from: list[str] | None = None):
        super().__init__(n, size, window, max_steps, device, shared_cell)
        self.step_reward = step_reward
        self.shifted = self._flags(equality_from, "shifted", "paid")
        z = torch.zeros(n, dtype=torch.float64, device=self.device)
        self.own_reward, self.other_reward = z, z.clone()
        self.agent_first = torch.zeros(n, dtype=torch.bool, device=self.device)
        self.draws = Draws(n, 2)
        start = torch.zeros(size, size, dtype=torch.bool, device=self.device)
        start[1::2, 1::2] = True
        self.start = start

    def reset(self, mask=None, seeds: list[int] | None = None) -> torch.Tensor:
        """As ``BatchedCoexistence.reset``; each reset run tosses its coin for who moves first."""
        m = self._mask(mask)
        chosen = m.cpu().numpy()
        if seeds is not None:
            self.draws.seed(np.flatnonzero(chosen), seeds)
        toss = torch.from_numpy(self.draws.take(chosen)).to(self.device).bool()
        centre = torch.full_like(self.agent, self.size // 2)
        self.agent = torch.where(m[:, None], centre, self.agent)
        self.other = torch.where(m[:, None], centre, self.other)
        self.alive = self.alive | m
        self.coins = torch.where(m[:, None, None], self.start, self.coins)
        for name in ("own_coins", "other_coins", "steps", "own_reward", "other_reward"):
            setattr(self, name, torch.where(m, 0, getattr(self, name)))
        self.agent_first = torch.where(m, toss, self.agent_first)
        return self.observe()

    def collect(self, position: torch.Tensor, moved: torch.Tensor, count: torch.Tensor):
        """Take the coin under ``position`` where a run ``moved``: (the new count, the coin's value, float64)."""
        flat = self.coins.view(self.n, -1)
        cell = (position[:, 0] * self.size + position[:, 1])[:, None]
        got = moved & flat.gather(1, cell)[:, 0]
        flat.scatter_(1, cell, flat.gather(1, cell) & ~got[:, None])
        count = count + got
        return count, torch.where(got, coin_value(count.double()), 0.0)

    def step(self, actions: torch.Tensor):
        actions = torch.as_tensor(actions, device=self.device)
        later = self.steps > 0
        mine = self.agent_first | later
        self.agent = self.move(self.agent, actions, mine)
        self.own_coins, gained = self.collect(self.agent, mine, self.own_coins)
        theirs = ~self.agent_first | later
        path = torch.where(self.steps % 7 == 0, 1, 2)
        self.other = self.move(self.other, path, theirs)
        self.other_coins, other_gained = self.collect(self.other, theirs, self.other_coins)
        self.steps += 1
        self.own_reward = self.own_reward + gained
        self.other_reward = self.other_reward + other_gained
        done = ~self.coins.flatten(1).any(1)
        truncated = ~done & (self.steps >= self.max_steps)
        own = torch.where(self.shifted, shifted_total(self.own_coins.double()), self.own_reward)
        other = torch.where(self.shifted, shifted_total(self.other_coins.double()), self.other_reward)
        return self.observe(), gained + self.step_reward, done, truncated, {
            "coin_value": gained, "other_coin_value": other_gained, "own_reward": self.own_reward.clone(),
            "other_coins": self.other_coins.clone(), "other_reward": self.other_reward.clone(),
            "other_alive": self.alive.clone(), "equality": equality(own, other)}


BATCHED = {"coexistence": BatchedCoexistence, "sharing": BatchedSharing}
