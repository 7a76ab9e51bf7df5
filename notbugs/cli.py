"""Command line: parse arguments, call the API, print. No experiment logic lives here."""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from .errors import NotbugsError, NotbugsWarning


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got '{text}'") from None
    if not values or any(v < 0 or not math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"eps must be finite numbers >= 0, got '{text}'")
    return values


def _nonneg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _positive(text: str) -> float:
    value = _nonneg(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed is an integer, got '{text}'") from None
    if not 0 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"a seed lies in 0 .. 2^63 - 1, got {text}")
    return value


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="notbugs", description="Adversarial examples: bugs or features? A lab.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="list or download datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    data_sub.add_parser("list", help="each dataset and where it was found or how to get it")
    dl = data_sub.add_parser("download", help="download a dataset into the user cache (sha256-checked)")
    dl.add_argument("name", choices=["fashion-mnist", "mnist"])

    t = sub.add_parser("train", help="train a model (standard or PGD adversarial)")
    t.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, mnist, cifar10, digits or folder:PATH")
    t.add_argument("--arch", default="cnn", help="cnn, mlp, linear, resnet18 or vgg")
    t.add_argument("--epochs", type=_whole, default=10)
    t.add_argument("--batch-size", type=_count, default=128)
    t.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    t.add_argument("--lr", type=_positive, default=None, help="default 1e-3 for adam, 0.1 for sgd")
    t.add_argument("--weight-decay", type=_nonneg, default=0.0)
    t.add_argument("--schedule", default="cosine", choices=["cosine", "step", "constant"])
    t.add_argument("--no-augment", action="store_true", help="no random crops or flips")
    t.add_argument("--adv", choices=["l2", "linf"], help="PGD adversarial training in this norm")
    t.add_argument("--eps", type=_nonneg, default=0.0)
    t.add_argument("--steps", type=_count, default=7)
    t.add_argument("--step-size", type=_nonneg, default=None, help="default 2.5 * eps / steps")
    t.add_argument("--random-start", action="store_true")
    t.add_argument("--fgsm-rs", action="store_true",
                   help="fast adversarial training (Wong et al. 2020): one step of 1.25 * eps from a random start")
    t.add_argument("--amp", action="store_true", help="bfloat16 autocast (GPUs)")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--train-limit", type=_count, default=None, help="train on this many images (a fixed random subset)")
    t.add_argument("--seed", type=_seed, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--out", type=Path, required=True, help="run folder to write")
    t.add_argument("--quiet", action="store_true", help="no progress bars")

    e = sub.add_parser("eval", help="clean and robust accuracy of a model on a test set")
    e.add_argument("--model", type=Path, required=True, help="a run folder, or a .pt state dict (with --arch)")
    e.add_argument("--dataset", default=None, help="default: the one named in the run's manifest")
    e.add_argument("--arch", default=None,
                   help="architecture of a .pt state dict or robustness checkpoint (madry-resnet50, madry-resnet18)")
    e.add_argument("--norm", default="l2", choices=["l2", "linf"])
    e.add_argument("--eps", type=_floats, default=[0.5, 1.0, 1.5])
    e.add_argument("--steps", type=_whole, default=20)
    e.add_argument("--limit", type=_count, default=None, help="evaluate on this many test images")
    e.add_argument("--seed", type=_seed, default=0)
    e.add_argument("--device", default="cpu")
    e.add_argument("--sanity", action="store_true",
                   help="check each number for weak attacks and gradient masking (FGSM, more steps, restarts, "
                        "unbounded eps, zero/NaN gradients, black-box or transfer)")
    e.add_argument("--surrogate", type=Path, default=None, help="--sanity: transfer attacks from this model")
    e.add_argument("--strong", action="store_true",
                   help="also report the worst case over CE PGD, CW-margin PGD and --restarts random restarts")
    e.add_argument("--restarts", type=_whole, default=3)
    e.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    e.add_argument("--quiet", action="store_true")
    r = sub.add_parser("reproduce", help="experiments of the paper and its discussion, end to end, with "
                                         "results.json and report.html",
                       description="Run experiments by name (none: the paper's main experiment; 'all': every one); "
                                   "'--list' says what each answers and costs.")
    r.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: paper; all: every one)")
    r.add_argument("--list", action="store_true", help="list the experiments, their questions, presets and costs")
    r.add_argument("--preset", default="quick", help="quick, full, cifar10 or tiny")
    r.add_argument("--dataset", default=None, help="override the preset's dataset")
    r.add_argument("--seed", type=_seed, default=0)
    r.add_argument("--seeds", default=None,
                   help="run once per seed (e.g. 0,1,2) and judge each claim over all of them, numbers as mean ± sd")
    r.add_argument("--device", default=None, help="override the preset's device (cpu, cuda)")
    r.add_argument("--std-model", type=Path, default=None,
                   help="use this standard model instead of training one (run folder, .pt, robustness checkpoint)")
    r.add_argument("--robust-model", type=Path, default=None,
                   help="use this robust model instead of training one, e.g. the paper's released CIFAR-10 model")
    r.add_argument("--model-arch", default=None,
                   help="architecture of --std-model/--robust-model files that are not run folders (madry-resnet50)")
    r.add_argument("--out", type=Path, default=None, help="default runs/<preset>-<dataset>-seed<seed>")
    r.add_argument("--cache", type=Path, default=None,
                   help="artifact store shared between runs (default $NOTBUGS_CACHE, else OUT/cache)")
    r.add_argument("--rebuild", action="append", default=[], metavar="NAME",
                   help="build again a step kind (model, dataset, leakage, eval, measure, picture), an experiment's "
                        "steps (e.g. stress) or all, and everything that depends on them; repeatable")
    r.add_argument("--read-only", action="store_true",
                   help="build nothing: stop with an error at the first step the store lacks or finds damaged")
    r.add_argument("--quiet", action="store_true")

    c = sub.add_parser("construct", help="build D_R, D_NR, D_rand or D_det from a trained model")
    c.add_argument("kind", choices=["robust", "nonrobust", "rand", "det"])
    c.add_argument("--model", type=Path, required=True,
                   help="robust model for 'robust', standard model for the others")
    c.add_argument("--robust-model", type=Path, default=None,
                   help="for rand/det: a robust model for the leakage check (run folder, .pt, robustness checkpoint)")
    c.add_argument("--arch", default=None,
                   help="architecture of a .pt state dict or robustness checkpoint given as --model (with --dataset)")
    c.add_argument("--robust-arch", default=None, help="architecture of a --robust-model file (default: --arch)")
    c.add_argument("--features-layer", default=None, metavar="NAME",
                   help="robust/nonrobust: invert the output of this submodule (e.g. body.3) instead of the "
                        "architecture's representation")
    c.add_argument("--dataset", default=None, help="default: the model's dataset")
    c.add_argument("--limit", type=_count, default=None, help="build from this many training images")
    c.add_argument("--steps", type=_count, default=None, help="default 1000 (inversion) or 100 (attack)")
    c.add_argument("--step-size", type=_nonneg, default=0.1)
    c.add_argument("--eps", type=_nonneg, default=0.5, help="rand/det: L2 eps of the targeted attack")
    c.add_argument("--noise-std", type=_nonneg, default=0.0, help="rand/det: average the attack over Gaussian noise")
    c.add_argument("--noise-samples", type=_count, default=1)
    c.add_argument("--start", choices=["image", "noise"], default="image", help="robust/nonrobust: where inversion starts")
    c.add_argument("--seed", type=_seed, default=0)
    c.add_argument("--device", default="cpu")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--quiet", action="store_true")

    b = sub.add_parser("bench", help="throughput of training, attacks and inversion, and their ratio to the floor")
    b.add_argument("--dataset", default="fashion-mnist", help="image shape to bench (random data of that shape)")
    b.add_argument("--arch", default="cnn")
    b.add_argument("--batch-size", type=_count, default=128)
    b.add_argument("--steps", type=_count, default=7, help="PGD steps (training, attack, evaluation)")
    b.add_argument("--inversion-steps", type=_count, default=20)
    b.add_argument("--device", default="cpu")
    b.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    b.add_argument("--compile", action="store_true", help="torch.compile the model")
    b.add_argument("--no-channels-last", action="store_true", help="contiguous NCHW weights, to measure channels_last")
    b.add_argument("--seconds", type=_positive, default=2.0, help="time each figure over at least this long")
    b.add_argument("--timings", type=Path, default=None, help="also show the per-step times of a results.json")
    b.add_argument("--json", action="store_true", help="print one JSON object instead of the table")

    rep = sub.add_parser("report", help="(re)write report.html from a results.json")
    rep.add_argument("results", type=Path)
    rep.add_argument("--out", type=Path, default=None, help="default: report.html beside results.json")

    st = sub.add_parser("store", help="check the artifact store")
    st_sub = st.add_subparsers(dest="store_command", required=True)
    ver = st_sub.add_parser("verify", help="check every artifact's files against their recorded sizes and sha256")
    ver.add_argument("--cache", type=Path, required=True, help="the store's folder")
    ver.add_argument("--fix", action="store_true", help="remove damaged artifacts (the next run rebuilds them)")
    gc = st_sub.add_parser("gc", help="remove the artifacts no kept run's results use (a dry run unless --delete)")
    gc.add_argument("--cache", type=Path, required=True, help="the store's folder")
    gc.add_argument("--keep", type=Path, nargs="+", required=True, metavar="RUN",
                    help="run folders (or results.json files) whose artifacts stay, with everything they were built from")
    gc.add_argument("--delete", action="store_true", help="remove them (without it, only say what would go)")
    return p


