"""Batches of games: conditions (a protocol, a judge, the experts) played over worlds, each game stored as one
JSON line the moment it finishes, so an interrupted batch resumes from what was stored.

A log file belongs to one batch key (the conditions, the data and the seed); a line whose key differs is never
reused. A torn last line (the process killed mid-write) is ignored and played again; a damaged line elsewhere is
refused (the file is not ours to guess about).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from .agents import expert_seats, judge_factory, play
from .data.jsonl import World
from .domain import BadInput, Game
from .protocols import load


@dataclass(frozen=True)
class Condition:
    """One arm of an experiment: ``id`` names it in results; ``experts`` are the honest side's and the dishonest
    side's agent specs (empty for protocols without experts)."""

    id: str
    protocol: str
    judge: str
    experts: tuple[str, ...] = ()


def batch_key(conditions: Iterable[Condition], worlds: list[World], seed: int) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([asdict(c) for c in conditions], sort_keys=True).encode())
    for doc, qs in worlds:
        h.update(doc.text.encode())
        h.update(json.dumps([q.to_dict() for q in qs], sort_keys=True).encode())
    h.update(str(seed).encode())
    return h.hexdigest()[:16]


def read_log(path: Path, key: str) -> dict[tuple[str, str], Game]:
    """The games a log holds for ``key``, by (condition, question id)."""
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").split("\n")
    out = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if n == len(lines) or (n == len(lines) - 1 and not lines[-1]):
                continue  # torn last line: that game is played again
            raise BadInput(f"{path}:{n} is damaged (not JSON); delete the file to start this batch afresh") from None
        if rec.get("key") != key:
            continue
        g = Game.from_dict(rec["game"])
        out[(rec["condition"], g.question.id)] = g
    return out


def run(conditions: list[Condition], worlds: list[World], log: Path, seed: int = 0,
        say: Callable[[str], None] | None = None) -> dict[str, list[Game]]:
    """Play every condition on every question (resuming from ``log``); games by condition id, in data order."""
    say = say or (lambda line: None)
    key = batch_key(conditions, worlds, seed)
    log.parent.mkdir(parents=True, exist_ok=True)
    done = read_log(log, key)
    if done:
        say(f"  resuming: {len(done)} games already stored in {log}")
    _trim_torn_tail(log)
    out: dict[str, list[Game]] = {}
    with log.open("a", encoding="utf-8") as f:
        for c in conditions:
            protocol = load(c.protocol)
            judge = judge_factory(c.judge, seed)
            experts = expert_seats(list(c.experts), seed)
            games = []
            for doc, qs in worlds:
                for q in qs:
                    g = done.get((c.id, q.id))
                    if g is None:
                        g = play(protocol, doc, q, judge, experts, seed=seed)
                        f.write(json.dumps({"key": key, "condition": c.id, "game": g.to_dict()},
                                           ensure_ascii=False) + "\n")
                        f.flush()
                    games.append(g)
            out[c.id] = games
    return out


def _trim_torn_tail(log: Path) -> None:
    """Cut a torn last line so the next game starts on a line of its own."""
    if not log.exists():
        return
    data = log.read_bytes()
    if data and not data.endswith(b"\n"):
        with log.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)
