"""``felab``: reproduce the simulation, run a protocol on data, render a report, generate synthetic worlds.

    felab reproduce --preset tiny|quick [--seeds 0-4] --out DIR
    felab run --protocol FILE|NAME --judge NAME --experts NAME[,NAME] --data synthetic[:N[:SEED]]|PATH --out DIR
    felab report RUN [--out FILE]
    felab gen-synthetic --questions N [--seed S] --out FILE.jsonl
    felab import-nyu PATH --out FILE.jsonl
    felab protocols
    felab local-model [--threads 2] [--context 4096] [--measure]
    felab local-study --out DIR [--questions 40] [--seed 0] [--offline]
    felab serve [--db PATH|URL] [--host 127.0.0.1] [--port 8000]    (the web platform; needs felab[web])
    felab db upgrade|current [--db PATH|URL]

Bad input (a quote outside the document, a protocol file with an unknown round, a document with no questions, an
unknown agent) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from verdicts import UsageError, fail, parse_seeds

from .domain import BadInput
from .web import command as web_command  # argparse only: the web's libraries load when serve/db run


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="felab", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="the simulation behind the claims, over seeds, with a report")
    r.add_argument("--preset", default="quick", choices=["tiny", "quick"])
    r.add_argument("--seeds", default=None, help="seeds, e.g. 0-4 or 0,1,2 (default: the preset's)")
    r.add_argument("--out", type=Path, default=None, help="run folder (default runs/felab-<preset>)")
    r.add_argument("--nyu", type=Path, default=None,
                   help="NYU's debate data folder: also judge the NYU re-analysis claims (nyu-reanalysis.txt)")
    g = sub.add_parser("run", help="play one protocol over data with the named agents")
    g.add_argument("--protocol", required=True, help="a shipped protocol name or a protocol .json file")
    g.add_argument("--judge", default="weigher", help="judge agent, e.g. weigher:temperature=0.5")
    g.add_argument("--experts", default="honest,malicious",
                   help="the honest side's and the dishonest side's agents, e.g. honest,fabricator")
    g.add_argument("--data", default="synthetic", help="synthetic, synthetic:N[:SEED] or a JSONL file")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", type=Path, required=True, help="run folder")
    rep = sub.add_parser("report", help="render RUN/report.html again from a run folder")
    rep.add_argument("run", type=Path)
    rep.add_argument("--out", type=Path, default=None, help="default RUN/report.html")
    s = sub.add_parser("gen-synthetic", help="write seeded synthetic worlds as JSONL")
    s.add_argument("--questions", type=int, default=12)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--per-document", type=int, default=3)
    s.add_argument("--out", type=Path, required=True)
    n = sub.add_parser("import-nyu", help="NYU's debate data (a folder as published) to JSONL")
    n.add_argument("path", type=Path)
    n.add_argument("--out", type=Path, required=True)
    sub.add_parser("protocols", help="list the shipped protocols")
    lm = sub.add_parser("local-model", help="serve SmolLM2-135M on 127.0.0.1 (OpenAI-compatible) until Ctrl-C")
    lm.add_argument("--threads", type=int, default=2)
    lm.add_argument("--context", type=int, default=4096)
    lm.add_argument("--measure", action="store_true", help="time loading, prompt and generation speed, then stop")
    ls = sub.add_parser("local-study", help="the small local model as judge: oracle, blind, consultancy, debate")
    ls.add_argument("--out", type=Path, required=True, help="study folder (cache, games, results)")
    ls.add_argument("--questions", type=int, default=40)
    ls.add_argument("--seed", type=int, default=0)
    ls.add_argument("--offline", action="store_true", help="replay from the folder's cache without the model")
    web_command.register(sub)
    return p


def _reproduce(args) -> int:
    from .reproduce import PRESETS, Preset, reproduce

    preset = PRESETS[args.preset]
    if args.seeds:
        preset = Preset(preset.name, preset.questions, tuple(parse_seeds(args.seeds)), preset.per_document)
    out = args.out or Path("runs") / f"felab-{preset.name}"
    nyu_data = _nyu_data(args.nyu) if args.nyu else None  # refuse a bad folder before the simulation runs
    res = reproduce(preset, out, say=lambda line: print(line, flush=True))
    for c in res["claims"]:
        print(f"[{c['verdict']}] {c['id']} (simulated)")
    if nyu_data is not None:
        from .files import write_atomic
        from .reanalysis import judge, text, values
        from .reproduce import plain

        rows = judge(nyu_data)
        write_atomic(out / "nyu-reanalysis.txt", text(nyu_data) + "\n")
        write_atomic(out / "nyu-reanalysis.json", json.dumps(plain({"data": str(args.nyu), "claims": rows,
                                                               "values": values(nyu_data)}), indent=1))
        for c in rows:
            print(f"[{c['verdict'].value}] {c['id']} (NYU's published data)")
        print(f"NYU re-analysis: {out / 'nyu-reanalysis.txt'}")
    print(f"results: {out / 'results.json'}\nreport:  {out / 'report.html'}")
    return 0


def _nyu_data(path: Path):
    from .data import nyu

    return nyu.load(path)


def _run(args) -> int:
    from . import data, metrics
    from .agents import parse_spec
    from .agents.scripted import EXPERTS, JUDGES
    from .batch import Condition, run
    from .files import write_atomic
    from .protocols import load
    from .report import render
    from .reproduce import plain

    protocol = load(args.protocol)  # refuse a bad file before anything else
    worlds = data.load(args.data, args.seed)
    experts = tuple(e for e in args.experts.split(",") if e.strip()) if protocol.experts != "none" else ()
    cond = Condition(protocol.name, str(args.protocol), args.judge, experts)
    out = args.out
    games = run([cond], worlds, out / "games.jsonl", args.seed, say=lambda line: print(line, flush=True))
    lengths = {d.id: len(d.text) for d, _ in worlds}
    summary = metrics.summary(games[cond.id], lengths, protocol.turn_penalty, factored=protocol.factored)
    results = plain({"simulated": all(parse_spec(a)[0] in {*JUDGES, *EXPERTS} for a in (args.judge, *experts)),
                      "data": args.data, "seed": args.seed,
                      "conditions": {cond.id: {"protocol": cond.protocol, "judge": cond.judge,
                                               "experts": list(experts), **summary}}})
    write_atomic(out / "results.json", json.dumps(results, indent=1))
    write_atomic(out / "report.html", render(results, games))
    acc = summary["accuracy"]
    print(f"{cond.id}: {summary['n']} games, accuracy {'–' if acc is None else f'{100 * acc:.1f} %'}"
          f"\nreport: {out / 'report.html'}")
    return 0


def _report(args) -> int:
    from .domain import Game
    from .files import write_atomic
    from .report import render

    res_path = args.run / "results.json"
    try:
        results = json.loads(res_path.read_text(encoding="utf-8"))
    except OSError:
        raise BadInput(f"{res_path} not found: give a folder written by 'felab reproduce' or 'felab run'") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"{res_path} is not JSON ({e.msg}); run the reproduction again") from None
    games: dict[str, list] = {}
    for log in sorted(args.run.glob("games*.jsonl")) + sorted((args.run / "games").glob("*.jsonl")):
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line of an interrupted run
            games.setdefault(rec["condition"], []).append(Game.from_dict(rec["game"]))
    nyu = args.run / "nyu-reanalysis.json"  # written by 'reproduce --nyu': shown apart, not simulated
    reanalysis = json.loads(nyu.read_text(encoding="utf-8")).get("claims") if nyu.exists() else None
    out = args.out or args.run / "report.html"
    write_atomic(out, render(results, games, reanalysis))
    print(f"report: {out}")
    return 0


def _gen(args) -> int:
    from .data import jsonl, synthetic

    if args.questions < 1 or args.per_document < 1:
        raise BadInput("--questions and --per-document must be at least 1")
    worlds = synthetic.generate(args.questions, args.seed, args.per_document)
    jsonl.write(worlds, args.out)
    print(f"{len(worlds)} documents, {sum(len(q) for _, q in worlds)} questions: {args.out}")
    return 0


def _import_nyu(args) -> int:
    from .data import nyu

    data = nyu.load(args.path)
    path = nyu.write_jsonl(data, args.out)
    print(f"{len(data.documents)} documents: {path}")
    return 0


def _protocols(args) -> int:
    from .protocols import load, presets

    for name in presets():
        p = load(name)
        print(f"{name:22s} {p.title}")
    return 0


def _local_model(args) -> int:
    import time

    from .agents import local

    if args.measure:
        print(json.dumps(local.measure(args.threads, args.context), indent=1))
        return 0
    with local.LocalModel(args.threads, args.context) as m:
        print(f"{local.MODEL} at {m.base_url} (loaded in {m.load_seconds:.1f} s); Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
    return 0


def _local_study(args) -> int:
    from . import local_study

    if args.questions < 1:
        raise BadInput("--questions must be at least 1")
    res = local_study.study(args.out, args.questions, args.seed, args.offline, say=lambda line: print(line, flush=True))
    print(local_study.text(res))
    print(f"results: {args.out / 'results' / 'results.json'}")
    return 0


COMMANDS = {"reproduce": _reproduce, "run": _run, "report": _report, "gen-synthetic": _gen,
            "import-nyu": _import_nyu, "protocols": _protocols, "local-model": _local_model,
            "local-study": _local_study, "serve": web_command.serve, "db": web_command.db}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (BadInput, UsageError) as e:
        fail(e, "felab")
    except KeyboardInterrupt:
        print("felab: interrupted; run the same command again to resume from the stored games", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
