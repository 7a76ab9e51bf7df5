"""The training loop, and the evaluation the claims are judged on, for a population of runs at once.

A run is one world, one selfishness beta, one seed and one set of rules; a population is any number of runs of
one world that share the schedule (steps, exploration, target period). Each run has its own world (the
population's worlds step together as one batched world, ``batched.py``), replay and generator, and takes the
reference's steps: ``replay_start`` random steps, then per environment step one epsilon-greedy action and one
minibatch of ``batch_size`` from its own replay, the target network copied every ``target_every`` steps. Its
seed fixes everything it draws, so it repeats to the bit on one machine, and the same seed gives the selfish and
the empathic agent the same initial Q-network and the same worlds (paired runs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .agent import Population, Replay
from .batched import BATCHED
from .settings import RULES, Settings, check_rules


@dataclass(frozen=True)
class Run:
    world: str
    beta: float
    seed: int
    settings: Settings


def epsilon_at(step: int, s: Settings) -> float:
    return s.epsilon_end + (1.0 - s.epsilon_end) * max(0.0, 1 - step / s.epsilon_decay_steps)


LOW_VALUE = 0.65  # a coin worth less than this to its collector (its 5th coin on: 0.6, 0.5, ...) is low-value


def world_options(world: str, s: Settings) -> dict:
    """The world's own rules in a run's settings, as the world classes take them."""
    if world == "coexistence":
        return {"kill_wrap": s.kill_wrap, "shared_cell": s.shared_cell, "kill_step_view": s.kill_step_view}
    return {"shared_cell": s.shared_cell, "equality_from": s.equality_from}


def worlds_for(runs: list[Run], device: str | torch.device = "cpu"):
    """The runs' worlds as one batched world (they share the world, its size and its length)."""
    s = runs[0].settings
    per_run = [world_options(r.world, r.settings) for r in runs]
    options = {k: [o[k] for o in per_run] for k in per_run[0]}
    return BATCHED[runs[0].world](len(runs), size=s.size, window=s.window, max_steps=s.max_steps, device=device,
                                  **options)


def _schedule(runs: list[Run]) -> Settings:
    """The schedule the runs share (it raises when they differ in anything but their rules)."""
    def schedule(r: Run) -> tuple:
        return r.world, {k: v for k, v in r.settings.run_key().items() if k not in RULES}

    for r in runs:
        check_rules(r.settings)
        if schedule(r) != schedule(runs[0]):
            raise ValueError("a population's runs share one world and one schedule; they differ only in beta, "
                             "seed and rules")
    return runs[0].settings


class _Episodes:
    """The running totals of every run's current episode, as tensors."""

    def __init__(self, world: str, n: int, device: torch.device):
        self.world = world
        self.length, self.kills, self.low, self.coins = (torch.zeros(n, dtype=torch.long, device=device)
                                                         for _ in range(4))
        self.ret = torch.zeros(n, dtype=torch.float64, device=device)

    def add(self, reward: torch.Tensor, info: dict) -> None:
        self.length += 1
        self.ret += reward
        if "killed_other" in info:
            self.kills += info["killed_other"]
        if "coin_value" in info:
            value = info["coin_value"]
            self.low += (value > 0) & (value < LOW_VALUE)
            self.coins += value > 0

    def close(self, ended: np.ndarray, info: dict) -> list[dict]:
        """What each ended run's episode is judged by (given its last step's ``info``), and a fresh start for it:
        survival and kills in Coexistence; coins, their values and equality in Sharing (``low_value_coins``:
        those the agent took worth < LOW_VALUE to it)."""
        idx = torch.from_numpy(np.flatnonzero(ended)).to(self.ret.device)
        pick = lambda t: t[idx].tolist()  # noqa: E731
        length, ret, kills, low, coins = (pick(t) for t in (self.length, self.ret, self.kills, self.low, self.coins))
        if self.world == "coexistence":
            rows = [{"length": n, "return": r, "killed_other": float(k > 0), "died": float(d)}
                    for n, r, k, d in zip(length, ret, kills, pick(info["died"]))]
        else:
            rows = [{"length": n, "return": r, "equality": e, "own_reward": own, "other_reward": other,
                     "low_value_coins": lo, "coins": c, "coin_share": c / max(1, c + oc)}
                    for n, r, e, own, other, lo, c, oc in zip(length, ret, pick(info["equality"]),
                                                              pick(info["own_reward"]), pick(info["other_reward"]),
                                                              low, coins, pick(info["other_coins"]))]
        for t in (self.length, self.ret, self.kills, self.low, self.coins):
            t[idx] = 0
        return rows


def _rows(mask: torch.Tensor) -> torch.Tensor:
    return mask[:, None, None, None]


