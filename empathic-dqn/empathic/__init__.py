"""Empathic DQN (Bussmann, Heinerman & Lehman, "Towards Empathic Deep Q-Learning", 2019) and its two gridworlds.

A package of its own beside ``notbugs``: it imports nothing from it and nothing imports it. Importing it registers
the worlds with Gymnasium: ``gymnasium.make("empathic/Coexistence-v0", render_mode="ansi")`` (and
``empathic/Sharing-v0``); each truncates itself after ``max_steps`` steps (500), so no TimeLimit is added. Their
observation is the agent's own view; the other's is in ``info["other_view"]``. For several learning agents, the
PettingZoo ``ParallelEnv``s are ``empathic.multi.CoexistenceParallel`` and ``SharingParallel``.
"""

import gymnasium

__version__ = "0.2.0"

for _world in ("Coexistence", "Sharing"):
    if f"empathic/{_world}-v0" not in gymnasium.registry:
        gymnasium.register(f"empathic/{_world}-v0", entry_point=f"empathic.worlds:{_world}")
