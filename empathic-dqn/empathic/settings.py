"""Settings of a training run, per preset: every number with its source.

``paper``-sourced numbers are the authors' main script (``EmpathicDQN.py``); the quick preset scales the
training length down to fit this 2-core CPU (15 minutes for every run of ``empathic reproduce``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Settings:
    steps: int  # environment steps of training (the reference: 100,000 episodes, about 10^7 steps or more)
    epsilon_decay_steps: int  # epsilon falls linearly from 1.0 to epsilon_end over these (reference: 1,000,000)
    replay_start: int  # random-policy steps before learning (reference: 20,000)
    target_every: int  # copy the Q-network to its target every so many steps (reference: 10,000)
    eval_episodes: int  # greedy episodes after training, on which the claims are judged
    epsilon_end: float = 0.01  # reference
    gamma: float = 0.99  # reference
    lr: float = 1e-3  # reference: Adam's default rate
    batch_size: int = 32  # reference: per environment (an update samples batch_size * envs transitions)
    envs: int = 8  # copies of the world stepped together (1: the reference's loop; 8: 5x its steps per second here)
    replay_size: int = 500_000  # reference
    eval_epsilon: float = 0.01  # the behaviour the claims describe: the trained policy at its final epsilon
    size: int = 7  # reference main script: a 7 x 7 grid for both worlds
    window: int = 5  # reference
    max_steps: int = 500  # reference main script
    curve_every: int = 5_000  # learning-curve points (mean over the episodes ended since the last point)
    seeds: tuple[int, ...] = (0, 1, 2)  # at least 3 per setting (RL results vary by seed)
    betas: tuple[float, ...] = (1.0, 0.5)  # selfish DQN and the paper's empathic agent (SELFISHNESS = 0.5)

    def to_dict(self) -> dict:
        return asdict(self)


# full: the reference's exploration schedule and target period, 1.5 M steps per run (past the 1 M steps epsilon
# takes to decay; the reference's 100,000 episodes would be 10^7+ steps, days on this CPU)
FULL = Settings(steps=1_500_000, epsilon_decay_steps=1_000_000, replay_start=20_000, target_every=10_000,
                eval_episodes=200, curve_every=25_000)
# quick: 12 runs (2 worlds x 2 betas x 3 seeds) in 15 minutes on this CPU: 100,000 steps each in 8 worlds at
# once, the exploration schedule and target period scaled by the same 1/16
QUICK = replace(FULL, steps=100_000, epsilon_decay_steps=60_000, replay_start=5_000, target_every=1_000,
                eval_episodes=50, curve_every=5_000, replay_size=100_000)
# tiny: the test suite's end-to-end run, seconds
TINY = replace(QUICK, steps=600, epsilon_decay_steps=400, replay_start=100, target_every=100, eval_episodes=3,
               curve_every=200, replay_size=1_000, max_steps=50, seeds=(0, 1))

PRESETS = {"quick": QUICK, "full": FULL, "tiny": TINY}
