"""The training loop, and the greedy evaluation the claims are judged on.

One run is one world, one selfishness beta and one seed: epsilon-greedy steps with one minibatch update per
step after ``replay_start`` random steps, the target network copied every ``target_every`` steps, then
``eval_episodes`` episodes of the trained policy. The seed fixes everything (torch, the policy's and the
replay's numpy generator, the world's own generator), so a run repeats to the bit on one machine.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from .agent import Agent, Replay
from .settings import Settings
from .worlds import make_world


def epsilon_at(step: int, s: Settings) -> float:
    return s.epsilon_end + (1.0 - s.epsilon_end) * max(0.0, 1 - step / s.epsilon_decay_steps)


LOW_VALUE = 0.65  # a coin worth less than this to its collector (its 5th coin on: 0.6, 0.5, ...) is low-value


def episode_stats(world: str, info: dict, length: int, reward: float, kills: int, low: int) -> dict:
    """What one episode is judged by: survival and kills in Coexistence; coins, their values and equality in
    Sharing (``low``: the low-value coins the agent took)."""
    if world == "coexistence":
        return {"length": length, "return": reward, "killed_other": float(kills > 0), "died": float(info["died"])}
    return {"length": length, "return": reward, "equality": info["equality"], "own_reward": info["own_reward"],
            "other_reward": info["other_reward"], "low_value_coins": low}


def is_low(info: dict) -> int:
    return int(0 < info.get("coin_value", 0.0) < LOW_VALUE)


def train(world: str, beta: float, seed: int, s: Settings,
          progress: Callable[[int, int], None] | None = None) -> tuple[Agent, dict]:
    """``s.envs`` copies of the world step in lockstep (one batched forward pass chooses their actions); after
    each such step one minibatch of ``batch_size * envs`` transitions updates the networks, the reference's
    ratio of sampled to collected transitions (with one environment, the reference's loop: one step, one minibatch of
    32)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    envs = [make_world(world, size=s.size, window=s.window, max_steps=s.max_steps) for _ in range(s.envs)]
    agent = Agent(beta=beta, gamma=s.gamma, lr=s.lr, window=s.window, seed=seed)
    replay = Replay(min(s.replay_size, s.steps), s.window)
    obs = np.stack([env.reset(seed=seed * 1000 + i)[0] for i, env in enumerate(envs)])
    running = [dict(length=0, ret=0.0, kills=0, low=0) for _ in envs]
    curve, ended, next_point = [], [], s.curve_every
    started = time.perf_counter()
    step = 0
    while step < s.steps:
        learning = step >= s.replay_start
        actions = agent.act(obs, epsilon_at(step - s.replay_start, s) if learning else 1.0, rng)
        outcomes = [env.step(int(a)) for env, a in zip(envs, actions)]
        nxt = np.stack([o[0] for o in outcomes])
        replay.add(obs, actions, np.array([o[1] for o in outcomes], np.float32), nxt,
                   np.array([o[2] for o in outcomes], np.float32),
                   np.array([o[4]["other_alive"] for o in outcomes], np.float32))
        for i, (env, (_, reward, done, truncated, info)) in enumerate(zip(envs, outcomes)):
            r = running[i]
            r["length"], r["ret"] = r["length"] + 1, r["ret"] + reward
            r["kills"] += int(info.get("killed_other", False))
            r["low"] += is_low(info)
            if done or truncated:
                ended.append(episode_stats(world, info, r["length"], r["ret"], r["kills"], r["low"]))
                nxt[i] = env.reset()[0]
                running[i] = dict(length=0, ret=0.0, kills=0, low=0)
        obs = nxt
        step += len(envs)
        if learning:
            agent.update(replay.sample(s.batch_size * len(envs), rng))
            if (step - s.replay_start) % s.target_every < len(envs):
                agent.sync_target()
        if step >= next_point:
            curve.append({"step": step, "episodes": len(ended), **_mean(ended)})
            ended, next_point = [], next_point + s.curve_every
            if progress:
                progress(step, s.steps)
    seconds = time.perf_counter() - started
    evaluation = evaluate(agent, world, s, seed)
    return agent, {"world": world, "beta": beta, "seed": seed, "curve": curve, "eval": evaluation,
                   "train_seconds": seconds, "steps_per_second": step / seconds}


def evaluate(agent: Agent, world: str, s: Settings, seed: int, episodes: int | None = None,
             record: int = 0) -> dict:
    """The trained policy (epsilon ``eval_epsilon``) on fresh episodes of its own seed's evaluation stream;
    ``record`` > 0 keeps the boards of the first episode's first ``record`` steps, for the report."""
    rng = np.random.default_rng(10_000 + seed)
    env = make_world(world, size=s.size, window=s.window, max_steps=s.max_steps, render_mode="rgb_array")
    rows, frames = [], []
    for episode in range(episodes or s.eval_episodes):
        obs, _ = env.reset(seed=10_000 + 1000 * seed + episode)
        length, ret, kills, low, done = 0, 0.0, 0, 0, False
        while not done:
            if episode == 0 and len(frames) < record:
                frames.append(env.render())
            obs, reward, terminal, truncated, info = env.step(int(agent.act(obs[None], s.eval_epsilon, rng)[0]))
            length, ret, kills = length + 1, ret + reward, kills + int(info.get("killed_other", False))
            low += is_low(info)
            done = terminal or truncated
        rows.append(episode_stats(world, info, length, ret, kills, low))
    out = {"episodes": len(rows), **_mean(rows)}
    if record:
        out["frames"] = frames
    return out


def _mean(rows: list[dict]) -> dict:
    if not rows:
        return {}
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
