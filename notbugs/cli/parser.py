"""The command line's grammar: every subcommand, option, default and choice (``notbugs <command> --help``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import args as a

DATASETS = ("fashion-mnist, mnist, cifar10, digits, folder:PATH (PATH/train/<class>/*.png, PATH/test/...), "
            "madry:DIR (the paper's released CIFAR-10 datasets) or built:PATH (a folder 'notbugs construct' wrote, "
            "tested on its source's test split)")
# every architecture of notbugs.models.ARCHS (a test holds the two together)
ARCHS = ("cnn, mlp, linear, vgg, resnet18 (the lab's), madry-resnet18, madry-resnet50 (robustness' CIFAR-10 "
         "ResNets, to load the paper's released checkpoints)")
MODEL = "a run folder, a .pt state dict or a robustness checkpoint (files need --arch)"


class Help(argparse.HelpFormatter):
    """Every option's default in its help line, also where the help text does not mention it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        hidden = default is None or default is False or default is argparse.SUPPRESS or default == []
        if (not hidden and "%(default)" not in text
                and not isinstance(action, (argparse._HelpAction, argparse._VersionAction))
                and action.option_strings):
            shown = ",".join(f"{v:g}" for v in default) if isinstance(default, list) else default
            text += f" (default: {shown})"
        return text


def _sub(sub, name: str, **kw) -> argparse.ArgumentParser:
    return sub.add_parser(name, formatter_class=Help, **kw)


