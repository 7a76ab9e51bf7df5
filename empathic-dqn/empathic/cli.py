"""``empathic``: train one agent, evaluate a checkpoint, or reproduce the paper's claims over seeds.

    empathic train coexistence|sharing --beta B --seed S [--preset quick|full|tiny] [--out DIR]
    empathic evaluate RUN_FOLDER [--episodes N]
    empathic reproduce [--preset quick|full|tiny] [--seeds 0-9] [--world W] [--claims-only] [--out DIR]

Bad input (an unknown world or preset, beta outside [0, 1], a missing checkpoint) is one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from verdicts import UsageError, claim_table_text, parse_seeds

from . import __version__

SMOKE = ("SMOKE TEST, not evidence: preset tiny runs every code path at toy sizes in seconds; its verdicts say "
         "nothing about the claims")


def beta(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--beta takes a number in [0, 1] (the selfishness), got '{text}'") from None
    if not 0 <= value <= 1:
        raise UsageError(f"--beta (the selfishness) must lie in [0, 1], got {value:g}: 1 is the selfish DQN")
    return value


def rule(text: str) -> tuple[str, object]:
    from .settings import RULES

    name, eq, value = text.partition("=")
    if not eq or name not in RULES:
        raise UsageError(f"--rule takes NAME=VALUE with NAME one of {', '.join(RULES)} (got '{text}')")
    allowed = {str(v).lower(): v for v in RULES[name]}
    if value.lower() not in allowed:
        raise UsageError(f"--rule {name} takes {' or '.join(allowed)} (got '{value}')")
    return name, allowed[value.lower()]


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Each default said once: none appended where the default is None (the help says what stands in for it) or
    a flag's False."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="empathic", description=__doc__.splitlines()[0].replace("``", ""),
                                formatter_class=_Help)
    p.add_argument("--version", action="version", version=f"empathic {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one agent", formatter_class=_Help)
    t.add_argument("world", help="coexistence or sharing")
    t.add_argument("--beta", default="1", help="selfishness in [0, 1]: 1 is the selfish DQN, 0.5 the paper's")
    t.add_argument("--seed", type=int, default=0, help="a seed >= 0")
    t.add_argument("--steps", type=int, default=None, help="environment steps of training (default: the preset's)")
    t.add_argument("--lr", type=float, default=None, help="Adam's learning rate (default: the preset's)")
    t.add_argument("--preset", default="quick", help="quick, full or tiny")
    t.add_argument("--rule", type=rule, action="append", metavar="NAME=VALUE",
                   help="a rule where the package departs from the authors' code, e.g. kill_wrap=false, "
                        "dead_other=zero (repeatable; see 'empathic.settings.RULES')")
    t.add_argument("--out", type=Path, default=Path("runs/empathic"), help="runs are kept under OUT/runs/")
    e = sub.add_parser("evaluate", help="evaluate a trained agent",
                       formatter_class=_Help)
    e.add_argument("run", type=Path, help="a run folder of 'empathic train' (agent.safetensors and run.json)")
    e.add_argument("--episodes", type=int, default=50, help="greedy episodes, >= 1")
    e.add_argument("--gif", type=Path, default=None, help="also write the first episode (up to 200 steps) as a GIF")
    r = sub.add_parser("reproduce", help="every claim over seeds, with the report",
                       formatter_class=_Help)
    r.add_argument("--preset", default="quick", help="quick, full or tiny")
    r.add_argument("--seeds", default=None, help="e.g. 0,1,2 or 0-4 (default: the preset's)")
    r.add_argument("--claims-only", action="store_true", help="the claims' runs only, without the beta sweep and "
                                                               "the ablation (a third of the runs)")
    r.add_argument("--world", default=None, help="one world only (default: both; a later run of both reads its "
                                                 "runs back)")
    r.add_argument("--out", type=Path, default=None,
                   help="the folder of the runs, results and report (default: runs/empathic-PRESET)")
    m = sub.add_parser("match", help="N agents in one world (PettingZoo): train the learners, evaluate each",
                       formatter_class=_Help)
    m.add_argument("world", help="coexistence or sharing")
    m.add_argument("--agents", default="empathic,empathic",
                   help="one policy per agent: empathic (beta 0.5), selfish (beta 1), beta=B, random, path (sharing)")
    m.add_argument("--seed", type=int, default=0, help="a seed >= 0")
    m.add_argument("--steps", type=int, default=None, help="environment steps of training (default: the preset's)")
    m.add_argument("--preset", default="quick", help="quick, full or tiny")
    m.add_argument("--episodes", type=int, default=20, help="evaluation games after training, >= 1")
    return p


def play_match(args) -> int:
    from .matches import match

    world, s = _world(args.world), _settings(args.preset)
    if args.seed < 0 or args.episodes < 1 or args.steps is not None and args.steps < 1:
        raise UsageError(f"--seed must be >= 0, --episodes and --steps >= 1 (got {args.seed}, {args.episodes}, "
                         f"{args.steps})")
    s = replace(s, steps=args.steps) if args.steps is not None else s
    try:
        out = match(world, [a.strip() for a in args.agents.split(",")], args.seed, s, args.episodes)
    except ValueError as err:
        raise UsageError(f"--agents: {err}") from None
    print(json.dumps(out, indent=1))
    return 0


def _settings(name: str):
    from .settings import PRESETS

    if name not in PRESETS:
        raise UsageError(f"unknown preset '{name}'; use {', '.join(PRESETS)}")
    return PRESETS[name]


def _world(name: str) -> str:
    from .worlds import WORLDS

    if name not in WORLDS:
        raise UsageError(f"unknown world '{name}'; use {' or '.join(WORLDS)}")
    return name


def train_one(out: Path, world: str, b: float, seed: int, s) -> dict:
    from .study import run_all
    from .training import Run

    run = Run(world, b, seed, s)
    return next(iter(run_all(out, [run]).values()))


def reproduce(args) -> int:
    import numpy as np

    from .report import episode_gif, write
    from .study import conclude, plan, run_all

    s = _settings(args.preset)
    smoke = SMOKE if args.preset == "tiny" else None
    if smoke:  # first and last: a tiny run's verdicts are no evidence
        print(smoke, flush=True)
    if args.seeds is not None:
        s = replace(s, seeds=tuple(parse_seeds(args.seeds)))
    out = args.out or Path("runs") / f"empathic-{args.preset}"
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    parts = plan(s, (_world(args.world),) if args.world else ("coexistence", "sharing"), args.claims_only)
    results = run_all(out, [r for runs in parts.values() for r in runs])
    concluded = conclude(parts, results)
    main_runs = [results[n] for n in dict.fromkeys(_names(parts["claims"]))]
    sweep_runs = [results[n] for n in dict.fromkeys(_names(parts.get("sweep", [])))]
    episodes = {f"{r['world']}-{r['beta']:g}": episode_gif([np.array(f, np.uint8) for f in r["episode"]])
                for r in main_runs if r["seed"] == s.seeds[0]}
    trained = [r for r in results.values() if "train_seconds" in r]
    timings = {"seconds": time.perf_counter() - started,
               "train_seconds": {w: max((r["train_seconds"] for r in trained if r["world"] == w), default=0.0)
                                 for w in ("coexistence", "sharing")},
               "runs": len(results)}
    report = {"preset": args.preset, "settings": s.to_dict(), **concluded, "episodes": episodes,
              "runs": [_public(r) for r in main_runs], "sweep_runs": [_public(r) for r in sweep_runs],
              "timings": timings}
    (out / "results.json").write_text(json.dumps({k: v for k, v in report.items() if k != "episodes"}, indent=1))
    write(report, out / "report.html")
    print(claim_table_text(concluded["claims"]))
    print(f"{len(results)} runs, {timings['seconds']:.0f} s\nresults: {out / 'results.json'}\n"
          f"report:  {out / 'report.html'}")
    if smoke:
        print(smoke)
    return 0


def _names(runs) -> list[str]:
    from .runs import run_name

    return [run_name(r) for r in runs]


def _public(run: dict) -> dict:
    return {k: v for k, v in run.items() if k not in ("episode", "settings")}


def main(argv: list[str] | None = None) -> int:
    from .runs import CheckpointError

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        args = parser().parse_args(argv)
        if args.command == "train":
            world, b, s = _world(args.world), beta(args.beta), _settings(args.preset)
            if args.seed < 0:
                raise UsageError(f"--seed must be >= 0, got {args.seed}")
            if args.steps is not None and args.steps < 1 or args.lr is not None and not args.lr > 0:
                raise UsageError(f"--steps must be >= 1 and --lr > 0 (got {args.steps} and {args.lr})")
            s = replace(s, **{k: v for k, v in (("steps", args.steps), ("lr", args.lr)) if v is not None})
            s = replace(s, **dict(args.rule or []))
            run = train_one(args.out, world, b, args.seed, s)
            print(json.dumps(run["eval"], indent=1))
            return 0
        if args.command == "evaluate":
            if args.episodes < 1:
                raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
            from .runs import load
            from .training import evaluate

            pop, run, _ = load(args.run)
            result = evaluate(pop, [run], episodes=args.episodes, record=200 if args.gif else 0)[0]
            frames = result.pop("frames", None)
            if args.gif:
                from .report import gif_bytes

                args.gif.parent.mkdir(parents=True, exist_ok=True)
                args.gif.write_bytes(gif_bytes(frames))
                result["gif"] = str(args.gif)
            print(json.dumps(result, indent=1))
            return 0
        if args.command == "match":
            return play_match(args)
        return reproduce(args)
    except (UsageError, CheckpointError) as err:
        print(f"empathic: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("empathic: interrupted; finished runs are kept and the next run resumes from them", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
