"""The small-local-model study: SmolLM2-135M-Instruct (``felab.agents.local``) as the judge on synthetic worlds,
judged against ``felab.claims.LOCAL_MODEL``. Everything here is labelled "small local model".

Conditions (fixed with the claims, before the run): the judge reads the document (``oracle_judge``: the premise,
does it beat chance?), sees nothing but the question (``blind``), hears one consultant who is honest half the
time (``consultancy``), or two debaters in turn (``debate_sequential``); the experts are the simulation's
scripted ones (``felab.reproduce.DUO``). Every model reply is cached under ``OUT/cache``, every finished game
logged in ``OUT/games.jsonl``: an interrupted study resumes, and ``offline`` replays it without loading the model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from verdicts import atomic_folder, claim_table_text, decide

from . import claims, metrics
from .batch import Condition, run
from .data import synthetic
from .reproduce import DUO, plain

QUESTIONS, SEED, PER_DOCUMENT, MAX_TOKENS = 40, 0, 2, 64
LABEL = "small local model"


def conditions(judge: str) -> list[Condition]:
    return [Condition("local_oracle", "oracle_judge", judge), Condition("local_blind", "blind", judge),
            Condition("local_consultancy", "consultancy", judge, DUO),
            Condition("local_debate", "debate_sequential", judge, DUO)]


def unparsed(games) -> int:
    """Judgments whose reply the parser could not read (counted as 50/50)."""
    return sum(1 for g in games for t in g.turns if t.judgment is not None
               and t.judgment.explanation.startswith("UNPARSED"))


def study(out, questions: int = QUESTIONS, seed: int = SEED, offline: bool = False, judge: str | None = None,
          say: Callable[[str], None] | None = None) -> dict:
    """Play the study (or resume or replay it) under ``out``; write results.json and claims.txt there (whole or
    not at all) and return the results. ``judge`` overrides the local model's agent spec (tests)."""
    say = say or (lambda line: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    judge = judge or f"local:cache={out / 'cache'},max_tokens={MAX_TOKENS}" + (",offline=1" if offline else "")
    worlds = synthetic.generate(questions, seed, PER_DOCUMENT)
    began = time.perf_counter()
    games = run(conditions(judge), worlds, out / "games.jsonl", seed, say)
    seconds = time.perf_counter() - began
    lengths = {d.id: len(d.text) for d, _ in worlds}
    stats = {claims.LOCAL_ORACLE: metrics.accuracy(games["local_oracle"]),
             claims.LOCAL_DEBATE_MINUS_CONSULTANCY: metrics.difference(games["local_debate"],
                                                                       games["local_consultancy"]),
             claims.LOCAL_DEBATE_MINUS_BLIND: metrics.difference(games["local_debate"], games["local_blind"])}
    rows = []
    for c in claims.LOCAL_MODEL:
        word, tests, premises = decide(c, stats)
        rows.append({"id": c.id, "who": c.who, "statement": c.statement, "published": c.published,
                     "verdict": word, "tests": tests, "premises": premises, "data": LABEL})
    results = plain({
        "label": LABEL, "judge": judge, "questions": questions, "seed": seed, "per_document": PER_DOCUMENT,
        "seconds": seconds, "claims": rows,
        "conditions": {cid: {**metrics.summary(g, lengths), "unparsed_judgments": unparsed(g),
                             "judgments": sum(1 for x in g for t in x.turns if t.judgment is not None)}
                       for cid, g in games.items()}})
    with atomic_folder(out / "results") as tmp:
        (tmp / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        (tmp / "claims.txt").write_text(text(results) + "\n", encoding="utf-8")
    return results


def text(results: dict) -> str:
    lines = [f"{LABEL}: {results['judge']}, {results['questions']} synthetic questions, seed {results['seed']}",
             claim_table_text(results["claims"]), ""]
    for cid, s in results["conditions"].items():
        acc = s["accuracy"]
        ci = s["accuracy_ci"]
        lines.append(f"{cid:18s} accuracy {acc:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] of {s['n']}, "
                     f"unparsed {s['unparsed_judgments']}/{s['judgments']} judgments, ECE {s['ece']:.3f}, "
                     f"Brier {s['brier']:.3f}")
    return "\n".join(lines)