def build(version: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="notbugs", description="Adversarial examples: bugs or features? A lab.",
                                formatter_class=Help)
    p.add_argument("--version", action="version", version=f"notbugs {version}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = _sub(sub, "data", help="list or download datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    data_sub.add_parser("list", help="each dataset and where it was found or how to get it")
    dl = data_sub.add_parser("download", help="download a dataset into the user cache (sha256-checked)")
    dl.add_argument("name", choices=["fashion-mnist", "mnist"])

    _train(_sub(sub, "train", help="train a model (standard or PGD adversarial)"))
    _eval(_sub(sub, "eval", help="clean and robust accuracy of a model on a test set (PGD, AutoAttack)"))
    _reproduce(_sub(sub, "reproduce", help="experiments of the paper and its discussion, end to end, with "
                                           "results.json and report.html",
                    description="Run experiments by name (none: the paper's main experiment; 'all': every one); "
                                "'--list' says what each answers and costs."))
    _ablate(_sub(sub, "ablate", help="each part of the paper's recipe against the preset's departure: its effect on "
                                     "every claim's statistics over seeds",
                 description="Run the experiments (none: the paper's main experiment) over the seeds with each "
                             "part of the paper's recipe and with the preset's departure, on one store, and show "
                             "each part's effect (paper minus departure, paired by seed) on every test and premise."))
    _construct(_sub(sub, "construct", help="build D_R, D_NR, D_rand or D_det from a trained model"))
    _bench(_sub(sub, "bench", help="throughput of training, attacks and inversion, and their ratio to the floor"))

    rep = _sub(sub, "report", help="(re)write report.html from a results.json")
    rep.add_argument("results", type=Path, help="a results.json of 'notbugs reproduce'")
    rep.add_argument("--out", type=Path, default=None, help="where to write (default: report.html beside it)")

    st = _sub(sub, "store", help="check or prune the artifact store")
    st_sub = st.add_subparsers(dest="store_command", required=True)
    ver = st_sub.add_parser("verify", formatter_class=Help,
                            help="check every artifact's files against their recorded sizes and sha256")
    ver.add_argument("--cache", type=Path, required=True, help="the store's folder")
    ver.add_argument("--fix", action="store_true", help="remove damaged artifacts (the next run rebuilds them)")
    gc = st_sub.add_parser("gc", formatter_class=Help,
                           help="remove the artifacts no kept run's results use (a dry run unless --delete)")
    gc.add_argument("--cache", type=Path, required=True, help="the store's folder")
    gc.add_argument("--keep", type=Path, nargs="+", required=True, metavar="RUN",
                    help="run folders (or results.json files) whose artifacts stay, with everything they were built "
                         "from")
    gc.add_argument("--delete", action="store_true", help="remove them (without it, only say what would go)")
    return p


def _common(p, *, device: str | None = "cpu", seed: bool = True) -> None:
    if seed:
        p.add_argument("--seed", type=a.seed, default=0, help="seed of every random choice")
    p.add_argument("--device", default=device, help="cpu, cuda or cuda:N")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _train(t) -> None:
    t.add_argument("--dataset", default="fashion-mnist", help=DATASETS)
    t.add_argument("--arch", default="cnn", help=ARCHS)
    t.add_argument("--epochs", type=a.whole, default=10, help="passes over the training set")
    t.add_argument("--batch-size", type=a.count, default=128, help="images per optimiser step")
    t.add_argument("--optimizer", default="adam", choices=["adam", "sgd"], help="adam or sgd")
    t.add_argument("--lr", type=a.positive, default=None, help="learning rate (default 1e-3 for adam, 0.1 for sgd)")
    t.add_argument("--weight-decay", type=a.nonneg, default=0.0, help="L2 penalty on the weights")
    t.add_argument("--schedule", default="cosine", choices=["cosine", "step", "constant"], help="learning rate "
                                                                                                "schedule")
    t.add_argument("--no-augment", action="store_true", help="no random crops or flips")
    t.add_argument("--crop-padding", type=a.whole, default=2, help="pixels of padding of the random crop (at most a "
                                                                    "sixth of the image's side: 1 on 8x8 digits)")
    t.add_argument("--adv", type=a.norm, default=None, metavar="NORM",
                   help="PGD adversarial training in this norm (L2 or Linf); needs --eps")
    t.add_argument("--eps", type=a.nonneg, default=None, help="--adv: the training eps (a fraction such as 8/255 too)")
    t.add_argument("--steps", type=a.count, default=7, help="--adv: PGD steps per batch")
    t.add_argument("--step-size", type=a.nonneg, default=None, help="--adv: PGD step (default 2.5 * eps / steps)")
    t.add_argument("--random-start", action="store_true", help="--adv: start PGD at a random point of the ball")
    t.add_argument("--fgsm-rs", action="store_true",
                   help="fast adversarial training (Wong et al. 2020): one step of 1.25 * eps from a random start")
    t.add_argument("--amp", action="store_true", help="bfloat16 autocast (GPUs)")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--train-limit", type=a.count, default=None, help="train on this many images (a fixed random "
                                                                     "subset)")
    _common(t)
    t.add_argument("--out", type=Path, required=True, help="run folder to write (replaced when training ends)")


def _eval(e) -> None:
    e.add_argument("--model", type=Path, required=True, help=MODEL)
    e.add_argument("--dataset", default=None, help=f"default: the one named in the run's manifest; {DATASETS}")
    e.add_argument("--arch", default=None, help=f"architecture of a model file: {ARCHS}")
    e.add_argument("--norm", type=a.norm, default="l2", help="threat model: L2 or Linf")
    e.add_argument("--eps", type=a.eps_list, default=[0.5, 1.0, 1.5], help="comma-separated eps values (8/255 too)")
    e.add_argument("--steps", type=a.whole, default=20, help="PGD steps (step 2.5 * eps / steps)")
    e.add_argument("--limit", type=a.count, default=None, help="evaluate on this many test images (default: all)")
    e.add_argument("--sanity", action="store_true",
                   help="check each number for weak attacks and gradient masking (FGSM, more steps, restarts, "
                        "unbounded eps, zero/NaN gradients, black-box or transfer)")
    e.add_argument("--surrogate", type=Path, default=None, help="--sanity: transfer attacks from this model")
    e.add_argument("--autoattack", action="store_true",
                   help="also AutoAttack (Croce & Hein 2020, standard version: APGD-CE, APGD-T, FAB-T, Square, each "
                        "on the images still robust), with the accuracy after each attack")
    e.add_argument("--strong", action="store_true", help="the same as --autoattack")
    _common(e)
    e.add_argument("--out", type=Path, default=None, help="also write the results as JSON to this file")


def _reproduce(r) -> None:
    r.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: paper; all: every one)")
    r.add_argument("--list", action="store_true", help="list the experiments, their questions, presets and costs")
    r.add_argument("--preset", default=None, help="quick, full, cifar10 or tiny (default: the config's, else quick)")
    r.add_argument("--config", type=Path, default=None,
                   help="a TOML or JSON file of preset fields to change (a results.json: the settings of that run)")
    r.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides",
                   help="change one preset field, e.g. inversion.steps=1000 or experiments.nakkiran.det_images=5000; "
                        "repeatable, applied after --config")
    r.add_argument("--dataset", default=None, help=f"override the preset's dataset: {DATASETS}")
    r.add_argument("--recipe", default=None, metavar="PARTS",
                   help="the paper's recipe where the presets depart from it: 'paper' (all), or parts, "
                        "comma-separated: augmented-models, sgd-fresh, paper-inversion, paper-relabel, resnet50 "
                        "(cifar10); applied before --config and --set")
    r.add_argument("--seed", type=a.seed, default=None, help="seed of the run (default: the config's, else 0)")
    r.add_argument("--seeds", default=None,
                   help="run once per seed (0,1,2 or 0-4) and judge each claim over all of them, numbers as mean ± sd")
    r.add_argument("--workers", type=a.count, default=1,
                   help="--seeds: run this many seeds at once, each in its own process (the store coordinates them)")
    r.add_argument("--executor", choices=["local", "slurm"], default="local",
                   help="--seeds: local processes, or one Slurm job per seed (through submitit; the store must be on "
                        "a filesystem every node shares)")
    r.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE",
                   help="a submitit Slurm parameter for --executor slurm, e.g. partition=gpu, time=600 (minutes), "
                        "gpus_per_node=1, cpus_per_task=8; repeatable")
    r.add_argument("--std-model", type=Path, default=None, help=f"use this standard model instead of training one: "
                                                                f"{MODEL}")
    r.add_argument("--robust-model", type=Path, default=None,
                   help="use this robust model instead of training one, e.g. the paper's released CIFAR-10 model")
    r.add_argument("--model-arch", default=None, help=f"architecture of --std-model/--robust-model files: {ARCHS}")
    r.add_argument("--out", type=Path, default=None, help="run folder (default runs/<preset>-<dataset>-seed<seed>)")
    r.add_argument("--cache", type=Path, default=None,
                   help="artifact store shared between runs (default $NOTBUGS_CACHE, else OUT/cache)")
    r.add_argument("--rebuild", action="append", default=[], metavar="NAME",
                   help="build again a step kind (model, dataset, leakage, eval, measure, picture), an experiment's "
                        "steps (e.g. stress) or all, and everything that depends on them; repeatable")
    r.add_argument("--read-only", action="store_true",
                   help="build nothing: stop with an error at the first step the store lacks or finds damaged")
    r.add_argument("--precision", choices=["auto", "fp32", "bf16"], default=None,
                   help="arithmetic of every pass (default: the preset's, auto = fp32 on every device: bf16 has not "
                        "been measured to speed up a reproduction with its premises within fp32's intervals "
                        "anywhere; bf16 on request)")
    _common(r, device=None, seed=False)


