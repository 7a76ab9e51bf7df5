"""Measuring a model: clean and robust accuracy, the attack sanity checks, AutoAttack."""
