"""Early-stopped inversion against the paper's fixed 1000 steps: time saved and D_R's quality.

Builds D_R twice from the same robust model and images, once with the paper's
schedule (1000 L2-normalized steps of 0.1) and once stopping each example when
its feature distance fell by less than --tol over --patience steps; trains the
quick preset's fresh model on each and reports clean and robust accuracy on
the original test set. One JSON line per variant.

    python benchmarks/early_stop_inversion.py --robust-model RUN_DIR --images 2000
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from notbugs.core.seeding import seed_everything
from notbugs.data import load_dataset, subset
from notbugs.evaluation.evaluate import evaluate
from notbugs.frame.presets import get_preset
from notbugs.methods.construct import InversionConfig, feature_dataset
from notbugs.methods.train import train
from notbugs.models import build_model
from notbugs.models.checkpoint import load_model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--robust-model", required=True, help="run folder of an adversarially trained model")
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--step-size", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--tol", type=float, default=0.005)
    p.add_argument("--eval-images", type=int, default=500)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="early_stop_inversion.jsonl")
    args = p.parse_args()

    model, info = load_model(args.robust_model)
    data = load_dataset(info["dataset"])
    preset = get_preset("quick")
    x, y = subset(data.train_x, data.train_y, args.images, 0)
    tx, ty = subset(data.test_x, data.test_y, args.eval_images, 0)
    paper = InversionConfig(steps=args.steps, step_size=args.step_size)
    for name, cfg in [("fixed", paper), ("early_stop", replace(paper, stop_patience=args.patience, stop_tol=args.tol))]:
        start = time.perf_counter()
        built = feature_dataset(model, x, y, cfg, device=args.device, desc=name)
        seconds = time.perf_counter() - start
        seed_everything(0)
        fresh = build_model(info["spec"])
        train(fresh, built["x"], built["y"], replace(preset.fresh, device=args.device), progress=False)
        res = evaluate(fresh, tx, ty, norm="l2", eps_list=[0.5, 1.0], steps=20, device=args.device, progress=False)
        row = {"variant": name, "images": len(x), "inversion_seconds": seconds, **built["stats"],
               "d_r_clean_accuracy_subset": res["clean_accuracy"], "d_r_robust_accuracy": res["robust_accuracy"],
               "settings": cfg.to_dict()}
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