def _cmd_reproduce(args) -> int:
    from .experiments.runner import check_device, failed, make_preset, run_experiments, select
    from .experiments.seeds import parse_seeds, run_seeds
    from .outputs import check_writable, staged
    from .report import write_report
    from .storage import write_json

    if args.list:
        _print_experiments()
        return 0
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise NotbugsError("reproduce runs in one process; under torchrun use 'notbugs train' and 'notbugs construct'")
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    select(args.names)
    if args.device:
        check_device(args.device)
    given = {"std": args.std_model, "adv": args.robust_model}
    preset = make_preset(args.preset, seed=seeds[0] if seeds else args.seed, dataset=args.dataset, device=args.device,
                         given=given, given_arch=args.model_arch)
    tag = f"seeds{'-'.join(map(str, seeds))}" if seeds else f"seed{args.seed}"
    out = check_writable(args.out or Path("runs") / f"{preset.name}-{_safe(preset.dataset)}-{tag}")
    cache = args.cache or (Path(os.environ["NOTBUGS_CACHE"]) if os.environ.get("NOTBUGS_CACHE") else out / "cache")
    drawn: dict = {}  # sections already drawn from unchanged results, so each rewrite draws only what is new
    say = None if args.quiet else (lambda line: print(line, flush=True))

    def damaged(event: dict) -> None:
        if event["event"] == "damaged":
            print(f"notbugs: {event['step']} ({event['kind']}/{event['key']}) was damaged ({event['reason']}); "
                  "building it again", file=sys.stderr, flush=True)
        elif event["event"] == "waiting" and say:
            say(f"waiting for {event['holder']}, which is building {event['step']}")

    with staged(out, keep=("cache",) if _inside(cache, out) else ()) as tmp:
        def update(results: dict, folder: Path = tmp) -> None:  # the page grows as each experiment finishes
            write_json(folder / "results.json", results)
            write_report(results, folder / "report.html", cache=drawn.setdefault(str(folder), {}))

        if say:
            say(f"report: {tmp / 'report.html'} while the run goes on (rewritten as each experiment finishes), "
                f"then {out / 'report.html'}")
        options = {"rebuild": tuple(args.rebuild), "read_only": args.read_only, "on_event": damaged,
                   "write_to": tmp}
        if seeds:
            results = run_seeds(args.names, args.preset, seeds, out=out, cache=cache, dataset=args.dataset,
                                device=args.device, given=given, given_arch=args.model_arch, progress=not args.quiet,
                                say=say, on_update=lambda seed, res: update(res, tmp if seed is None
                                                                            else tmp / f"seed-{seed}"), **options)
        else:
            results = run_experiments(args.names, preset, out=out, cache=cache, progress=not args.quiet, say=say,
                                      on_update=update, **options)
        update(results)
    _print_summary(results)
    print(f"results: {out / 'results.json'}")
    print(f"report:  {out / 'report.html'}")
    return 1 if failed(results) else 0


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def _print_experiments() -> None:
    from .experiments.registry import REGISTRY

    for e in REGISTRY:
        cost = ", ".join(f"{p} {s / 60:.1f} min" for p, s in e.cost.items()) or "not measured"
        print(f"{e.name:<16} {e.question}\n{'':<16} {e.title}; presets: {', '.join(e.settings)}; "
              f"measured cost (added to 'all'): {cost}")


