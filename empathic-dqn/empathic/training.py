"""The training loop, and the evaluation the claims are judged on, for a population of runs at once.

A run is one world, one selfishness beta, one seed and one set of rules; a population is any number of runs of
one world that share the schedule (steps, exploration, target period). Each run has its own world, replay and
generator and takes the reference's steps: ``replay_start`` random steps, then per environment step one
epsilon-greedy action and one minibatch of ``batch_size`` from its own replay, the target network copied every
``target_every`` steps. Its seed fixes everything it draws, so it repeats to the bit on one machine, and the
same seed gives the selfish and the empathic agent the same initial Q-network and the same worlds (paired
runs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .agent import Population, Replay
from .settings import RULES, Settings, check_rules
from .worlds import make_world


@dataclass(frozen=True)
class Run:
    world: str
    beta: float
    seed: int
    settings: Settings


def epsilon_at(step: int, s: Settings) -> float:
    return s.epsilon_end + (1.0 - s.epsilon_end) * max(0.0, 1 - step / s.epsilon_decay_steps)


LOW_VALUE = 0.65  # a coin worth less than this to its collector (its 5th coin on: 0.6, 0.5, ...) is low-value


def world_for(run: Run, render_mode: str | None = None):
    s = run.settings
    options = {"kill_wrap": s.kill_wrap} if run.world == "coexistence" else {}
    return make_world(run.world, size=s.size, window=s.window, max_steps=s.max_steps, render_mode=render_mode,
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


class _Episode:
    """The running totals of one world's current episode."""

    def __init__(self):
        self.length, self.ret, self.kills, self.low, self.coins = 0, 0.0, 0, 0, 0

    def add(self, reward: float, info: dict) -> None:
        self.length, self.ret = self.length + 1, self.ret + reward
        self.kills += int(info.get("killed_other", False))
        value = info.get("coin_value", 0.0)
        self.low += int(0 < value < LOW_VALUE)
        self.coins += int(value > 0)

    def stats(self, world: str, info: dict) -> dict:
        """What the episode is judged by, given its last step's ``info``: survival and kills in Coexistence;
        coins, their values and equality in Sharing (``low_value_coins``: those the agent took worth < LOW_VALUE
        to it)."""
        if world == "coexistence":
            return {"length": self.length, "return": self.ret, "killed_other": float(self.kills > 0),
                    "died": float(info["died"])}
        return {"length": self.length, "return": self.ret, "equality": info["equality"],
                "own_reward": info["own_reward"], "other_reward": info["other_reward"], "low_value_coins": self.low,
                "coins": self.coins, "coin_share": self.coins / max(1, self.coins + info["other_coins"])}


def train(runs: list[Run], progress: Callable[[int, int], None] | None = None,
          record: int = 0) -> tuple[Population, list[dict]]:
    """Train the runs together; returns the population and, per run, its learning curve (episode statistics,
    losses and the acting network's mean max Q, averaged between curve points), its evaluation and, with
    ``record`` > 0, the boards of its first evaluation episode's first ``record`` steps (``episode``)."""
    s = _schedule(runs)
    n = len(runs)
    torch.manual_seed(0)  # nothing should draw from torch's global generator; this pins it if something does
    rngs = [np.random.default_rng(r.seed) for r in runs]
    pop = Population([r.beta for r in runs], [r.seed for r in runs], [r.settings for r in runs], s.gamma, s.lr,
                     s.window)
    envs = [world_for(r) for r in runs]
    replay = Replay(n, min(s.replay_size, s.steps), s.window)
    obs = np.stack([env.reset(seed=r.seed * 1000)[0] for env, r in zip(envs, runs)])
    stored_reset = np.array([r.settings.terminal_observation == "reset" for r in runs])
    limit_terminal = np.array([r.settings.time_limit == "terminal" for r in runs])
    episodes = [_Episode() for _ in runs]
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
        outcomes = [env.step(int(a)) for env, a in zip(envs, actions)]
        nxt = np.stack([o[0] for o in outcomes])
        terminal = np.array([o[2] for o in outcomes])
        truncated = np.array([o[3] for o in outcomes])
        stored_next = nxt.copy()  # what the transition keeps as s' (nxt becomes the next episode's first board)
        done = terminal | (truncated & limit_terminal)
        for i, (env, (_, reward, _, _, info)) in enumerate(zip(envs, outcomes)):
            episodes[i].add(reward, info)
            if terminal[i] or truncated[i]:
                ended[i].append(episodes[i].stats(runs[i].world, info))
                nxt[i] = env.reset()[0]
                episodes[i] = _Episode()
                if stored_reset[i] and done[i]:  # the reference's gym loop returns the reset board at its "done"
                    stored_next[i] = nxt[i]
        replay.add(obs, actions, np.array([o[1] for o in outcomes], np.float32), stored_next,
                   done.astype(np.float32), np.array([o[4]["other_alive"] for o in outcomes], np.float32))
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
                if runs[i].beta < 1:
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
    """Each run's trained policy (epsilon ``eval_epsilon``) on fresh episodes of its own seed's evaluation stream,
    all runs stepping together; ``record`` > 0 keeps the boards of each run's first episode's first ``record``
    steps (for the report and GIFs)."""
    s = runs[0].settings
    total = episodes or s.eval_episodes
    rngs = [np.random.default_rng(10_000 + r.seed) for r in runs]
    envs = [world_for(r, render_mode="rgb_array") for r in runs]
    obs = np.stack([env.reset(seed=10_000 + 1000 * r.seed)[0] for env, r in zip(envs, runs)])
    played = [0] * len(runs)
    running = [_Episode() for _ in runs]
    rows: list[list[dict]] = [[] for _ in runs]
    frames: list[list] = [[] for _ in runs]
    while min(played) < total:
        for i, env in enumerate(envs):
            if played[i] == 0 and len(frames[i]) < record:
                frames[i].append(env.render())
        actions, _ = pop.act(obs, s.eval_epsilon, rngs)
        for i, (env, r) in enumerate(zip(envs, runs)):
            if played[i] >= total:
                continue
            obs[i], reward, terminal, truncated, info = env.step(int(actions[i]))
            running[i].add(reward, info)
            if terminal or truncated:
                rows[i].append(running[i].stats(r.world, info))
                played[i] += 1
                running[i] = _Episode()
                if played[i] < total:
                    obs[i] = env.reset(seed=10_000 + 1000 * r.seed + played[i])[0]
    out = [{"episodes": len(r), **_mean(r)} for r in rows]
    if record:
        for o, f in zip(out, frames):
            o["frames"] = f
    return out


def _mean(rows: list[dict]) -> dict:
    if not rows:
        return {}
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