def train(runs: list[Run], progress: Callable[[int, int], None] | None = None, record: int = 0,
          device: str = "cpu") -> tuple[Population, list[dict]]:
    """Train the runs together (their worlds batched, their networks stacked, on ``device``); returns the
    population and, per run, its learning curve (episode statistics, losses and the acting network's mean max Q,
    averaged between curve points), its evaluation and, with ``record`` > 0, the boards of its first evaluation
    episode's first ``record`` steps (``episode``)."""
    s = _schedule(runs)
    n = len(runs)
    torch.manual_seed(0)  # nothing should draw from torch's global generator; this pins it if something does
    rngs = [np.random.default_rng(r.seed) for r in runs]
    pop = Population([r.beta for r in runs], [r.seed for r in runs], [r.settings for r in runs], s.gamma, s.lr,
                     s.window, device)
    worlds = worlds_for(runs, pop.device)
    replay = Replay(n, min(s.replay_size, s.steps), s.window, pop.device)
    obs = worlds.reset(seeds=[r.seed * 1000 for r in runs])
    flag = lambda test: torch.tensor([test(r.settings) for r in runs], device=pop.device)  # noqa: E731
    stored_reset = flag(lambda r: r.terminal_observation == "reset")
    limit_terminal = flag(lambda r: r.time_limit == "terminal")
    episodes = _Episodes(runs[0].world, n, pop.device)
    ended: list[list[dict]] = [[] for _ in runs]
    sums = np.zeros((n, 3))  # q loss, empathic loss, max Q: summed since the last curve point
    counts = np.zeros(2)  # updates, action choices
    curves: list[list[dict]] = [[] for _ in runs]
    started = time.perf_counter()
    for step in range(s.steps):
        learning = step >= s.replay_start
        actions, max_q = pop.act(obs, epsilon_at(step - s.replay_start, s) if learning else 1.0, rngs)
        sums[:, 2] += max_q
        counts[1] += 1
        nxt, reward, terminal, truncated, info = worlds.step(actions)
        done = terminal | (truncated & limit_terminal)
        stored_next = nxt  # what the transition keeps as s' (nxt becomes the next episode's first board)
        episodes.add(reward, info)
        over = (terminal | truncated).cpu().numpy()
        if over.any():
            for i, row in zip(np.flatnonzero(over), episodes.close(over, info)):
                ended[i].append(row)
            restart = torch.from_numpy(over).to(pop.device)
            nxt = torch.where(_rows(restart), worlds.reset(restart), nxt)
            # the reference's gym loop returns the reset board at its "done"
            stored_next = torch.where(_rows(stored_reset & done), nxt, stored_next)
        replay.add(obs, actions, reward.float(), stored_next, done.float(), info["other_alive"].float())
        obs = nxt
        if learning:
            if (step - s.replay_start) % s.target_every == 0:
                pop.sync_target()
            q_loss, e_loss = pop.update(replay.sample(s.batch_size, rngs))
            sums[:, 0] += q_loss
            sums[:, 1] += e_loss
            counts[0] += 1
        if (step + 1) % s.curve_every == 0:
            for i in range(n):
                point = {"step": step + 1, "episodes": len(ended[i]), **_mean(ended[i]),
                         "q_loss": sums[i, 0] / max(1, counts[0]), "mean_max_q": sums[i, 2] / counts[1]}
                if pop.empathic_member[i]:
                    point["empathic_loss"] = sums[i, 1] / max(1, counts[0])
                curves[i].append(point)
            ended, sums, counts = [[] for _ in runs], np.zeros((n, 3)), np.zeros(2)
            if progress:
                progress(step + 1, s.steps)
    seconds = time.perf_counter() - started
    evaluations = evaluate(pop, runs, record=record)
    frames = [e.pop("frames", None) for e in evaluations]
    return pop, [{"world": r.world, "beta": r.beta, "seed": r.seed, "rules": r.settings.rules(), "curve": c,
                  "eval": e, "train_seconds": seconds, "population": n, "steps_per_second": s.steps * n / seconds,
                  **({"episode": [b.tolist() for b in f]} if record else {})}
                 for r, c, e, f in zip(runs, curves, evaluations, frames)]


def evaluate(pop: Population, runs: list[Run], episodes: int | None = None, record: int = 0) -> list[dict]:
    """Each run's trained policy (epsilon ``eval_epsilon``) on fresh episodes of its own seed's evaluation stream
    (episode k of seed s starts its world from seed 10,000 + 1000 s + k), all runs stepping together;
    ``record`` > 0 keeps the boards of each run's first episode's first ``record`` steps (for the report and
    GIFs). A run that has played its episodes steps on unrecorded until the last one has."""
    s = runs[0].settings
    total = episodes or s.eval_episodes
    n = len(runs)
    rngs = [np.random.default_rng(10_000 + r.seed) for r in runs]
    worlds = worlds_for(runs, pop.device)
    obs = worlds.reset(seeds=[10_000 + 1000 * r.seed for r in runs])
    played = np.zeros(n, int)
    running = _Episodes(runs[0].world, n, pop.device)
    rows: list[list[dict]] = [[] for _ in runs]
    frames: list[list] = [[] for _ in runs]
    while played.min() < total:
        for i in range(n):
            if played[i] == 0 and len(frames[i]) < record:
                frames[i].append(worlds.render(i))
        actions, _ = pop.act(obs, s.eval_epsilon, rngs)
        nxt, reward, terminal, truncated, info = worlds.step(actions)
        running.add(reward, info)
        over = (terminal | truncated).cpu().numpy() & (played < total)
        if over.any():
            for i, row in zip(np.flatnonzero(over), running.close(over, info)):
                rows[i].append(row)
            played += over
            again = over & (played < total)
            if again.any():
                seeds = [10_000 + 1000 * runs[i].seed + played[i] for i in np.flatnonzero(again)]
                restart = torch.from_numpy(again).to(pop.device)
                nxt = torch.where(_rows(restart), worlds.reset(restart, seeds=seeds), nxt)
        obs = nxt
    out = [{"episodes": len(r), **_mean(r)} for r in rows]
    if record:
        for o, f in zip(out, frames):
            o["frames"] = f
    return out


def _mean(rows: list[dict]) -> dict:
    if not rows:
        return {}
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
