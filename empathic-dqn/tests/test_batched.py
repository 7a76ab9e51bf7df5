"""The batched worlds against the Python worlds, step for step on random actions: every observation, reward,
end, kill, death, coin and total, over many runs, seeds and rules, through episode ends and reseeded resets."""

import numpy as np
import pytest
import torch

from empathic.batched import BatchedCoexistence, BatchedSharing, Draws
from empathic.worlds import Coexistence, Sharing

INFO = {"coexistence": ("killed_other", "died", "other_alive"),
        "sharing": ("coin_value", "other_coin_value", "own_reward", "other_coins", "other_reward", "other_alive",
                    "equality")}


def _pair(world: str, n: int, seed: int, max_steps: int):
    """n Python worlds and their batched twin, with the rules varied across the runs."""
    g = np.random.default_rng(seed)
    shared = [("agent", "other")[k] for k in g.integers(2, size=n)]
    if world == "coexistence":
        wrap, view = [bool(k) for k in g.integers(2, size=n)], [("removed", "shown")[k] for k in g.integers(2, size=n)]
        envs = [Coexistence(max_steps=max_steps, kill_wrap=w, shared_cell=c, kill_step_view=v)
                for w, c, v in zip(wrap, shared, view)]
        return envs, BatchedCoexistence(n, max_steps=max_steps, kill_wrap=wrap, shared_cell=shared,
                                        kill_step_view=view)
    eq = [("paid", "shifted")[k] for k in g.integers(2, size=n)]
    envs = [Sharing(max_steps=max_steps, shared_cell=c, equality_from=e) for c, e in zip(shared, eq)]
    return envs, BatchedSharing(n, max_steps=max_steps, shared_cell=shared, equality_from=eq)


@pytest.mark.parametrize("world", ["coexistence", "sharing"])
@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)])
def test_the_batched_world_steps_as_the_python_worlds(world, seed):
    n, steps = 24, 700
    envs, batched = _pair(world, n, seed, max_steps=40 + 20 * seed)
    seeds = [1000 * seed + i for i in range(n)]
    expected = np.stack([np.stack([o, info["other_view"]]) for o, info in (env.reset(seed=s) for env, s in
                                                                          zip(envs, seeds))])
    assert torch.equal(batched.reset(seeds=seeds), torch.from_numpy(expected))
    g = np.random.default_rng(100 + seed)
    seen = {"ends": 0, "kills": 0, "deaths": 0, "coins": 0, "reseeded": 0}
    for t in range(steps):
        actions = g.integers(5, size=n)
        obs, reward, terminal, truncated, info = batched.step(torch.from_numpy(actions))
        ended = np.zeros(n, bool)
        for i, env in enumerate(envs):
            o, r, te, tr, inf = env.step(int(actions[i]))
            assert np.array_equal(obs[i, 0].numpy(), o) and np.array_equal(obs[i, 1].numpy(), inf["other_view"]), (t, i)
            assert reward[i].item() == r and terminal[i].item() == te and truncated[i].item() == tr, (t, i)
            for k in INFO[world]:
                assert info[k][i].item() == inf[k], (t, i, k)
            ended[i] = te or tr
            seen["kills"] += bool(inf.get("killed_other")) + 0
            seen["deaths"] += bool(inf.get("died")) + 0
            seen["coins"] += inf.get("coin_value", 0) > 0
        if ended.any():  # half the ended runs reseed (as the evaluation does), half go on with their generator
            idx = np.flatnonzero(ended)
            fresh = [int(s) for s in g.integers(10**6, size=len(idx))]
            reseed = g.random() < 0.5
            for i, s in zip(idx, fresh):
                envs[i].reset(seed=s if reseed else None)
            batched.reset(ended, seeds=fresh if reseed else None)
            seen["ends"] += len(idx)
            seen["reseeded"] += len(idx) * reseed
        expected = np.stack([env.observe() for env in envs])
        assert torch.equal(batched.observe(), torch.from_numpy(expected)), t
    assert seen["ends"] > n and seen["reseeded"] > 0  # the walk went through many episode ends of both kinds
    if world == "coexistence":
        assert seen["kills"] > 10 and seen["deaths"] > 10
    else:
        assert seen["coins"] > 50


def test_a_block_of_draws_is_the_stream_of_single_draws():
    draws = Draws(3, 5, block=7)
    draws.seed(np.arange(3), [4, 5, 6])
    single = [np.random.default_rng(s) for s in (4, 5, 6)]
    g = np.random.default_rng(0)
    for _ in range(50):
        mask = g.random(3) < 0.6
        got = draws.take(mask)
        for i in range(3):
            if mask[i]:
                assert got[i] == single[i].integers(5)
