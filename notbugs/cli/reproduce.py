"""``notbugs reproduce``: experiments end to end, with results.json and report.html in a run folder."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from verdicts.table import verdict_text

from ..core.errors import NotbugsError

SMOKE = ("SMOKE TEST, not evidence: preset {} runs every code path at toy sizes in seconds; its verdicts say nothing "
         "about the claims")


def reproduce(args) -> int:
    from verdicts import parse_seeds

    from ..core.storage import write_json
    from ..data import check_available
    from ..frame.config import merge, parse_sets, read_config
    from ..frame.recipes import parse_recipe
    from ..report import write_report
    from ..running.runner import check_device, failed, make_preset, run_experiments, select
    from ..running.seeds import run_seeds
    from .output import output_folder

    if args.list:
        _print_experiments()
        return 0
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise NotbugsError("reproduce runs in one process; under torchrun use 'notbugs train' and 'notbugs construct'")
    # pre-flight: everything that can be said wrong is said before anything is written
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    parallel = args.workers > 1 or args.executor != "local"
    if parallel and not seeds:
        raise NotbugsError("--workers and --executor run seeds in parallel: give them with --seeds (e.g. 0-4)")
    if parallel:
        try:
            import submitit  # noqa: F401 - the jobs go through it
        except ImportError:
            raise NotbugsError("--workers and --executor slurm run seeds through submitit, which is not installed: "
                               "pip install 'notbugs[slurm]'") from None
    slurm = _slurm_options(args.slurm)
    if args.executor == "slurm" and shutil.which("sbatch") is None:
        raise NotbugsError("--executor slurm needs Slurm's sbatch on this machine's PATH (run it on a login node)")
    select(args.names)
    if args.device:
        check_device(args.device)
    overrides = merge(read_config(args.config) if args.config else {}, parse_sets(args.overrides))
    if args.precision:
        overrides["precision"] = args.precision
    recipe = parse_recipe(args.recipe) if args.recipe else ()
    given = {"std": args.std_model, "adv": args.robust_model}
    options = dict(dataset=args.dataset, device=args.device, given=given, given_arch=args.model_arch,
                   overrides=overrides, recipe=recipe)
    preset = make_preset(args.preset, seed=seeds[0] if seeds else args.seed, **options)
    check_device(preset.device)
    check_available(preset.dataset)
    if preset.smoke:  # first and last: a tiny run's verdicts are no evidence
        print(SMOKE.format(preset.name), flush=True)
    say = None if args.quiet else (lambda line: print(line, flush=True))
    base = make_preset(preset.name, seed=preset.seed, dataset=args.dataset or overrides.get("dataset"))
    if say and (overrides or recipe):
        from ..frame.config import changed

        lines = changed(base, preset)
        say(f"changes to preset {preset.name}: " + ("; ".join(lines) if lines else "none (the config repeats it)"))
    tag = f"seeds{'-'.join(map(str, seeds))}" if seeds else f"seed{preset.seed}"
    tag += f"-recipe-{'-'.join(recipe)}" if recipe else ""
    out = args.out or Path("runs") / f"{preset.name}-{safe_name(preset.dataset)}-{tag}"
    cache = args.cache or (Path(os.environ["NOTBUGS_CACHE"]) if os.environ.get("NOTBUGS_CACHE") else out / "cache")
    drawn: dict = {}  # sections already drawn from unchanged results, so each rewrite draws only what is new

    def event(e: dict) -> None:
        if e["event"] == "damaged":
            print(f"notbugs: {e['step']} ({e['kind']}/{e['key']}) was damaged ({e['reason']}); building it again",
                  file=sys.stderr, flush=True)
        elif e["event"] == "waiting" and say:
            say(f"waiting for {e['holder']}, which is building {e['step']}")

    with output_folder(out, keep=("cache",) if _inside(cache, out) else ()) as tmp:
        def update(results: dict, folder: Path = tmp) -> None:  # the page grows as each experiment finishes
            write_json(folder / "results.json", results)
            write_report(results, folder / "report.html", cache=drawn.setdefault(str(folder), {}))

        if say:
            say(f"report: {tmp / 'report.html'} while the run goes on (rewritten as each experiment finishes), "
                f"then {out / 'report.html'}")
        store = {"rebuild": tuple(args.rebuild), "read_only": args.read_only, "on_event": event, "write_to": tmp,
                 "events": tmp / "events.jsonl"}
        if seeds:
            results = run_seeds(args.names, lambda seed: make_preset(args.preset, seed=seed, **options), seeds,
                                out=out, cache=cache, progress=not args.quiet, say=say,
                                on_update=lambda seed, res: update(res, tmp if seed is None else tmp / f"seed-{seed}"),
                                workers=args.workers, executor=args.executor, slurm=slurm, write=write_run, **store)
        else:
            results = run_experiments(args.names, preset, out=out, cache=cache, progress=not args.quiet, say=say,
                                      on_update=update, **store)
        update(results)
    _print_summary(results, out / "results.json", debug=args.debug)
    print(f"results: {out / 'results.json'}")
    print(f"report:  {out / 'report.html'}")
    if preset.smoke:
        print(SMOKE.format(preset.name))
    return 1 if failed(results) else 0


def write_run(results: dict, folder: Path) -> None:
    """A run's results.json and report into its folder: what a worker process writes for its seed."""
    from ..core.storage import write_json
    from ..report import write_report

    write_json(Path(folder) / "results.json", results)
    write_report(results, Path(folder) / "report.html")