def _print_summary(results: dict) -> None:
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
    print()
    for name, entry in results["experiments"].items():
        if entry["status"] == "error":
            print(f"[ERROR] {name}: {entry['error']}")
        for claim in entry["claims"] if entry["status"] == "done" else []:
            word = {"holds": "holds", "does not hold": "FAILS"}.get(claim["verdict"], claim["verdict"])
            over = f" ({claim['seeds_held']})" if "seeds_held" in claim else ""
            print(f"[{word}{over}] {name}.{claim['id']}: {claim['evidence']}")
    steps = results.get("steps", [])
    ran = [e for e in results["experiments"].values() if e.get("timings")]
    stored = sum(bool(e["timings"].get("from_store")) for e in ran)
    print(f"\n{results['timings'].get('total_this_run', 0):.0f} s this run ({stored} of {len(ran)} experiments read "
          f"from the store, {sum(s['cached'] for s in steps)}/{len(steps)} steps of the others cached; "
          f"{results['timings'].get('total_uncached', 0):.0f} s to compute everything)")


def _cmd_construct(args) -> None:
    from .sharding import init_distributed
    from .steps import construct_dataset

    check_device_arg(args.device)
    init_distributed(args.device)
    with _output(args.out) as into:
        info = construct_dataset(args.kind, args.model, args.dataset, args.out, robust_model=args.robust_model,
                                 limit=args.limit, steps=args.steps, step_size=args.step_size, eps=args.eps,
                                 noise_std=args.noise_std, noise_samples=args.noise_samples, start=args.start,
                                 seed=args.seed, device=args.device, progress=not args.quiet, arch=args.arch,
                                 features_layer=args.features_layer, robust_arch=args.robust_arch, into=into)
    if info is None:
        return
    for key, value in info["stats"].items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"  {key:<34} {shown}")
    print(f"dataset written to {args.out}/ (data.safetensors, manifest.json, samples.png)")


