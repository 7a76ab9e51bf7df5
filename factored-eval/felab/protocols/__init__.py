"""Protocols: rules as data (``rules``: the JSON preset files beside this module) and the pure engine that runs
them (``engine``)."""

from .engine import DONE, Act, Done, GameState, RuleViolation, SubGame, apply, apply_child, child, next_turn, start
from .rules import ROUND_TYPES, Protocol, ProtocolError, Round, load, parse, presets

__all__ = ["DONE", "Act", "Done", "GameState", "RuleViolation", "SubGame", "apply", "apply_child", "child",
           "next_turn", "start", "ROUND_TYPES", "Protocol", "ProtocolError", "Round", "load", "parse", "presets"]