def _ablate(b) -> None:
    b.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: paper; all: every one)")
    b.add_argument("--preset", default=None, help="quick, full, cifar10 or tiny (default: the config's, else quick)")
    b.add_argument("--seeds", default="0,1,2", help="seeds, each run on both sides of every part (0,1,2 or 0-4)")
    b.add_argument("--parts", default=None, metavar="PARTS",
                   help="the parts to ablate, comma-separated, or 'paper' (default: every part that applies): "
                        "augmented-models, sgd-fresh, paper-inversion, paper-relabel, resnet50 (cifar10)")
    b.add_argument("--config", type=Path, default=None, help="a TOML or JSON file of preset fields, on both sides")
    b.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides",
                   help="change one preset field on both sides (a part's own fields are the part's); repeatable")
    b.add_argument("--dataset", default=None, help=f"override the preset's dataset: {DATASETS}")
    b.add_argument("--out", type=Path, default=None, help="folder to write (default runs/ablate-<preset>-seeds<S>)")
    b.add_argument("--cache", type=Path, default=None,
                   help="artifact store shared with other runs (default $NOTBUGS_CACHE, else OUT/cache)")
    _common(b, device=None, seed=False)


def _construct(c) -> None:
    c.add_argument("kind", choices=["robust", "nonrobust", "rand", "det"],
                   help="robust/nonrobust: invert a model's representation (D_R, D_NR); rand/det: relabel by a "
                        "targeted attack (D_rand, D_det)")
    c.add_argument("--model", type=Path, required=True,
                   help=f"robust model for 'robust', standard model for the others: {MODEL}")
    c.add_argument("--robust-model", type=Path, default=None,
                   help="rand/det: a robust model for the leakage check")
    c.add_argument("--arch", default=None, help=f"architecture of a --model file: {ARCHS}")
    c.add_argument("--robust-arch", default=None, help="architecture of a --robust-model file (default: --arch)")
    c.add_argument("--features-layer", default=None, metavar="NAME",
                   help="robust/nonrobust: invert the output of this submodule (e.g. body.3) instead of the "
                        "architecture's representation")
    c.add_argument("--dataset", default=None, help=f"default: the model's dataset; {DATASETS}")
    c.add_argument("--limit", type=a.count, default=None, help="build from this many training images (default: all)")
    c.add_argument("--steps", type=a.count, default=None, help="default 1000 (inversion) or 100 (attack)")
    c.add_argument("--step-size", type=a.positive, default=None,
                   help="inversion: 0.1 (the paper's); attack: 2.5 * eps / steps, as every attack here")
    c.add_argument("--norm", type=a.norm, default="l2", help="rand/det: threat model of the attack, L2 or Linf")
    c.add_argument("--eps", type=a.nonneg, default=None,
                   help="rand/det: eps of the targeted attack (default: the lab's for the dataset, as its robust "
                        "model's training eps: CIFAR-10 0.5, Fashion-MNIST 2, MNIST 3, digits 1 in L2; "
                        "CIFAR-10 8/255 in Linf)")
    c.add_argument("--noise-std", type=a.nonneg, default=0.0, help="rand/det: average the attack over Gaussian noise")
    c.add_argument("--noise-samples", type=a.count, default=1, help="--noise-std: noise draws per step")
    c.add_argument("--start", choices=["image", "noise"], default="image", help="robust/nonrobust: where inversion "
                                                                                "starts")
    _common(c)
    c.add_argument("--out", type=Path, required=True, help="folder to write (replaced when it is built)")


