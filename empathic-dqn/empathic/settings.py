"""Settings of a training run, per preset: every number with its source, and the rules where the package may
depart from the authors' code.

Numbers marked "reference" are the authors' main script (``EmpathicDQN.py``). Its schedule: 20,000 random steps,
then one minibatch of 32 per environment step in one world, the target copied every 10,000 steps, epsilon from 1
to 0.01 over 1,000,000 steps, 100,000 episodes. ``full`` is that schedule (its length in steps, not episodes);
``quick`` is the same schedule shorter: the same one update of 32 per step, with the exploration, the target
period and the random start scaled by 1/32 to a 50,000-step run, so that epsilon still reaches its end.

The rules (``RULES``) are switches between the authors' code (``REFERENCE_RULES``) and a change of it; the
defaults follow the reference except where it has a bug (``kill_wrap``, ``terminal_observation``, ``time_limit``,
``other_at_end``, ``equality_from``), and ``empathic reproduce`` runs an ablation of each switch.
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
    batch_size: int = 32  # reference: one minibatch per environment step
    replay_size: int = 500_000  # reference
    eval_epsilon: float = 0.01  # the behaviour the claims describe: the trained policy at its final epsilon
    size: int = 7  # reference main script: a 7 x 7 grid for both worlds
    window: int = 5  # reference
    max_steps: int = 500  # reference main script
    curve_every: int = 5_000  # learning-curve points (mean over the episodes ended since the last point)
    seeds: tuple[int, ...] = tuple(range(10))  # the claims' seeds (RL results vary by seed)
    betas: tuple[float, ...] = (1.0, 0.5)  # selfish DQN and the paper's empathic agent (SELFISHNESS = 0.5)
    sweep_betas: tuple[float, ...] = (0.0, 0.25, 0.75)  # the trade-off between the two, beside betas 1 and 0.5
    side_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # seeds of the beta sweep and of the ablation (their first ones
    # are the claims' first ones: the ablation's "defaults" row reuses those runs)
    # rules (see RULES below): the defaults
    kill_wrap: bool = True  # kills across the torus's edges, as moves wrap (reference: False, a bug: an agent on
    # the last row or column can neither kill nor be killed across the edge it walks over)
    terminal_observation: str = "terminal"  # a terminal step's next state is the last board ("reset": the
    # reference's, the next episode's first board, a bug of its gym loop)
    time_limit: str = "truncation"  # the 500-step limit cuts the episode and the targets bootstrap through it
    # ("terminal": the reference's, the limit is a terminal state without time in the observation)
    coin_view: str = "uint8"  # the reference's: its network reads the board through a uint8 placeholder, so a
    # coin's -1 is 255, input 2.55 ("signed": -0.01, what this package fed undocumented before this switch)
    dead_other: str = "network"  # the reference's: once the other is killed its (all-zero) view is still valued
    # by the target network ("zero": its term is 0, a method change that makes killing cost nothing)
    other_at_end: str = "masked"  # the other's term is 0 at a terminal step, as the own term is ("unmasked":
    # the reference's, a value of the other's view at every episode end)
    init: str = "glorot"  # the reference's: Glorot-uniform weights and zero biases (its TF1 fully_connected
    # defaults, EmpathicDQN.py:46-49), so every network values an all-zero view (a killed other's) at exactly 0
    # before training ("torch": torch.nn.Linear's uniform +-1/sqrt(fan_in) weights and biases, what this package
    # drew before this switch)
    selfish_policy: str = "empathic"  # the reference's: the selfish agent (beta = 1) acts, as every agent does,
    # with its empathic estimator, there a second regressor on its own Double-DQN target (EmpathicDQN.py:177,
    # 288, 293) ("q": it acts with its Q-network and leaves the empathic network untrained, what this package did
    # before this switch)
    shared_cell: str = "other"  # the reference's: where the two agents share a cell, the board shows the other's
    # mark, drawn last (Coexistence.py:50-58, Sharing.py:48) ("agent": the agent's own mark)
    kill_step_view: str = "shown"  # the reference's: at the step the agent kills the other, its own view still
    # shows the victim (the board is drawn before the victim is removed, Coexistence.py:142-150); the other's
    # view is zero either way ("removed": the victim is gone from the kill step's board)
    equality_from: str = "paid"  # equality of the rewards paid ("shifted": the reference's totals, which count
    # each coin 0.1 above its pay, the first as 1.1, Sharing.py:132-135: a bug, the reward paid is 1.0)

    def to_dict(self) -> dict:
        return asdict(self)

    def rules(self) -> dict:
        return {k: getattr(self, k) for k in RULES}

    def run_key(self) -> dict:
        """What one run depends on: everything but the lists of seeds and betas a reproduction runs."""
        return {k: v for k, v in self.to_dict().items() if k not in ("seeds", "betas", "sweep_betas", "side_seeds")}


RULES = {"kill_wrap": (True, False), "terminal_observation": ("terminal", "reset"),
         "time_limit": ("truncation", "terminal"), "coin_view": ("uint8", "signed"),
         "dead_other": ("network", "zero"), "other_at_end": ("masked", "unmasked"),
         "init": ("glorot", "torch"), "selfish_policy": ("empathic", "q"), "shared_cell": ("other", "agent"),
         "kill_step_view": ("shown", "removed"), "equality_from": ("paid", "shifted")}  # each rule's allowed values
DEFAULT_RULES = {k: allowed[0] for k, allowed in RULES.items()}  # the first allowed value is the default
REFERENCE_RULES = {"kill_wrap": False, "terminal_observation": "reset", "time_limit": "terminal",
                   "coin_view": "uint8", "dead_other": "network", "other_at_end": "unmasked", "init": "glorot",
                   "selfish_policy": "empathic", "shared_cell": "other", "kill_step_view": "shown",
                   "equality_from": "shifted"}
# what the package did before 0.2.0 made these five rules switches (the first four defaults are the reference's
# since; equality_from's default is 0.1.0's): a run of 0.1.0 is a run with these values
BEFORE_0_2 = {"init": "torch", "selfish_policy": "q", "shared_cell": "agent", "kill_step_view": "removed",
              "equality_from": "paid"}
AGENT_RULES = ("init", "selfish_policy")  # the rules of the agent, acting in both worlds
WORLD_RULES = {"coexistence": ("kill_wrap", "terminal_observation", "time_limit", "dead_other", "other_at_end",
                               *AGENT_RULES, "shared_cell", "kill_step_view"),
               "sharing": ("terminal_observation", "time_limit", "coin_view", "other_at_end", *AGENT_RULES,
                           "shared_cell", "equality_from")}  # where each acts


def check_rules(s: Settings) -> None:
    for k, allowed in RULES.items():
        if getattr(s, k) not in allowed:
            raise ValueError(f"{k} must be one of {', '.join(map(str, allowed))}, got {getattr(s, k)!r}")


# full: the reference's schedule, 1.5 M steps per run (past the 1 M steps epsilon takes to decay; the
# reference's 100,000 episodes are longer: see the README for what they are in steps in each world)
FULL = Settings(steps=1_500_000, epsilon_decay_steps=1_000_000, replay_start=20_000, target_every=10_000,
                eval_episodes=200, curve_every=25_000)
# quick: the same schedule shorter, 50,000 steps per run, the random start, the exploration and the target period
# scaled by 1/32 (at 100,000 steps 0.1.0's reproduction of 140 runs would have taken over 2 h of this 2-core CPU;
# at 50,000 it took 72 minutes)
QUICK = replace(FULL, steps=50_000, epsilon_decay_steps=31_250, replay_start=625, target_every=312,
                eval_episodes=50, curve_every=2_500, replay_size=50_000)
# tiny: the test suite's end-to-end run, seconds
TINY = replace(QUICK, steps=600, epsilon_decay_steps=400, replay_start=100, target_every=100, eval_episodes=3,
               curve_every=200, replay_size=1_000, max_steps=50, seeds=(0, 1), sweep_betas=(0.0,),
               side_seeds=(0, 1))

PRESETS = {"quick": QUICK, "full": FULL, "tiny": TINY}
