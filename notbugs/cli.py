"""Command line: parse arguments, call the API, print. No experiment logic lives here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import NotbugsError


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got '{text}'") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"eps must be >= 0, got '{text}'")
    return values


def _nonneg(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="notbugs", description="Adversarial examples: bugs or features? A lab.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="list or download datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    data_sub.add_parser("list", help="each dataset and where it was found or how to get it")
    dl = data_sub.add_parser("download", help="download a dataset into the user cache (sha256-checked)")
    dl.add_argument("name", choices=["fashion-mnist"])

    t = sub.add_parser("train", help="train a model (standard or PGD adversarial)")
    t.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, mnist, cifar10, digits or folder:PATH")
    t.add_argument("--arch", default="cnn", help="cnn, mlp, linear, resnet18 or vgg")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    t.add_argument("--lr", type=float, default=None, help="default 1e-3 for adam, 0.1 for sgd")
    t.add_argument("--weight-decay", type=_nonneg, default=0.0)
    t.add_argument("--schedule", default="cosine", choices=["cosine", "step", "constant"])
    t.add_argument("--no-augment", action="store_true", help="no random crops or flips")
    t.add_argument("--adv", choices=["l2", "linf"], help="PGD adversarial training in this norm")
    t.add_argument("--eps", type=_nonneg, default=0.0)
    t.add_argument("--steps", type=int, default=7)
    t.add_argument("--step-size", type=_nonneg, default=None, help="default 2.5 * eps / steps")
    t.add_argument("--random-start", action="store_true")
    t.add_argument("--train-limit", type=int, default=None, help="train on this many images (a fixed random subset)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--out", type=Path, required=True, help="run folder to write")
    t.add_argument("--quiet", action="store_true", help="no progress bars")

    e = sub.add_parser("eval", help="clean and robust accuracy of a model on a test set")
    e.add_argument("--model", type=Path, required=True, help="a run folder, or a .pt state dict (with --arch)")
    e.add_argument("--dataset", default=None, help="default: the one named in the run's manifest")
    e.add_argument("--arch", default=None, help="architecture of a bare .pt state dict")
    e.add_argument("--norm", default="l2", choices=["l2", "linf"])
    e.add_argument("--eps", type=_floats, default=[0.5, 1.0, 1.5])
    e.add_argument("--steps", type=int, default=20)
    e.add_argument("--limit", type=int, default=None, help="evaluate on this many test images")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default="cpu")
    e.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    e.add_argument("--quiet", action="store_true")
    return p


def _cmd_data(args) -> None:
    from .data import catalog, download_fashion_mnist

    if args.data_command == "list":
        for row in catalog():
            print(f"{row['name']:<14} {'found' if row['found'] else 'missing':<8} {row['where']}")
        print(f"{'folder:PATH':<14} {'-':<8} PATH/train/<class>/*.png and PATH/test/<class>/*.png")
    else:
        print(f"downloaded to {download_fashion_mnist()}")


def _cmd_train(args) -> None:
    from .data import load_dataset
    from .steps import train_model
    from .train import TrainConfig

    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 1e-3)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=lr,
                      weight_decay=args.weight_decay, schedule=args.schedule,
                      crop_padding=0 if args.no_augment else 2, flip=not args.no_augment, adv=args.adv, eps=args.eps,
                      steps=args.steps, step_size=args.step_size, random_start=args.random_start, seed=args.seed,
                      device=args.device)
    cfg.validate()
    data = load_dataset(args.dataset)
    info = train_model(data, args.arch, cfg, args.out, train_limit=args.train_limit, progress=not args.quiet)
    m = info["metrics"]
    kind = f"adversarial ({args.adv}, eps {args.eps:g}, {args.steps} steps)" if args.adv else "standard"
    print(f"{kind} training of {args.arch} on {data.name} ({info['train_size']} images, {args.epochs} epochs): "
          f"test accuracy {m['test_clean_accuracy']:.4f}, {m['train_seconds']:.0f} s")
    print(f"model written to {args.out}/")


def _cmd_eval(args) -> None:
    from .steps import evaluate_model
    from .storage import write_json

    result = evaluate_model(args.model, args.dataset, norm=args.norm, eps_list=args.eps, steps=args.steps,
                            arch=args.arch, limit=args.limit, seed=args.seed, device=args.device,
                            progress=not args.quiet)
    print(f"{result['dataset']} test set, {result['attack']['n']} images, {args.norm} PGD-{args.steps}")
    print(f"  clean accuracy   {result['clean_accuracy']:.4f}")
    for eps, acc in result["robust_accuracy"].items():
        print(f"  robust eps={eps:<6} {acc:.4f}")
    if args.out:
        write_json(args.out, result)
        print(f"results written to {args.out}")


COMMANDS = {"data": _cmd_data, "train": _cmd_train, "eval": _cmd_eval}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except NotbugsError as exc:
        if args.debug:
            raise
        print(f"notbugs: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("notbugs: interrupted; finished artifacts are kept, nothing half-written is left", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
