"""Changes to a preset from a file (``--config``) or the command line (``--set FIELD=VALUE``).

Any field of a preset can be changed, nested fields by dotted names (``inversion.steps``), and any field of an
experiment's own settings under ``experiments.<name>`` (``experiments.nakkiran.det_images``). Every name and
every value's type is checked against the dataclasses before anything runs; a wrong one is one error naming the
valid fields. A run's ``settings`` block (results.json, and the report's last section) is itself a config: given
back with ``--config results.json`` it reproduces the run.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields, is_dataclass, replace
from pathlib import Path

from ..core.errors import NotbugsError
from .presets import SEEDED

_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict, "tuple": tuple}


def read_config(path: Path) -> dict:
    """The changes a TOML or JSON file asks for; a results.json gives its run's settings (and each experiment's)."""
    path = Path(path)
    if not path.is_file():
        raise NotbugsError(f"--config {path} is not a file; give a .toml or .json file of preset fields")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise NotbugsError(f"--config {path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {exc}") \
            from None
    if not isinstance(tree, dict):
        raise NotbugsError(f"--config {path} must hold an object of preset fields, not a {type(tree).__name__}")
    if isinstance(tree.get("settings"), dict) and isinstance(tree.get("experiments"), dict):  # a results.json
        settings = dict(tree["settings"])
        settings["experiments"] = {name: e["settings"] for name, e in tree["experiments"].items()
                                   if isinstance(e, dict) and isinstance(e.get("settings"), dict)}
        for block in (settings, *settings["experiments"].values()):  # the paper's settings are a preset
            _lift_seed(block)
        return settings
    return tree


def _lift_seed(settings: dict) -> None:
    """A run of 0.4.0.dev0 before the preset had a seed of its own wrote the seed into each step's settings: lift
    it to the top, where a preset now keeps it (its steps' settings refuse one)."""
    for name in SEEDED:
        if isinstance(settings.get(name), dict) and "seed" in settings[name]:
            step = settings[name] = dict(settings[name])
            settings.setdefault("seed", step.pop("seed"))


def parse_sets(items: list[str]) -> dict:
    """``["inversion.steps=1000", "eval_eps=[0.5,1]"]`` as a nested dict; a value is read as JSON where it is
    JSON (numbers, true/false, null, lists), else kept as text (``inversion.schedule=cosine``)."""
    tree: dict = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip() or not all(part.strip() for part in name.split(".")):
            raise NotbugsError(f"--set takes FIELD=VALUE (e.g. inversion.steps=1000), got '{item}'")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        node = tree
        parts = [p.strip() for p in name.split(".")]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise NotbugsError(f"--set {item}: '{part}' is set to a value and has fields at once")
        node[parts[-1]] = value
    return tree


def merge(base: dict, more: dict) -> dict:
    out = dict(base)
    for key, value in more.items():
        out[key] = merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def _allowed(annotation) -> set[type] | None:
    """The value types a field's annotation admits (``int | None`` -> {int, NoneType}); None where it names
    something other than plain types (a dataclass, a callable): such values are not checked here."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    allowed = set()
    for part in parts + [current]:
        base = part.strip().split("[")[0]
        if base == "None":
            allowed.add(type(None))
        elif base in _TYPES:
            allowed.add(_TYPES[base])
        else:
            return None
    return allowed


def _value(value, annotation, where: str):
    allowed = _allowed(annotation)
    if allowed is None:
        return value
    if isinstance(value, bool) and bool not in allowed:
        raise NotbugsError(f"{where} takes {_describe(allowed)}, not a true/false")
    if isinstance(value, int) and not isinstance(value, bool) and int not in allowed and float in allowed:
        return float(value)
    if isinstance(value, list) and list not in allowed and tuple in allowed:
        return tuple(value)
    if not isinstance(value, tuple(allowed)):
        raise NotbugsError(f"{where} takes {_describe(allowed)}, got {json.dumps(value)}")
    return value


def _describe(allowed: set[type]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in sorted(allowed, key=str))


def apply_fields(obj, changes: dict, where: str = ""):
    """A copy of dataclass ``obj`` with ``changes`` (nested dataclasses by nested dicts), each checked."""
    if not isinstance(changes, dict):
        raise NotbugsError(f"{where or 'the config'} takes an object of fields, got {json.dumps(changes)}")
    known = {f.name: f for f in fields(obj)}
    unknown = [k for k in changes if k not in known]
    if unknown:
        raise NotbugsError(f"unknown field {where + '.' if where else ''}{unknown[0]}; valid fields"
                           f"{' of ' + where if where else ''}: {', '.join(known)}")
    updates = {}
    for key, value in changes.items():
        current, name = getattr(obj, key), f"{where}.{key}" if where else key
        if is_dataclass(current):
            updates[key] = apply_fields(current, value, name)
        else:
            updates[key] = _value(value, known[key].type, name)
    return replace(obj, **updates)


def changed(before, after, where: str = "") -> list[str]:
    """Every field that differs, as 'name: old -> new' (nested dataclasses by dotted names)."""
    lines = []
    for f in fields(before):
        old, new, name = getattr(before, f.name), getattr(after, f.name), f"{where}{f.name}"
        if is_dataclass(old) and is_dataclass(new):
            lines += changed(old, new, f"{name}.")
        elif old != new:
            lines.append(f"{name}: {json.dumps(old, default=str)} -> {json.dumps(new, default=str)}")
    return lines
