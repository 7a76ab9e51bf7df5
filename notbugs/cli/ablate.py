"""``notbugs ablate``: each part of the paper's recipe against the preset's departure, over seeds, on one store.

Writes OUT/results.json (the rows of ``running.ablation``), OUT/report.html, and each side's run under
OUT/<label>/ (its results.json and report over the seeds, as ``reproduce --seeds`` writes them).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import NotbugsError


def ablate(args) -> int:
    from verdicts import parse_seeds

    from ..core.storage import write_json
    from ..data import check_available
    from ..frame.config import merge, parse_sets, read_config
    from ..frame.recipes import PAPER, PARTS, parse_recipe
    from ..report.ablation import table_text, write_ablation_report
    from ..running.ablation import effects, sides
    from ..running.runner import check_device, failed, make_preset, select
    from ..running.seeds import run_seeds
    from .output import output_folder
    from .reproduce import SMOKE, safe_name, write_run

    seeds = parse_seeds(args.seeds)
    if len(seeds) < 2:
        raise NotbugsError("an effect's interval needs two seeds at least: give --seeds 0,1,2 (or 0-4)")
    select(args.names)
    overrides = merge(read_config(args.config) if args.config else {}, parse_sets(args.overrides))
    preset = make_preset(args.preset, seed=seeds[0], dataset=args.dataset, device=args.device, overrides=overrides)
    check_device(preset.device)
    check_available(preset.dataset)
    names = parse_recipe(args.parts, "--parts") if args.parts else \
        PAPER + (("resnet50",) if preset.dataset == "cifar10" else ())
    runs, plan, skipped = sides(preset, names)
    say = None if args.quiet else (lambda line: print(line, flush=True))
    if preset.smoke:
        print(SMOKE.format(preset.name), flush=True)
    for name, why in skipped.items():
        print(f"{name}: not ablated: {why}", flush=True)
    if not plan:
        raise NotbugsError(f"nothing to ablate on preset {preset.name}: give parts with --parts ({', '.join(PARTS)})")
    out = args.out or Path("runs") / (f"ablate-{preset.name}-{safe_name(preset.dataset)}-{'-'.join(plan)}-"
                                      f"seeds{'-'.join(map(str, seeds))}")
    cache = args.cache or (Path(os.environ["NOTBUGS_CACHE"]) if os.environ.get("NOTBUGS_CACHE") else out / "cache")
    if say:
        for name, how in plan.items():
            say(f"{name}: {how['what']}\n  departure -> paper: {'; '.join(how['fields'])}")
        say(f"{len(runs)} settings x {len(seeds)} seeds on one store ({cache}); the preset's own side is shared")
    inside = Path(cache).resolve().is_relative_to(Path(out).resolve())
    combined = {}
    with output_folder(out, keep=("cache",) if inside else ()) as tmp:
        for label, p in runs.items():
            if say:
                say(f"=== {label}")
            def seed_done(seed, res, label=label):  # each seed's folder as reproduce --seeds writes it
                if seed is not None:
                    write_run(res, tmp / label / f"seed-{seed}")

            combined[label] = run_seeds(args.names, lambda seed, p=p: p.with_seed(seed), seeds, out=out / label,
                                        cache=cache, progress=not args.quiet, say=say, on_update=seed_done,
                                        write_to=tmp / label, events=tmp / "events.jsonl")
            write_run(combined[label], tmp / label)
        rows = effects(plan, combined)
        results = {"preset": preset.name, "dataset": preset.dataset, "seeds": seeds, "experiments": args.names,
                   "smoke": preset.smoke,
                   "parts": plan, "skipped": skipped, "rows": rows,
                   "verdicts": {label: {f"{e}.{c['id']}": str(c["verdict"]) for e, entry in r["experiments"].items()
                                        for c in entry["claims"]} for label, r in combined.items()}}
        write_json(tmp / "results.json", results)
        write_ablation_report(results, tmp / "report.html")
    print()
    table_text(rows)
    print(f"\nresults: {out / 'results.json'}\nreport:  {out / 'report.html'}")
    broken = [label for label, r in combined.items() if failed(r)]
    for label in broken:
        print(f"ERROR: the {label} side has an experiment that stopped with an error: its statistics are missing "
              f"above; see {out / label / 'report.html'}")
    if preset.smoke:
        print(SMOKE.format(preset.name))
    return 1 if broken else 0
