"""Run-steps per second of the worlds alone and of training, for populations of runs.

    python benchmarks/worlds_and_training.py [--runs 20,60] [--steps 2000] [--device cpu] [--json OUT]

Worlds: every run's Python world stepped one by one (``worlds.py``, what training used before 0.2.0) against the
batched world (``batched.py``), on random actions with resets. Training: ``training.train`` on a population of
runs (Coexistence and Sharing, half selfish and half empathic, the quick schedule's learning phase: one update of
32 per step), its own ``steps_per_second``. Run it alone, under ``flock /tmp/cpu.lock``, and quote it beside
``python /work/shared/tools/calibrate.py``'s seconds. With an older ``empathic`` on PYTHONPATH (one without
``batched.py``) it times that one's training, so the same script gives the numbers before and after.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace

import numpy as np
import torch

from empathic.settings import QUICK
from empathic.training import Run, train
from empathic.worlds import WORLDS

try:
    from empathic.batched import BATCHED
except ImportError:  # an empathic from before the batched worlds
    BATCHED = None


def python_worlds(world: str, n: int, steps: int) -> float:
    envs = [WORLDS[world]() for _ in range(n)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    actions = np.random.default_rng(0).integers(5, size=(steps, n))
    started = time.perf_counter()
    for t in range(steps):
        for env, a in zip(envs, actions[t]):
            _, _, terminal, truncated, _ = env.step(int(a))
            if terminal or truncated:
                env.reset()
    return n * steps / (time.perf_counter() - started)


def batched_worlds(world: str, n: int, steps: int, device: str) -> float:
    worlds = BATCHED[world](n, device=device)
    worlds.reset(seeds=list(range(n)))
    actions = torch.from_numpy(np.random.default_rng(0).integers(5, size=(steps, n))).to(device)
    started = time.perf_counter()
    for t in range(steps):
        _, _, terminal, truncated, _ = worlds.step(actions[t])
        over = terminal | truncated
        if bool(over.any()):
            worlds.reset(over)
    if device != "cpu":
        torch.cuda.synchronize()
    return n * steps / (time.perf_counter() - started)


def training(world: str, n: int, steps: int, device: str) -> float:
    s = replace(QUICK, steps=steps, replay_start=100, curve_every=steps, eval_episodes=1, max_steps=100)
    runs = [Run(world, 1.0 if k % 2 == 0 else 0.5, k // 2, s) for k in range(n)]
    _, results = train(runs, device=device) if BATCHED else train(runs)
    return results[0]["steps_per_second"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="20,60", help="population sizes, comma-separated")
    p.add_argument("--steps", type=int, default=2000, help="steps per measurement")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, help="also write the rows here")
    args = p.parse_args()
    rows = []
    for n in (int(x) for x in args.runs.split(",")):
        for world in WORLDS:
            row = {"world": world, "runs": n, "python_worlds": python_worlds(world, n, args.steps)}
            if BATCHED:
                row["batched_worlds"] = batched_worlds(world, n, args.steps, args.device)
            row["training"] = training(world, n, args.steps, args.device)
            rows.append(row)
            print(" ".join(f"{k}={v:.0f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                  flush=True)
    if args.json:
        meta = {"batched": BATCHED is not None, "device": args.device, "steps": args.steps,
                "torch_threads": torch.get_num_threads(), "machine": platform.machine(), "unit": "run-steps/s"}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
