"""Empathic DQN: the worlds' rules on hand-built positions, the empathic target, beta = 1 as DQN, a tiny run."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from empathic.agent import Agent, QNet, empathic_targets, other_values, self_targets
from empathic.claims import CLAIMS, FAILS, HOLDS, INCONCLUSIVE, NOT_TESTABLE, judge
from empathic.cli import main
from empathic.settings import TINY
from empathic.training import train
from empathic.worlds import Coexistence, Sharing, coin_value, equality, swapped


def coexistence(agent, other) -> Coexistence:
    env = Coexistence(size=7, window=5)
    env.reset(seed=0)
    env.agent, env.other = np.array(agent), np.array(other)
    return env


class StayingOther(Coexistence):
    """The other agent stands still (action 4), so a step's outcome depends on the agent's move alone."""

    def other_action(self) -> int:
        return 4


def staying(agent, other) -> StayingOther:
    env = StayingOther(size=7, window=5)
    env.reset(seed=0)
    env.agent, env.other = np.array(agent), np.array(other)
    return env


def test_the_other_kills_from_above_and_from_the_left():
    _, _, dead, _, info = staying([2, 2], [3, 3]).step(1)  # agent moves up to (1, 2): not threatened
    assert not dead
    _, _, dead, _, _ = staying([2, 3], [2, 2]).step(4)  # agent right of the other: killed
    assert dead
    _, _, dead, _, _ = staying([3, 2], [2, 2]).step(4)  # agent below the other: killed
    assert dead


def test_the_agent_kills_below_and_right_of_itself_and_the_other_is_gone():
    env = staying([2, 2], [2, 4])
    _, reward, dead, _, info = env.step(2)  # agent to (2, 3): the other at (2, 4) is right of it
    assert not dead and info["killed_other"] and env.other is None and reward == 1.0
    obs, _, dead, _, _ = env.step(4)
    assert not dead and not obs[1].any()  # the other's view is empty once it is gone


def test_kill_cells_wrap_around_the_edges():
    _, _, dead, _, _ = staying([6, 0], [6, 6]).step(4)  # (6, 0) is right of (6, 6) on the torus
    assert dead
    _, _, _, _, info = staying([6, 6], [0, 6]).step(4)  # (0, 6) is below (6, 6)
    assert info["killed_other"]


def test_sharing_coins_lose_value_and_equality_is_the_papers():
    assert [round(coin_value(k), 2) for k in (1, 2, 5)] == [1.0, 0.9, 0.6]
    assert equality(3.0, 1.0) == pytest.approx(0.5) and equality(2.0, 2.0) == 1.0 and equality(0.0, 0.0) == 1.0
    env = Sharing(size=7, window=5)
    env.reset(seed=0)
    env.agent_first, env.steps = True, 1
    env.agent = np.array([1, 0])
    _, reward, _, _, info = env.step(2)  # onto the coin at (1, 1)
    assert reward == pytest.approx(1.0) and info["own_reward"] == pytest.approx(1.0) and (1, 1) not in env.coins


def test_the_swap_shows_the_other_agent_centred():
    env = coexistence([3, 3], [0, 0])
    obs = env.observe()
    assert obs[0, 2, 2] == 5 and obs[1, 2, 2] == 5  # each view is centred on its agent
    assert np.array_equal(swapped(obs)[0], obs[1]) and np.array_equal(swapped(obs)[1], obs[0])


def test_the_empathic_target_is_the_hand_computed_mix():
    torch.manual_seed(0)
    q, target = QNet(), QNet()
    batch = {"state": torch.rand(4, 2, 5, 5) * 10, "next_state": torch.rand(4, 2, 5, 5) * 10,
             "action": torch.tensor([0, 1, 2, 3]), "reward": torch.tensor([1.0, 0.0, 1.0, 0.5]),
             "done": torch.tensor([0.0, 1.0, 0.0, 0.0]), "other_alive": torch.tensor([1.0, 1.0, 0.0, 1.0])}
    with torch.no_grad():
        y_self, y_other = self_targets(q, target, batch, 0.9), other_values(target, batch, 0.9)
        for i in range(4):
            own = batch["next_state"][i:i + 1, 0]
            best = int(q(own).argmax())
            expected = float(batch["reward"][i]) + 0.9 * (1 - float(batch["done"][i])) * float(target(own)[0, best])
            assert float(y_self[i]) == pytest.approx(expected, rel=1e-6)
            theirs = 0.9 * float(batch["other_alive"][i]) * float(target(batch["next_state"][i:i + 1, 1]).max())
            assert float(y_other[i]) == pytest.approx(theirs, rel=1e-6, abs=1e-7)
            mixed = 0.3 * expected + 0.7 * theirs
            assert float(empathic_targets(y_self, y_other, 0.3)[i]) == pytest.approx(mixed, rel=1e-6)


def test_beta_one_is_plain_dqn_exactly():
    agent = Agent(beta=1.0, gamma=0.99, lr=1e-3, window=5, seed=3)
    assert agent.empathic is None and agent.policy is agent.q
    torch.manual_seed(3)
    reference = QNet()  # a plain DQN's network from the same seed, updated by hand
    opt = torch.optim.Adam(reference.parameters(), lr=1e-3, foreach=True)
    target = QNet()
    target.load_state_dict(reference.state_dict())
    batch = {"state": torch.rand(8, 2, 5, 5) * 10, "next_state": torch.rand(8, 2, 5, 5) * 10,
             "action": torch.randint(0, 5, (8,)), "reward": torch.rand(8), "done": torch.zeros(8),
             "other_alive": torch.ones(8)}
    for _ in range(3):
        agent.update(batch)
        with torch.no_grad():
            y = self_targets(reference, target, batch, 0.99)
        loss = torch.mean((y - reference(batch["state"][:, 0]).gather(1, batch["action"][:, None]).squeeze(1)) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for a, b in zip(agent.q.parameters(), reference.parameters()):
        assert torch.equal(a, b)


def test_beta_outside_zero_one_is_refused(capsys):
    with pytest.raises(ValueError):
        Agent(beta=1.5, gamma=0.99, lr=1e-3, window=5, seed=0)
    assert main(["train", "coexistence", "--beta", "1.5", "--preset", "tiny"]) == 2
    assert "[0, 1]" in capsys.readouterr().err
    assert main(["train", "chess", "--preset", "tiny"]) == 2
    assert "unknown world" in capsys.readouterr().err
    assert main(["evaluate", "/no/such/run"]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_a_run_repeats_to_the_bit():
    s = replace(TINY, steps=400)
    _, a = train("sharing", 0.5, 1, s)
    _, b = train("sharing", 0.5, 1, s)
    assert json.dumps(a["curve"]) == json.dumps(b["curve"]) and a["eval"] == b["eval"]


def test_a_tiny_reproduction_end_to_end_and_resumes(tmp_path, capsys):
    assert main(["reproduce", "--preset", "tiny", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text())
    assert {c["id"] for c in results["claims"]} == {c.id for c in CLAIMS}
    assert all(c["verdict"] in (HOLDS, FAILS, INCONCLUSIVE, NOT_TESTABLE) for c in results["claims"])
    report = (tmp_path / "report.html").read_text()
    assert "smoke test" in report and "data:image/gif;base64," in report and "learning curves" in report
    assert "report:" in out
    run = next((tmp_path / "runs").iterdir())
    assert main(["evaluate", str(run), "--episodes", "2"]) == 0
    assert main(["evaluate", str(run), "--episodes", "1", "--gif", str(tmp_path / "agent.gif")]) == 0
    gif = (tmp_path / "agent.gif").read_bytes()
    assert gif.startswith(b"GIF8") and len(gif) > 100
    mtime = (run / "run.json").stat().st_mtime
    assert main(["reproduce", "--preset", "tiny", "--out", str(tmp_path)]) == 0  # every run read back
    assert (run / "run.json").stat().st_mtime == mtime


def test_judge_decides_by_the_interval_over_seeds():
    claim = CLAIMS[0]  # selfish minus empathic kill share >= 0.2; premise: selfish kills >= 0.3

    def runs(selfish, empathic):
        return [{"world": "coexistence", "beta": b, "seed": s, "eval": {"killed_other": v, "length": 100}}
                for s, (x, y) in enumerate(zip(selfish, empathic)) for b, v in ((1.0, x), (0.5, y))]

    assert judge(claim, runs([0.9, 0.9, 0.9], [0.1, 0.2, 0.1]))["verdict"] == HOLDS
    assert judge(claim, runs([0.9, 0.9, 0.9], [0.9, 0.85, 0.9]))["verdict"] == FAILS
    assert judge(claim, runs([0.9, 0.5, 0.9], [0.1, 0.5, 0.6]))["verdict"] == INCONCLUSIVE
    assert judge(claim, runs([0.1, 0.1, 0.1], [0.0, 0.0, 0.0]))["verdict"] == NOT_TESTABLE


@pytest.mark.parametrize("name", ["empathic/Coexistence-v0", "empathic/Sharing-v0"])
def test_the_worlds_are_registered_gymnasium_environments(name):
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make(name, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    assert env.metadata["render_fps"] > 0
    text = gymnasium.make(name, render_mode="ansi")
    text.reset(seed=0)
    board = text.render()
    assert board.count("\n") == 7 and "A" in board
    with pytest.raises(ValueError, match="render_mode"):
        gymnasium.make(name, render_mode="fancy")


@pytest.mark.parametrize("world", [Coexistence, Sharing])
def test_both_worlds_truncate_after_max_steps_steps(world):
    class Still(world):
        def other_action(self) -> int:
            return 4

    env = Still(max_steps=9)
    env.reset(seed=0)
    if isinstance(env, Coexistence):
        env.other = None  # no one to kill the agent: the episode can only be truncated
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(4)
        steps += 1
        done = terminated or truncated
    assert truncated and not terminated and steps == 9


@pytest.mark.parametrize("argv, message", [
    (["train", "coexistence", "--seed", "-1"], "--seed must be >= 0"),
    (["train", "coexistence", "--steps", "0"], "--steps must be >= 1"),
    (["evaluate", "nowhere", "--episodes", "0"], "--episodes must be >= 1"),
])
def test_bad_numbers_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