def _bench(b) -> None:
    b.add_argument("--dataset", default="fashion-mnist", help="image shape to bench (random data of that shape)")
    b.add_argument("--arch", default="cnn", help=ARCHS)
    b.add_argument("--batch-size", type=a.count, default=128, help="images per pass")
    b.add_argument("--steps", type=a.count, default=7, help="PGD steps (training, attack, evaluation)")
    b.add_argument("--inversion-steps", type=a.count, default=20, help="steps of the timed inversion")
    b.add_argument("--autoattack", action="store_true",
                   help="also time AutoAttack's four attacks on a batch, beside PGD-20")
    b.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    b.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    b.add_argument("--compile", action="store_true", help="torch.compile the model")
    b.add_argument("--no-channels-last", action="store_true", help="contiguous NCHW weights, to measure channels_last")
    b.add_argument("--seconds", type=a.positive, default=2.0, help="time each figure over at least this long")
    b.add_argument("--timings", type=Path, default=None, help="also show the per-step times of a results.json")
    b.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    b.add_argument("--passes", action="store_true",
                   help="also invert real images with each optimiser at each budget of passes, with a preset's "
                        "trained models from --cache: the fewest passes to the inversion's premise")
    b.add_argument("--cache", type=Path, default=Path("runs/quick/cache"),
                   help="--passes: the store holding (or to hold) the preset's standard and robust models "
                        "(default: make run's)")
    b.add_argument("--preset", default="quick", help="--passes: the preset whose models and inversion settings to use")
    b.add_argument("--seed", type=a.seed, default=0, help="--passes: the preset's seed")
    b.add_argument("--images", type=a.count, default=200, help="--passes: training images inverted per run")
    b.add_argument("--budgets", type=a.counts, default=[25, 50, 100, 250],
                   help="--passes: the budgets of passes, e.g. 25,50,100,250")
    b.add_argument("--optimisers", type=a.names, default=("paper", "cosine", "momentum", "adam"),
                   help="--passes: among paper (0.1 x constant), cosine (1.0 decaying), momentum (0.9, 0.1 decaying: "
                        "the presets'), adam (0.3 decaying)")
    b.add_argument("--settings", type=a.names, default=("d_nr:image", "d_r:image", "d_nr:noise", "d_r:noise"),
                   help="--passes: the datasets and starts to invert")
