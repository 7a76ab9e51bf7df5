"""What ``empathic reproduce`` runs and what it concludes: the claims over the preset's seeds, a sweep of the
selfishness beta, and an ablation of every rule where the package departs from the authors' code.

All runs of one world that are not yet on disk train as one population (``training.train``), then each is saved
as its own run folder, so a rerun reads them back and an interrupted one trains only what is missing.

The ablation sets one rule at a time to its other value (the reference's, or for the rules whose default is
the reference's, the alternative), plus every rule at the reference's ("reference") and the four rules whose
default 0.2.0 changed at 0.1.0's values ("0.1.0", the rules of the quick table measured then), on the side seeds,
and judges each claim on those runs. Rules that change only the empathic target (``EMPATHIC_ONLY``) leave a
selfish run as it is, so their empathic runs are paired with the default selfish runs; ``selfish_policy``
changes only the selfish run (``SELFISH_ONLY``), so its selfish runs are paired with the default empathic runs.
``terminal_observation`` alone changes nothing (a terminal step's next state enters a target only through the
other's term, which the default masks there): it is ablated within "reference".
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .claims import CLAIMS, EMPATHIC_BETA, SELFISH_BETA, judge, judge_all
from .runs import finished, run_name, save
from .settings import BEFORE_0_2, DEFAULT_RULES, REFERENCE_RULES, RULES, WORLD_RULES, Settings
from .training import Run, train

WORLDS = ("coexistence", "sharing")
EMPATHIC_ONLY = ("terminal_observation", "dead_other", "other_at_end")
SELFISH_ONLY = ("selfish_policy",)
# the rules ablated one at a time, per world: those acting there, but terminal_observation (see above)
SINGLE = {w: tuple(r for r in rules if r != "terminal_observation") for w, rules in WORLD_RULES.items()}


def flipped(rule: str) -> object:
    """A rule's other value."""
    return next(v for v in RULES[rule] if v != DEFAULT_RULES[rule])


def variants(world: str) -> dict[str, dict]:
    """Each ablation's rules (name -> the rules that differ from the defaults)."""
    out = {f"{rule}={flipped(rule)}": {rule: flipped(rule)} for rule in SINGLE[world]}
    out["reference"] = {k: v for k, v in REFERENCE_RULES.items() if v != DEFAULT_RULES[k]}
    out["0.1.0"] = {k: v for k, v in BEFORE_0_2.items() if k in WORLD_RULES[world]}
    return out


def _run(world: str, beta: float, seed: int, s: Settings, rules: dict) -> Run:
    # rules of the empathic target alone leave the selfish run as the default's, and selfish_policy the others
    ignored = EMPATHIC_ONLY if beta == SELFISH_BETA else SELFISH_ONLY
    rules = {k: v for k, v in rules.items() if k not in ignored}
    return Run(world, beta, seed, replace(s, **{k: v for k, v in rules.items() if k in WORLD_RULES[world]}))


def plan(s: Settings, worlds: tuple[str, ...] = WORLDS, claims_only: bool = False) -> dict[str, list[Run]]:
    """Every run of a reproduction by part: "claims", "sweep", "ablation <world> <variant>"."""
    parts = {"claims": [_run(w, b, seed, s, {}) for w in worlds for b in s.betas for seed in s.seeds]}
    if claims_only:
        return parts
    parts["sweep"] = [_run(w, b, seed, s, {}) for w in worlds for b in sorted({*s.sweep_betas, *s.betas})
                      for seed in s.side_seeds]
    for w in worlds:
        for name, rules in variants(w).items():
            parts[f"ablation {w} {name}"] = [_run(w, b, seed, s, rules) for b in (SELFISH_BETA, EMPATHIC_BETA)
                                             for seed in s.side_seeds]
    return parts


def run_all(out: Path, runs: list[Run], say=print) -> dict[str, dict]:
    """The result of every run (by run name): read from ``out`` where finished, else trained, a population per
    world, and saved."""
    results, todo = {}, {}
    for r in runs:
        name = run_name(r)
        if name in results or name in todo:
            continue
        stored = finished(out, r)
        if stored is not None:
            results[name] = stored
        else:
            todo[name] = r
    for world in WORLDS:
        mine = [r for r in todo.values() if r.world == world]
        if not mine:
            continue
        say(f"{world}: training {len(mine)} runs together ({mine[0].settings.steps} steps each)")
        started = time.perf_counter()

        def progress(step: int, total: int, world=world, started=started) -> None:
            elapsed = time.perf_counter() - started
            print(f"  {world}: {step}/{total} steps, {elapsed:.0f} s", file=sys.stderr, flush=True)

        pop, outcomes = train(mine, progress=progress, record=60)
        for i, (r, result) in enumerate(zip(mine, outcomes)):
            save(out, pop, i, r, result)
            results[run_name(r)] = {**result, "settings": r.settings.run_key()}
    return results


def conclude(parts: dict[str, list[Run]], results: dict[str, dict]) -> dict:
    """The claims, the sweep's table and the ablation's table from the runs' results."""
    def rows(runs: list[Run]) -> list[dict]:
        return [results[run_name(r)] for r in runs]

    claims = judge_all(rows(parts["claims"]))
    if "sweep" not in parts:
        return {"claims": claims, "sweep": [], "ablation": []}
    sweep = []
    for w in sorted({r.world for r in parts["claims"]}, key=WORLDS.index):
        for beta in sorted({r.beta for r in parts["sweep"]}):
            mine = rows([r for r in parts["sweep"] if r.world == w and r.beta == beta])
            keys = mine[0]["eval"].keys() - {"episodes"}
            sweep.append({"world": w, "beta": beta, "seeds": len(mine),
                          **{k: float(np.mean([m["eval"][k] for m in mine])) for k in sorted(keys)}})
    ablation = []
    side = [r for r in parts["claims"] if r.seed in {x.seed for x in parts["sweep"]}]
    for w in sorted({r.world for r in parts["claims"]}, key=WORLDS.index):
        named = {"defaults": side, **{n: parts[f"ablation {w} {n}"] for n in variants(w)}}
        for name, runs in named.items():
            for claim in (c for c in CLAIMS if c.world == w):
                v = judge(claim, rows([r for r in runs if r.world == w]))
                test = (v["tests"] or [{}])[0]
                ablation.append({"world": w, "variant": name, "claim": claim.id, "estimate": test.get("value"),
                                 "ci": test.get("ci"), "verdict": v["verdict"],
                                 "premise": (v["premises"] or [{}])[0].get("outcome")})
    return {"claims": claims, "sweep": sweep, "ablation": ablation}