def _slurm_options(items: list[str]) -> dict:
    from ..frame.config import parse_sets

    if any("=" not in item for item in items):
        raise NotbugsError("--slurm takes KEY=VALUE, e.g. --slurm partition=gpu --slurm time=600")
    return parse_sets(items)


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def _print_experiments() -> None:
    from ..experiments.registry import REGISTRY
    from ..frame.presets import get_preset
    from .estimate import paper_cost

    for e in REGISTRY:
        cost = ", ".join(f"{p} {s / 60:.1f} min" for p, s in e.cost.items()) or "not measured"
        print(f"{e.name:<16} {e.question}\n{'':<16} {e.title}; presets: {', '.join(e.settings)}; "
              f"measured cost on this project's 2-core CPU (added to 'all'): {cost}")
    gpu = paper_cost(get_preset("cifar10"))
    big = sorted(gpu["seconds"].items(), key=lambda kv: -kv[1])[:3]
    print(f"\ncifar10 preset, paper experiment, on one GPU: about {gpu['total_seconds'] / 3600:.1f} h (an ESTIMATE "
          f"from counted passes of the {gpu['arch']} at {gpu['forward_gflops']:.2f} GFLOP per image and "
          f"{gpu['tflops']:g} TFLOP/s sustained, not measured; the largest: "
          + ", ".join(f"{k} {v / 3600:.1f} h" for k, v in big) + ")")


def _print_summary(results: dict, where: Path, debug: bool = False) -> None:
    """The models' numbers, the warnings, each claim's verdict; an experiment that stopped with an error with its
    traceback (under --debug) or where to find it (``where``, the run's results.json)."""
    if "models" in results:
        eps_list = [f"{e:g}" for e in results["threat"]["eval_eps"]]
        print(f"\n{'model':<8} {'clean':>7} " + " ".join(f"{'eps ' + e:>9}" for e in eps_list))
        for name, res in results["models"].items():
            print(f"{name:<8} {100 * res['clean_accuracy']:6.1f}% " +
                  " ".join(f"{100 * res['robust_accuracy'][e]:8.1f}%" for e in eps_list))
        for name, res in results["models"].items():
            for eps, flags in res.get("sanity_flags", {}).items():
                if flags:
                    print(f"WARNING {name} at eps {eps}: sanity checks failed ({', '.join(flags)}); see the report")
    for warning in results.get("warnings", []):
        print(f"WARNING {warning}")
    print()
    for name, entry in results["experiments"].items():
        if entry["status"] == "error":
            print(f"[ERROR] {name}: {entry['error']}")
            if entry.get("traceback") and debug:
                print(entry["traceback"].rstrip(), file=sys.stderr, flush=True)
            elif entry.get("traceback"):
                print(f"        its traceback: {where}, experiments.{name}.traceback (--debug prints it)")
        for claim in entry["claims"] if entry["status"] == "done" else []:  # the report's words and symbols
            over = f" (held on {claim['seeds_held']})" if "seeds_held" in claim else ""
            print(f"{verdict_text({'verdict': claim['verdict']})}{over}  {name}.{claim['id']}: {claim['evidence']}")
    steps = results.get("steps", [])
    ran = [e for e in results["experiments"].values() if e.get("timings") and e.get("status") == "done"]
    stored = sum(bool(e["timings"].get("from_store")) for e in ran)
    print(f"\n{results['timings'].get('total_this_run', 0):.0f} s this run ({stored} of {len(ran)} experiments read "
          f"from the store, {sum(s['cached'] for s in steps)}/{len(steps)} steps of the others cached; "
          f"{results['timings'].get('total_uncached', 0):.0f} s to compute everything)")
