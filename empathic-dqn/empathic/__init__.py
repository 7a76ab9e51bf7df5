"""Empathic DQN (Bussmann, Heinerman & Lehman, "Towards Empathic Deep Q-Learning", 2019) and its two gridworlds.

A package of its own beside ``notbugs``: it imports nothing from it and nothing imports it.
"""

__version__ = "0.1.0"
