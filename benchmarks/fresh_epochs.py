"""How long the fresh models train, and how robust D_R's and D_NR's models come out (issue 45, item 4).

The paper trains its fresh models on D_R and D_NR for about 150-200 epochs; a CPU preset trains them for 10 or 15.
The lab once saw D_R's model lose robustness with training (43.5 % robust at 5 epochs, 26.5 % at 15, L2 eps 1): if
the headline gap fades with training, this curve says where. For each seed, D_R and D_NR are read from the preset's
store (built there if missing, as the paper experiment builds them); a fresh model trains on each for every number
of epochs, with and without robustness' augmentation, the preset's fresh recipe otherwise (its optimiser, its
schedule over the given epochs), and is evaluated as the paper experiment evaluates its models (robust accuracy at
the main eps on the same test images for every model). Every model and evaluation is a store step: a rerun, or a
reproduction on the same store, reads them.

    python benchmarks/fresh_epochs.py --preset quick --seeds 30-34 --epochs 5,10,20,40 --cache runs/cache

One JSON line per seed, augmentation and epochs (D_R's and D_NR's clean and robust accuracy, the gap); then the
gap's mean over the seeds with its 95 % Student-t interval, per augmentation and epochs.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from notbugs.frame.presets import PLAIN, ROBUSTNESS_AUGMENT
from notbugs.running.runner import make_preset, open_lab
from verdicts import over_seeds, parse_seeds

AUGMENT = {"on": ROBUSTNESS_AUGMENT, "off": dict(PLAIN, jitter=0.0, rotation=0.0)}


def point(preset, cache, seed: int, epochs: int, augment: str) -> dict:
    p = make_preset(preset, seed=seed)
    p = replace(p, fresh=replace(p.fresh, epochs=epochs, **AUGMENT[augment]))
    lab = open_lab(p, cache, progress=False)
    row = {"seed": seed, "epochs": epochs, "augment": augment}
    for kind, name in (("robust", "d_r"), ("nonrobust", "d_nr")):
        ev = lab.evaluation(name, lab.fresh(kind, lab.dataset(kind), name))
        row[f"{name}_clean"] = float(ev["clean_accuracy"])
        row[f"{name}_robust"] = float(ev["robust_accuracy"][p.main_eval_eps])
    row["gap"] = row["d_r_robust"] - row["d_nr_robust"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--seeds", default="30,31,32")
    ap.add_argument("--epochs", default="5,10,20,40")
    ap.add_argument("--augment", default="on,off",
                    help="on, off or on,off (robustness' augmentation of the fresh models on D_R and D_NR)")
    ap.add_argument("--cache", required=True, help="the store the paper experiment's runs use")
    ap.add_argument("--out", default=None, help="also write the JSON lines here")
    args = ap.parse_args()
    seeds, epochs = parse_seeds(args.seeds), [int(e) for e in args.epochs.split(",")]
    rows = []
    for seed in seeds:
        for augment in args.augment.split(","):
            for e in epochs:
                start = time.perf_counter()
                row = point(args.preset, args.cache, seed, e, augment)
                row["seconds"] = round(time.perf_counter() - start, 1)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")
    print(f"\n{'augment':<8} {'epochs':>6} {'D_R robust':>11} {'D_NR robust':>12}  gap [95 %] over seeds")
    for augment in args.augment.split(","):
        for e in epochs:
            mine = [r for r in rows if r["augment"] == augment and r["epochs"] == e]
            gap = over_seeds([r["gap"] for r in mine])
            ci = f" [{100 * gap.ci[0]:.1f}, {100 * gap.ci[1]:.1f}]" if gap is not None and gap.ci else ""
            mean = lambda k: 100 * sum(r[k] for r in mine) / len(mine)  # noqa: E731
            print(f"{augment:<8} {e:>6} {mean('d_r_robust'):>10.1f}% {mean('d_nr_robust'):>11.1f}%  "
                  f"{100 * float(gap):.1f}{ci} ({len(mine)} seeds)")


if __name__ == "__main__":
    main()
