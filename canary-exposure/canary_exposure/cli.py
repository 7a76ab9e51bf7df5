"""``canary-exposure``: reproduce the paper, or measure a saved model's exposure and extract its secrets.

Bad input is one line on stderr and exit code 2; an interrupted reproduction resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from verdicts import UsageError, parse_seeds

from .canaries import CanaryFormat
from .errors import ExposureError

EXACT_MAX_DIGITS = 7  # 10^7 candidates scored exactly is minutes here; beyond that, extrapolate


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(parse_seeds(text))
    except UsageError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="canary-exposure", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="train with canaries over seeds, judge the paper's claims, write a report",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    r.add_argument("--preset", default="quick", choices=["tiny", "quick", "full"])
    r.add_argument("--out", type=Path, default=None, help="run folder (default runs/canary-<preset>)")
    r.add_argument("--corpus", default=None, help="a text file or a folder of fortune files (default: Debian's "
                                                  "fortunes, apt-get install fortunes)")
    r.add_argument("--seeds", type=_seeds, default=None, help="seeds, e.g. 0,1,2 or 0-4 (default: the preset's)")
    for name, helptext in (("exposure", "a saved model's exposure of secrets of a canary format"),
                           ("extract", "search a saved model for the most likely secrets of a canary format")):
        e = sub.add_parser(name, help=helptext, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        e.add_argument("--model", type=Path, required=True, help="a seed folder written by reproduce")
        e.add_argument("--variant", default="plain", choices=["plain", "dp"], help="its plain or DP-SGD model")
        e.add_argument("--canary-format", default="my random number is {}", help="text with one {} slot")
        e.add_argument("--digits", type=_count, default=6, help="digits of the secret: |R| = 10^digits")
        if name == "exposure":
            e.add_argument("--secret", action="append", required=True, help="a secret to score; repeatable")
            e.add_argument("--extrapolate", action="store_true",
                           help="fit a skew-normal to random candidates instead of scoring all of R")
            e.add_argument("--references", type=_count, default=5000, help="--extrapolate: candidates to fit")
        else:
            e.add_argument("--budget", type=_count, default=10_000, help="model queries")
            e.add_argument("--found", type=_count, default=5, help="secrets to list, most likely first")
    b = sub.add_parser("bench", help="seconds to score every candidate exactly, and training throughput",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    b.add_argument("--preset", default="quick", choices=["tiny", "quick", "full"], help="the model's size")
    b.add_argument("--digits", type=_count, default=6)
    return p


def _bench(args) -> int:
    import time

    import torch

    from .models import build
    from .scoring import slot_log_perplexities
    from .settings import get_preset
    from .training import _loss

    p = get_preset(args.preset)
    torch.manual_seed(0)
    model = build(p.train.arch, **p.train.arch_options)
    began = time.perf_counter()
    slot_log_perplexities(model, CanaryFormat(p.template, args.digits))
    exact = time.perf_counter() - began
    opt = torch.optim.Adam(model.parameters())
    x = torch.randint(0, 256, (p.train.batch_size, p.train.context + 1))
    began, steps = time.perf_counter(), 0
    while time.perf_counter() - began < 3 or steps < 3:
        opt.zero_grad()
        _loss(model, x).backward()
        opt.step()
        steps += 1
    rate = steps * x[:, 1:].numel() / (time.perf_counter() - began)
    print(json.dumps({"preset": p.name, "arch": p.train.arch, "arch_options": p.train.arch_options,
                      "candidates": 10 ** args.digits, "exact_scoring_seconds": exact,
                      "training_tokens_per_second": rate, "threads": torch.get_num_threads()}, indent=1))
    return 0


def _reproduce(args) -> int:
    from .report import render
    from .runs import reproduce
    from .settings import get_preset

    p = get_preset(args.preset, **({"seeds": args.seeds} if args.seeds else {}))
    out = args.out or Path("runs") / f"canary-{p.name}"
    res = reproduce(p, out, corpus=args.corpus, say=lambda line: print(line, flush=True))
    (out / "report.html").write_text(render(res))
    for c in res["claims"]:
        print(f"[{c['verdict']}] {c['id']}")
    print(f"results: {out / 'results.json'}\nreport:  {out / 'report.html'}")
    return 0


def _exposure(args) -> int:
    import numpy as np

    from .runs import load_model
    from .scoring import exact_exposure, extrapolated_exposure, fit_references, log_perplexity, slot_log_perplexities

    fmt = CanaryFormat(args.canary_format, args.digits)
    for s in args.secret:
        fmt.render(s)  # a wrong length or a non-digit is said before any work
    if args.digits > EXACT_MAX_DIGITS and not args.extrapolate:
        raise ExposureError(f"|R| = 10^{args.digits} is too large to score exactly here (at most "
                            f"10^{EXACT_MAX_DIGITS}); add --extrapolate")
    model, _ = load_model(args.model, args.variant)
    if args.extrapolate:
        rng = np.random.default_rng(0)
        refs = [fmt.render(fmt.secret(int(i))) for i in rng.integers(0, fmt.space, args.references)]
        fit = fit_references(log_perplexity(model, refs))
        px = log_perplexity(model, [fmt.render(s) for s in args.secret])
        out = {s: {"log_perplexity": float(v), "exposure": extrapolated_exposure(float(v), fit)}
               for s, v in zip(args.secret, px)}
        out["fit"] = fit
    else:
        # the secrets asked about are the ones inserted: none is a candidate of another
        out = exact_exposure(slot_log_perplexities(model, fmt), args.secret, inserted=args.secret)
    print(json.dumps(out, indent=1))
    return 0


def _extract(args) -> int:
    from .extract import extract
    from .runs import load_model

    fmt = CanaryFormat(args.canary_format, args.digits)
    model, _ = load_model(args.model, args.variant)
    print(json.dumps(extract(model, fmt, budget=args.budget, found=args.found), indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"reproduce": _reproduce, "exposure": _exposure, "extract": _extract,
                "bench": _bench}[args.command](args)
    except ExposureError as exc:
        print(f"canary-exposure: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("canary-exposure: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