def _cmd_report(args) -> None:
    from .report import write_report
    from .storage import read_json

    out = args.out or args.results.parent / "report.html"
    print(f"report: {write_report(read_json(args.results), out, base=args.results.parent)}")


def _cmd_store(args) -> int:
    from .pipeline import Store

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
    from .storage import read_json

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


def _cmd_data(args) -> None:
    from .data import catalog, download_fashion_mnist, download_mnist

    if args.data_command == "list":
        for row in catalog():
            layout = f"  ({row['layout']} layout)" if row["layout"] else ""
            print(f"{row['name']:<14} {'found' if row['found'] else 'missing':<8} {row['where']}{layout}")
        print(f"{'folder:PATH':<14} {'-':<8} PATH/train/<class>/*.png and PATH/test/<class>/*.png")
    else:
        fetch = {"fashion-mnist": download_fashion_mnist, "mnist": download_mnist}[args.name]
        print(f"{args.name}: checked and stored in {fetch()}")


def _cmd_train(args) -> None:
    from .data import load_dataset
    from .sharding import init_distributed
    from .steps import train_model
    from .train import TrainConfig

    check_device_arg(args.device)
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 1e-3)
    if args.fgsm_rs:
        if not args.adv:
            raise NotbugsError("--fgsm-rs is a kind of adversarial training; add --adv l2 or --adv linf and --eps")
        args.steps, args.step_size, args.random_start = 1, 1.25 * args.eps, True
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=lr,
                      weight_decay=args.weight_decay, schedule=args.schedule,
                      crop_padding=0 if args.no_augment else 2, flip=not args.no_augment, adv=args.adv, eps=args.eps,
                      steps=args.steps, step_size=args.step_size, random_start=args.random_start, seed=args.seed,
                      device=args.device, amp=args.amp, compile=args.compile)
    cfg.validate()
    data = load_dataset(args.dataset)
    init_distributed(args.device)
    with _output(args.out) as into:
        info = train_model(data, args.arch, cfg, into, train_limit=args.train_limit, progress=not args.quiet)
    if info is None:  # not the first torchrun process: it saved nothing and says nothing
        return
    m = info["metrics"]
    kind = f"adversarial ({args.adv}, eps {args.eps:g}, {'FGSM-RS' if args.fgsm_rs else f'{args.steps} steps'})" \
        if args.adv else "standard"
    print(f"{kind} training of {args.arch} on {data.name} ({info['train_size']} images, {args.epochs} epochs): "
          f"test accuracy {m['test_clean_accuracy']:.4f}, {m['train_seconds']:.0f} s")
    print(f"model written to {args.out}/")


