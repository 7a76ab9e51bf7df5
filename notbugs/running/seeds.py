"""``notbugs reproduce --seeds 0,1,2``: the same experiments once per seed, judged together.

Each seed is an ordinary run (its own results.json and report under
``seed-<S>/``) on one shared store, so whatever does not depend on the seed
is built once. The combined results keep every seed's results, add the mean
and sample standard deviation of every number all seeds share, and judge each
claim over the seeds by the rule of a single run, applied to the mean of each
statistic with its Student-t interval over the seeds; the map also says on how
many seeds it held on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from verdicts import Bound, Outcome, decide_rows, judged_test, mean_sd, over_seeds, premise_row, seeds_to_decide

from ..core.values import Status, summarise
from ..frame.base import ERROR, FAILS, HOLDS, NOT_RUN
from ..frame.presets import Preset
from .runner import run_experiments

SHARED = ("dataset", "preset", "device", "requested", "reference", "settings", "context", "code")


def combine_claim(rows: list[dict], seeds: list[int]) -> dict:
    """One claim over seeds (``rows[i]`` is seed ``seeds[i]``'s), decided by the rule a single run is decided by
    (``verdicts.decide_rows``), on each test's and premise's mean over the seeds with its 95 % Student-t interval:
    the seed-to-seed spread, not one seed's test images, is what the verdict must outlast. A seed that errored or
    did not run leaves the claim so; with one seed the seed's own verdict stands. Each seed's verdict is kept."""
    words = [r["verdict"] for r in rows]
    held = words.count(HOLDS)
    first = rows[0]
    stuck = next((w for w in (ERROR, NOT_RUN) if w in words), None)
    tests = [_over_seeds(rows, "tests", i, t) for i, t in enumerate(first.get("tests") or [])]
    premises = [_over_seeds(rows, "premises", i, p) for i, p in enumerate(first.get("premises") or [])]
    if stuck is not None:
        word = stuck
    elif len(rows) == 1:
        word = words[0]
    else:
        word = decide_rows(tests, premises)[0]
    return {**{k: first[k] for k in ("id", "who", "statement", "published")},
            "ours": "–" if all(r["ours"] == "–" for r in rows) else " / ".join(r["ours"] for r in rows),
            "verdict": word, "holds": {HOLDS: True, FAILS: False}.get(word),
            "seeds_held": f"{held} of {len(rows)} seeds", "held": held, "seeds": len(rows),
            "per_seed": words, "tests": tests, "premises": premises,
            "evidence": "; ".join(f"seed {seed}: {r['evidence']}" for seed, r in zip(seeds, rows))}


def _over_seeds(rows: list[dict], part: str, i: int, first: dict) -> dict:
    """The i-th test or premise over the seeds: mean, sd, Student-t interval, its outcome by that interval, and
    where that is undecided, how many seeds its observed spread would need to decide it (the kernel's count)."""
    values = [r[part][i]["value"] if len(r.get(part) or []) > i else None for r in rows]
    threshold = "margin" if part == "tests" else "threshold"
    bound = Bound(first["name"], first["sense"], first[threshold], first.get("percent", True))
    estimate = over_seeds([None if v is None else float(v) for v in values])
    sd = mean_sd([float(v) for v in values])[1] if estimate is not None else None
    row = judged_test(bound, estimate) if part == "tests" else premise_row(bound, estimate)
    ci = list(estimate.ci) if estimate is not None and estimate.ci is not None else None
    need = (seeds_to_decide(values, bound.margin, bound.sense)
            if row["outcome"] == Outcome.INCONCLUSIVE else None)
    return {**row, "value": None if estimate is None else float(estimate), "sd": sd, "ci": ci, "values": values,
            "seeds_to_decide": need,
            "outcomes": [r[part][i].get("outcome") for r in rows if len(r.get(part) or []) > i]}


def combine(per_seed: dict[int, dict]) -> dict:
    runs = list(per_seed.values())
    first = runs[0]
    out = {k: first.get(k) for k in SHARED}
    out.update(seeds=list(per_seed), seed=", ".join(map(str, per_seed)), experiments={},
               per_seed={str(s): {k: v for k, v in r.items() if k not in ("reference", "settings")}
                         for s, r in per_seed.items()})
    for name, entry in first["experiments"].items():
        entries = [r["experiments"][name] for r in runs]
        statuses = {e["status"] for e in entries}
        status = Status.DONE if statuses == {Status.DONE} else next(
            s for s in (Status.ERROR, Status.RUNNING, Status.PENDING, Status.NOT_RUN, Status.DONE) if s in statuses)
        rows = [combine_claim([e["claims"][i] for e in entries], list(per_seed)) for i in range(len(entry["claims"]))]
        out["experiments"][name] = {
            **{k: entry[k] for k in ("title", "question", "method", "reason")},
            "error": next((e["error"] for e in entries if e.get("error")), None), "status": status, "claims": rows,
            "results": None, "summary": summarise([e["results"] for e in entries]) if status == Status.DONE else None,
            "seed_reports": {str(s): f"seed-{s}/report.html" for s in per_seed},
            "timings": {"wall": sum(e.get("timings", {}).get("wall", 0.0) for e in entries),
                        "uncached": sum(e.get("timings", {}).get("uncached", 0.0) for e in entries),
                        "from_store": all(e.get("timings", {}).get("from_store") for e in entries)}}
    out["warnings"] = list(dict.fromkeys(w for r in runs for w in r.get("warnings", [])))
    out["steps"] = [step for r in runs for step in r.get("steps", [])]
    out["timings"] = {"total_this_run": sum(r["timings"].get("total_this_run", 0.0) for r in runs),
                      "total_uncached": sum(r["timings"].get("total_uncached", 0.0) for r in runs)}
    return out


def run_seeds(names: list[str], preset_for: Callable[[int], Preset], seeds: list[int], *, out: Path,
              cache: Path | None = None, progress: bool = True, say: Callable[[str], None] | None = None,
              on_update: Callable[[int | None, dict], None] | None = None, workers: int = 1,
              executor: str = "local", slurm: dict | None = None, write: Callable[[dict, Path], None] | None = None,
              **store_options) -> dict:
    """Run the experiments once per seed on one store, with ``preset_for(seed)``; ``on_update(seed, results)``
    after each experiment of a seed, and ``on_update(None, combined)`` after each seed; ``store_options``
    (rebuild, read_only, on_event, write_to, events) go to every seed's run. With ``workers`` > 1 or the slurm
    ``executor`` the seeds run as jobs (``workers.run_parallel``), each writing its folder with ``write``."""
    cache = cache or Path(out) / "cache"
    if workers > 1 or executor != "local":
        return _in_parallel(names, preset_for, seeds, out=out, cache=cache, say=say, on_update=on_update,
                            workers=workers, executor=executor, slurm=slurm, write=write, **store_options)
    per_seed = {}
    for seed in seeds:
        if say:
            say(f"--- seed {seed} ({seeds.index(seed) + 1} of {len(seeds)})")
        options = dict(store_options)
        for key in ("write_to",):
            if options.get(key) is not None:
                options[key] = Path(options[key]) / f"seed-{seed}"
        per_seed[seed] = run_experiments(names, preset_for(seed), out=Path(out) / f"seed-{seed}", cache=cache,
                                         progress=progress, say=say,
                                         on_update=(lambda r, s=seed: on_update(s, r)) if on_update else None,
                                         **options)
        if on_update:
            on_update(None, combine(per_seed))
    return combine(per_seed)


def _in_parallel(names, preset_for, seeds, *, out, cache, say, on_update, workers, executor, slurm, write,
                 **store_options) -> dict:
    from .workers import run_parallel

    write_to = Path(store_options.get("write_to") or out)
    done: dict[int, dict] = {}

    def finished(seed: int, results: dict) -> None:
        done[seed] = results
        if on_update:
            on_update(None, combine({s: done[s] for s in seeds if s in done}))

    per_seed = run_parallel(names, preset_for, seeds, out=out, cache=cache, write_to=write_to, workers=workers,
                            executor=executor, slurm=slurm, say=say, on_done=finished, write=write,
                            rebuild=tuple(store_options.get("rebuild") or ()),
                            read_only=bool(store_options.get("read_only")))
    if store_options.get("events"):  # each job logged its own steps: one log for the run, seed by seed
        with open(store_options["events"], "a") as log:
            for seed in seeds:
                part = write_to / f"seed-{seed}" / "events.jsonl"
                if part.is_file():
                    log.write(part.read_text())
    return combine(per_seed)
