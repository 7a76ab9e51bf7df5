"""The N-agent worlds as PettingZoo ParallelEnvs, their rules on hand-built positions, and matches of policies."""

import json
from dataclasses import replace

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from empathic.cli import main
from empathic.matches import match, policies
from empathic.multi import CoexistenceParallel, SharingParallel
from empathic.settings import TINY


@pytest.mark.parametrize("world", [CoexistenceParallel, SharingParallel])
@pytest.mark.parametrize("agents", [2, 4])
def test_the_worlds_pass_pettingzoos_parallel_api_test(world, agents):
    parallel_api_test(world(agents=agents, max_steps=60), num_cycles=300)


def _placed(positions: dict) -> CoexistenceParallel:
    env = CoexistenceParallel(agents=len(positions))
    env.reset(seed=0)
    env.position = {a: np.array(p) for a, p in positions.items()}
    return env


def test_an_agent_below_or_right_of_a_living_other_dies_and_the_killer_scores():
    env = _placed({"agent_0": [2, 2], "agent_1": [3, 2], "agent_2": [5, 5]})  # agent_1 below agent_0
    obs, rewards, terms, truncs, infos = env.step({"agent_0": 4, "agent_1": 4, "agent_2": 4})
    assert terms == {"agent_0": False, "agent_1": True, "agent_2": False}
    assert infos["agent_0"]["killed"] == 1 and infos["agent_1"]["died"] and not obs["agent_1"].any()
    assert env.agents == ["agent_0", "agent_2"] and rewards["agent_1"] == 1.0
    # agent_0's closest living other is now agent_2: its view is centred there
    assert infos["agent_0"]["other_view"][2, 2] == 5 and infos["agent_0"]["other_alive"]


def test_the_empathic_swap_is_zero_once_no_other_lives():
    env = _placed({"agent_0": [2, 2], "agent_1": [2, 3]})  # agent_1 right of agent_0
    _, _, terms, _, infos = env.step({"agent_0": 4, "agent_1": 4})
    assert terms["agent_1"] and not infos["agent_0"]["other_view"].any() and not infos["agent_0"]["other_alive"]


def test_sharing_coins_go_to_whoever_steps_on_them_at_diminishing_value():
    env = SharingParallel(agents=3)
    env.reset(seed=1)
    env.position["agent_2"] = np.array([1, 0])
    env.coins_of["agent_2"] = 4
    _, rewards, _, _, infos = env.step({"agent_0": 1, "agent_1": 1, "agent_2": 2})  # agent_2 onto the coin at (1, 1)
    assert rewards["agent_2"] == pytest.approx(0.6) and (1, 1) not in env.coins and rewards["agent_0"] == 0
    assert infos["agent_0"]["equality"] == 0.0  # agent_0 and agent_1 earned nothing


def test_a_match_of_empathic_against_selfish_trains_both_and_reports_each():
    s = replace(TINY, steps=200, replay_start=50)
    out = match("coexistence", ["selfish", "empathic"], seed=0, s=s, episodes=3)
    assert [out[a]["policy"] for a in ("agent_0", "agent_1")] == ["selfish", "empathic"]
    assert all(out[a]["games"] == 3 and 0 <= out[a]["killed_other"] <= 1 for a in out)
    learners = policies("coexistence", ["selfish", "empathic"], 0, s)[0]
    assert learners.agents == ["agent_0", "agent_1"] and learners.pop.beta.tolist() == [1.0, 0.5]


def test_match_is_one_command_and_bad_specs_are_one_line(capsys):
    assert main(["match", "sharing", "--agents", "empathic,path", "--preset", "tiny", "--steps", "150",
                 "--episodes", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["agent_1"]["policy"] == "path" and out["agent_0"]["games"] == 2
    assert main(["match", "coexistence", "--agents", "empathic,teacher", "--preset", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "teacher" in err and err.count("\n") == 1