def _cmd_eval(args) -> None:
    from .steps import evaluate_model
    from .storage import write_json

    check_device_arg(args.device)
    if args.out is not None and args.out.is_dir():
        raise NotbugsError(f"--out {args.out} is a folder; give the path of a JSON file to write")
    result = evaluate_model(args.model, args.dataset, norm=args.norm, eps_list=args.eps, steps=args.steps,
                            arch=args.arch, limit=args.limit, seed=args.seed, device=args.device,
                            progress=not args.quiet, sanity=args.sanity, strong=args.strong, restarts=args.restarts,
                            surrogate=args.surrogate)
    print(f"{result['dataset']} test set, {result['attack']['n']} images, {args.norm} PGD-{args.steps}")
    print(f"  clean accuracy   {result['clean_accuracy']:.4f}")
    for eps, acc in result["robust_accuracy"].items():
        strong = result.get("strong_robust_accuracy", {}).get(eps)
        print(f"  robust eps={eps:<6} {acc:.4f}" + (f"   strong (worst of {2 + args.restarts} attacks) {strong:.4f}"
                                                    if strong is not None else ""))
    for eps, report in result.get("sanity", {}).items():
        print(f"  sanity at eps={eps} (tolerance {report['tolerance']:.3f}):")
        for c in report["checks"]:
            print(f"    [{'ok' if c['passed'] else 'WARNING'}] {c['check']:<18} {c['detail']}")
    if args.out:
        write_json(args.out, result)
        print(f"results written to {args.out}")


def _cmd_bench(args) -> None:
    import json

    from .bench import format_table, run_bench
    from .storage import read_json

    check_device_arg(args.device)
    timings = None
    if args.timings:  # before the bench, so a wrong file is said at once
        timings = read_json(args.timings)
        if not isinstance(timings, dict) or not isinstance(timings.get("timings"), dict):
            raise NotbugsError(f"{args.timings} has no 'timings' object; give a results.json of 'notbugs reproduce'")
    result = run_bench(dataset=args.dataset, arch=args.arch, batch_size=args.batch_size, steps=args.steps,
                       inversion_steps=args.inversion_steps, device=args.device, amp=args.amp, compile=args.compile,
                       channels_last=not args.no_channels_last, min_seconds=args.seconds)
    if timings is not None:
        result["reproduction_seconds_per_step"] = {k: v for k, v in timings["timings"].items()
                                                   if isinstance(v, (int, float))}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(format_table(result))
    for step, seconds in result.get("reproduction_seconds_per_step", {}).items():
        print(f"  {step:<28} {seconds:8.1f} s")


def check_device_arg(device: str) -> None:
    from .experiments.runner import check_device

    check_device(device)


@contextmanager
def _output(out: Path):
    """The folder a command writes its result into: a private sibling moved into place when it succeeds, on the
    first process only under torchrun (the others write nothing); one command at a time per folder."""
    from .locks import StepLock
    from .outputs import check_writable, staged
    from .sharding import rank

    if rank() != 0:
        yield None
        return
    out = check_writable(out)
    lock = StepLock(out.parent / f".{out.name}.lock", done=lambda: True)
    if not lock.acquire():
        raise NotbugsError(f"another command is writing {out} right now; wait for it to finish or choose another "
                           "--out")
    try:
        with staged(out) as tmp:
            yield tmp
    finally:
        lock.release()


COMMANDS = {"data": _cmd_data, "bench": _cmd_bench, "train": _cmd_train, "eval": _cmd_eval, "reproduce": _cmd_reproduce,
            "construct": _cmd_construct, "report": _cmd_report, "store": _cmd_store}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that every step cleans up as it does on Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """The package's own warnings as one line each; others as Python shows them."""
    if issubclass(category, NotbugsWarning):
        print(f"notbugs: warning: {message}", file=sys.stderr)
    else:
        _python_warning(message, category, filename, lineno, file, line)


_python_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    warnings.showwarning = _show_warning
    try:
        code = COMMANDS[args.command](args) or 0
        sys.stdout.flush()
    except BrokenPipeError:  # `notbugs data list | grep -q ...` or `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush does not fail too
        return 0
    except NotbugsError as exc:
        if args.debug:
            raise
        print(f"notbugs: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        pipeline = sys.modules.get(f"{__package__}.pipeline")  # not imported yet: nothing was built
        kept = pipeline.BUILT[0] if pipeline is not None else 0
        print(f"notbugs: interrupted; {kept} steps finished in this run are kept, rerun to resume", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except OSError as exc:  # a full disk, a folder we may not write: what and where, not a traceback
        if args.debug:
            raise
        what = "no space left on the device" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"notbugs: error: {what}{where}; nothing half-written is kept, finished steps are", file=sys.stderr)
        return 2
    except MemoryError:
        print("notbugs: error: out of memory; use fewer images (--limit), a smaller batch or a smaller model",
              file=sys.stderr)
        return 2
    finally:
        # only if it was imported: after an interruption inside `import torch` a second import would crash
        sharding = sys.modules.get(f"{__package__}.sharding")
        if sharding is not None:
            sharding.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
