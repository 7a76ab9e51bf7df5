"""``felab reproduce``: the simulation behind the claims, over seeds, with every number and a report.

Each seed generates fresh synthetic worlds (``felab.data.synthetic``) and plays every condition below on every
question with the scripted agents fixed in ``felab.claims`` (the same judge in every protocol, so differences
are the protocol's). Games are logged one line each as they finish (``runs/.../games/seed-S.jsonl``): an
interrupted reproduction resumes. A seed's numbers go to ``seed-S/`` (written whole, ``verdicts.atomic_folder``)
when its games are done; the claims are judged on the mean over seeds; ``results.json``, ``claims.txt`` and
``report.html`` are replaced whole at the end. Everything here is **simulated**.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from verdicts import atomic_folder, claim_table_text

from . import __version__, claims, metrics
from .batch import Condition, run
from .data import synthetic
from .domain import Game
from .files import write_atomic


@dataclass(frozen=True)
class Preset:
    name: str
    questions: int  # per seed
    seeds: tuple[int, ...]
    per_document: int = 3


PRESETS = {"tiny": Preset("tiny", 12, (0,)), "quick": Preset("quick", 150, (0, 1, 2, 3, 4))}

# the simulated agents, as declared with the claims (felab.claims' docstring)
JUDGE = "weigher:temperature=0.5,attention=0.9"
# the premise 'the text suffices' asks whether an attentive reader of the whole document answers; the first quick
# run (4817d30) used the inattentive JUDGE here and measured its inattention instead (oracle 85.6 %)
ORACLE = "oracle:temperature=0.5"
CREDULOUS = "credulous:temperature=0.5,attention=0.9"
HONEST = "honest:omit=0.1,refute=0.9"
DUO = (HONEST, "malicious")

CONDITIONS = (
    Condition("blind", "blind", JUDGE),
    Condition("oracle_judge", "oracle_judge", ORACLE),
    Condition("consultancy", "consultancy", JUDGE, DUO),
    Condition("trusted_expert", "trusted_expert", JUDGE, DUO),
    Condition("debate_sequential", "debate_sequential", JUDGE, DUO),
    Condition("debate_simultaneous", "debate_simultaneous", JUDGE, DUO),
    Condition("nyu_debate", "nyu_debate", JUDGE, DUO),
    Condition("ought_fe", "ought_fe", JUDGE, DUO),
    Condition("ought_fe_strict", "ought_fe_strict", JUDGE, DUO),
    Condition("claim_tree", "claim_tree", JUDGE, DUO),
    Condition("debate_fabricator", "debate_sequential", JUDGE, (HONEST, "fabricator")),
    Condition("debate_fabricator_credulous", "debate_sequential", CREDULOUS, (HONEST, "fabricator")),
    Condition("ought_fe_fabricator_credulous", "ought_fe", CREDULOUS, (HONEST, "fabricator")),
)
FACTORED = {"ought_fe", "ought_fe_strict", "ought_fe_fabricator_credulous"}


def _acc(games: list[Game]) -> float | None:
    a = metrics.accuracy(games)
    return None if a is None else float(a)


def _minus(a, b):
    return None if a is None or b is None else a - b


def fabrication_rate(games: list[Game]) -> float | None:
    """Share of the dishonest seat's speeches holding at least one unverified quote."""
    hits = total = 0
    for g in games:
        for t in g.turns:
            seat = g.seat(t.role)
            if t.kind == "speech" and seat is not None and seat.honest is False:
                total += 1
                hits += any(s.quote and not s.verified for s in t.speech.segments)
    return hits / total if total else None


def statistics(games: dict[str, list[Game]]) -> dict[str, float | None]:
    """The claims' statistics for one seed, by the names ``felab.claims`` declares."""
    acc = {c: _acc(g) for c, g in games.items()}
    ch = metrics.challenge_rate(games["ought_fe"], depth=0)
    mw = {c: metrics.malicious_wins(games[c]) for c in ("debate_fabricator", "debate_fabricator_credulous")}
    return {
        claims.ORACLE: acc["oracle_judge"],
        claims.TRUSTED: acc["trusted_expert"],
        claims.DEBATE_MINUS_CONSULTANCY: _minus(acc["debate_sequential"], acc["consultancy"]),
        claims.INCENTIVE_GAP: _minus(acc["trusted_expert"], acc["ought_fe"]),
        claims.CHALLENGE: None if ch is None else float(ch),
        claims.VERIFICATION_GAP: _minus(*(None if mw[c] is None else float(mw[c])
                                          for c in ("debate_fabricator_credulous", "debate_fabricator"))),
        claims.FABRICATION: fabrication_rate(games["debate_fabricator"]),
    }


def condition_summary(cond: Condition, games: list[Game], lengths: dict[str, int]) -> dict:
    s = metrics.summary(games, lengths, factored=cond.id in FACTORED)
    return {"protocol": cond.protocol, "judge": cond.judge, "experts": list(cond.experts), **s}


def plain(x):
    """Results as plain JSON values (intervals as lists, outcomes as their words, seeds as string keys)."""
    return json.loads(json.dumps(x))


def reproduce(preset: Preset, out: Path, say: Callable[[str], None] | None = None,
              reanalysis: list[dict] | None = None) -> dict:
    """Run (or resume) the preset's seeds under ``out``; return the results (also written to results.json).
    ``reanalysis``: judged claim rows on published data (NYU's) to show in the report beside the simulation."""
    say = say or (lambda line: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    per_seed: dict[int, dict] = {}
    pooled: dict[str, list[Game]] = {c.id: [] for c in CONDITIONS}
    lengths: dict[str, int] = {}
    for seed in preset.seeds:
        t0 = time.perf_counter()
        worlds = synthetic.generate(preset.questions, seed, preset.per_document)
        lengths.update({d.id: len(d.text) for d, _ in worlds})
        games = run(list(CONDITIONS), worlds, out / "games" / f"seed-{seed}.jsonl", seed, say)
        stats = statistics(games)
        summaries = {c.id: condition_summary(c, games[c.id], lengths) for c in CONDITIONS}
        with atomic_folder(out / f"seed-{seed}") as tmp:
            (tmp / "results.json").write_text(json.dumps({"seed": seed, "statistics": stats,
                                                          "conditions": summaries}, indent=1))
        per_seed[seed] = stats
        for c in CONDITIONS:
            pooled[c.id] += games[c.id]
        say(f"seed {seed}: {sum(len(g) for g in games.values())} games in {time.perf_counter() - t0:.1f} s; "
            + ", ".join(f"{k.split(':')[0]} {v:.3f}" for k, v in stats.items() if v is not None))
    rows = claims.judge(claims.SIMULATION, per_seed)
    results = {"felab": __version__, "preset": asdict(preset), "simulated": True,
               "agents": {"judge": JUDGE, "oracle": ORACLE, "credulous": CREDULOUS, "honest": HONEST},
               "conditions": {c.id: condition_summary(c, pooled[c.id], lengths) for c in CONDITIONS},
               "statistics": per_seed, "claims": rows,
               "ratings": {k: [float(v), list(v.ci)] for k, v in metrics.ratings(
                   [m for c in CONDITIONS if len(c.experts) == 2 for m in metrics.matches(pooled[c.id])],
                   reps=200).items()},
               "seconds": time.perf_counter() - began}
    results = plain(results)
    write_atomic(out / "results.json", json.dumps(results, indent=1))
    write_atomic(out / "claims.txt", claim_table_text(rows) + "\n")
    from .report import render

    write_atomic(out / "report.html", render(results, pooled, reanalysis))
    return results
