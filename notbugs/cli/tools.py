"""``notbugs data``, ``bench``, ``report`` and ``store``: the datasets, the speed, the page and the store."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import NotbugsError
from .output import check_device


def data(args) -> None:
    from ..data import catalog, download_fashion_mnist, download_mnist

    if args.data_command == "list":
        for row in catalog():
            layout = f"  ({row['layout']} layout)" if row["layout"] else ""
            print(f"{row['name']:<14} {'found' if row['found'] else 'missing':<8} {row['where']}{layout}")
        print(f"{'folder:PATH':<14} {'-':<8} PATH/train/<class>/*.png and PATH/test/<class>/*.png")
        print(f"{'built:PATH':<14} {'-':<8} a folder written by 'notbugs construct'")
    else:
        fetch = {"fashion-mnist": download_fashion_mnist, "mnist": download_mnist}[args.name]
        print(f"{args.name}: checked and stored in {fetch()}")


def bench(args) -> None:
    from ..core.storage import read_json
    from .bench import format_table, run_bench

    check_device(args.device)
    timings = None
    if args.timings:  # before the bench, so a wrong file is said at once
        timings = read_json(args.timings)
        if not isinstance(timings, dict) or not isinstance(timings.get("timings"), dict):
            raise NotbugsError(f"{args.timings} has no 'timings' object; give a results.json of 'notbugs reproduce'")
    result = run_bench(dataset=args.dataset, arch=args.arch, batch_size=args.batch_size, steps=args.steps,
                       inversion_steps=args.inversion_steps, device=args.device, amp=args.amp, compile=args.compile,
                       channels_last=not args.no_channels_last, min_seconds=args.seconds, autoattack=args.autoattack)
    if timings is not None:
        result["reproduction_seconds_per_step"] = {k: v for k, v in timings["timings"].items()
                                                   if isinstance(v, (int, float))}
    if not args.json:  # the throughput first, while the inversions run
        print(format_table(result), flush=True)
        for step, seconds in result.get("reproduction_seconds_per_step", {}).items():
            print(f"  {step:<28} {seconds:8.1f} s")
    if args.passes:
        result["inversion_passes"] = _passes(args)
    if args.json:
        print(json.dumps(result, indent=2))


def _passes(args) -> dict:
    from ..running.runner import make_preset, open_lab
    from .bench_passes import format_passes, passes_to_converge

    preset = make_preset(args.preset, seed=args.seed, device=args.device)
    if not args.json:
        print(f"\ninversion passes with the {preset.name} preset's models from {args.cache} (trained there first if "
              "missing)", flush=True)
    lab = open_lab(preset, args.cache, progress=not args.json)
    result = passes_to_converge(lab, images=args.images, budgets=args.budgets,
                                optimisers=args.optimisers, settings=args.settings,
                                progress=not args.json)
    if not args.json:
        print(format_passes(result))
    return result


def report(args) -> None:
    from ..core.storage import read_json
    from ..report import write_report

    out = args.out or args.results.parent / "report.html"
    print(f"report: {write_report(read_json(args.results), out, base=args.results.parent)}")


def store(args) -> int:
    from ..store.pipeline import Store

    if not args.cache.is_dir():
        raise NotbugsError(f"{args.cache} is not a folder; give the store's folder (a run's cache/ or --cache)")
    if args.store_command == "gc":
        return _gc(Store(args.cache), args.keep, args.delete)
    problems = Store(args.cache).verify(fix=args.fix)
    for line in problems:
        print(f"damaged: {line}" + (" (removed)" if args.fix else ""))
    print(f"{len(problems)} damaged artifact(s) in {args.cache}" + ("" if args.fix or not problems
                                                                   else "; --fix removes them"))
    return 1 if problems and not args.fix else 0


def _gc(store, runs: list[Path], delete: bool) -> int:
    from ..core.storage import read_json

    keep = set()
    for run in runs:
        files = [run] if run.is_file() else sorted(run.rglob("results.json"))
        if not files:
            raise NotbugsError(f"{run} holds no results.json; give run folders made by 'notbugs reproduce'")
        for f in files:
            res = read_json(f, typed=False)
            for entry in (res.get("experiments") or {}).values() if isinstance(res, dict) else []:
                keep |= {a["key"] for a in entry.get("artifacts") or [] if isinstance(a, dict) and "key" in a}
    unused = store.unused(keep)
    for ref, size in unused:
        if delete:
            store.remove(ref)
        print(f"{'removed' if delete else 'would remove'} {ref} ({size / 1e6:.1f} MB)")
    total = sum(size for _, size in unused) / 1e6
    print(f"{len(unused)} artifacts ({total:.1f} MB) {'removed' if delete else 'unused; --delete removes them'}; "
          f"{len(keep)} kept for {len(runs)} run(s)")
    return 0
