"""Ilyas et al. 2019, sections 3.1-3.2: the robust / non-robust dataset experiments.

1. Train a standard model and an adversarially trained (robust) model on D.
2. Build D_R (inversion through the robust model), D_NR (through the
   standard model), D_rand and D_det (targeted attacks on the standard model,
   relabelled to the target).
3. Train a fresh model on each with plain standard training.
4. Evaluate every model on the *original* test set, clean and under attack.
5. Check the paper's claims on the numbers.
Every step is a cached artifact (``pipeline.Store``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from ..checkpoint import load_model
from ..data import ImageData, load_dataset
from ..evaluate import accuracy, evaluate
from ..grid import save_grid
from ..pipeline import Store
from ..reference import all_reference
from ..sanity import sanity_checks
from ..steps import KINDS, TITLES, build_dataset, save_dataset, subset, train_model
from ..storage import load_tensors
from .claims import check_claims
from .presets import Preset

MODELS = ["std", "adv", "d_r", "d_nr", "d_rand", "d_det"]


def _say(msg: str, progress: bool) -> None:
    if progress:
        print(msg, flush=True)


def _train_step(store: Store, data: ImageData, preset: Preset, cfg, label: str, source: dict, limit, progress) -> tuple[Path, dict]:
    cfg = replace(cfg, device=preset.device)  # the preset's device (or --device) decides, for every model
    config = {"source": source, "arch": preset.arch, "train": cfg.to_dict(), "limit": limit}

    def make(folder: Path):
        info = train_model(data, preset.arch, cfg, folder, train_limit=limit, test_dataset=preset.dataset,
                           progress=progress)
        return {"test_clean_accuracy": info["metrics"]["test_clean_accuracy"]}

    return store.get("model", config, make, label)


def _load_constructed(folder: Path, data: ImageData, name: str) -> ImageData:
    t = load_tensors(folder / "data.safetensors")
    return ImageData(f"{data.name}:{name}", t["x"], t["y"], data.test_x, data.test_y, data.classes,
                     hflip=data.hflip, source=str(folder))


def reproduce(preset: Preset, *, out: Path, cache: Path | None = None, progress: bool = True) -> dict:
    """Run the whole experiment; return the results dict (see the README's results contract)."""
    start = time.perf_counter()
    store = Store(cache or Path(out) / "cache")
    data = load_dataset(preset.dataset)
    seed = preset.std.seed
    dev = preset.device
    steps_total = 2 + 2 * 4 + len(MODELS)
    done = [0]

    def step(name: str) -> None:
        done[0] += 1
        _say(f"[{done[0]}/{steps_total}] {name}  ({time.perf_counter() - start:.0f} s elapsed)", progress)

    base = {"dataset": data.name, "seed": seed}
    step("standard model on D")
    std_dir, _ = _train_step(store, data, preset, preset.std, "train std", base, preset.std_limit, progress)
    step("robust (adversarially trained) model on D")
    adv_dir, _ = _train_step(store, data, preset, preset.adv, "train adv", base, preset.adv_limit, progress)
    std_model, _ = load_model(std_dir)
    adv_model, _ = load_model(adv_dir)

    limits = {kind: preset.construct_limit for kind in KINDS}
    if preset.det_limit is not None:
        limits["det"] = preset.det_limit
    samples_d = Path(out) / "samples_d.png"
    save_grid(samples_d, *subset(data.train_x, data.train_y, 64, seed), data.classes, "D (source images)")
    built, sizes = {}, {}
    for kind, name in KINDS.items():
        step(f"construct {TITLES[name]}")
        source_dir, source_model = (adv_dir, adv_model) if kind == "robust" else (std_dir, std_model)
        cfg = {"robust": preset.inversion, "nonrobust": preset.inversion, "rand": preset.rand, "det": preset.det}[kind]
        config = {"builder": kind, "source_model": source_dir.name, "robust_model": adv_dir.name,
                  "data": base, "limit": limits[kind], "settings": cfg.to_dict()}
        # every dataset starts from a prefix of one fixed shuffle of D
        x_c, y_c = subset(data.train_x, data.train_y, limits[kind], seed)
        sizes[name] = len(x_c)

        def make(folder: Path, work: Path, kind=kind, cfg=cfg, source_model=source_model, config=config, x_c=x_c,
                 y_c=y_c):
            tensors, stats = build_dataset(kind, source_model, x_c, y_c, data.num_classes, cfg,
                                           robust_model=adv_model, device=dev, progress=progress, work=work)
            save_dataset(folder, tensors, stats, data.classes, kind, config)
            return stats

        built[name] = store.get("dataset", config, make, f"construct {name}", resumable=True)

    fresh_dirs = {"std": std_dir, "adv": adv_dir}
    for name, (folder, _) in built.items():
        step(f"fresh model on {TITLES[name]}")
        cfg = preset.fresh_det if name == "d_det" else preset.fresh
        constructed = _load_constructed(folder, data, name)
        fresh_dirs[name], _ = _train_step(store, constructed, preset, cfg, f"train {name}",
                                          {"constructed": folder.name, "seed": seed}, None, progress)

    evals = {}
    for name in MODELS:
        step(f"evaluate {name} on the original test set")
        config = {"model": fresh_dirs[name].name, "norm": "l2", "eps": preset.eval_eps, "steps": preset.eval_steps,
                  "limit": preset.eval_limit, "batch_size": preset.eval_batch_size, "seed": seed, "sanity": [preset.sanity_limit, preset.sanity_steps_factor,
                                                                     preset.sanity_restarts]}

        def make(folder: Path, name=name):
            model = load_model(fresh_dirs[name])[0].to(dev)
            x, y = subset(data.test_x, data.test_y, preset.eval_limit, seed)
            res = evaluate(model, x, y, norm="l2", eps_list=preset.eval_eps, steps=preset.eval_steps, seed=seed,
                           device=dev, progress=progress, batch_size=preset.eval_batch_size)
            res["clean_accuracy"] = accuracy(model, data.test_x, data.test_y, device=dev)  # all test images
            # every reported number gets the attack checks; the standard model is the transfer surrogate
            xs, ys = x[:preset.sanity_limit], y[:preset.sanity_limit]
            res["sanity"] = {f"{eps:g}": sanity_checks(
                model, xs, ys, norm="l2", eps=eps, steps=preset.eval_steps, step_factor=preset.sanity_steps_factor,
                restarts=preset.sanity_restarts, surrogate=None if name == "std" else std_model, seed=seed,
                unbounded=eps == preset.main_eval_eps, device=dev) for eps in preset.eval_eps}
            return res

        _, info = store.get("eval", config, make, f"evaluate {name}")
        evals[name] = info["summary"]

    results = {
        "dataset": data.name, "preset": preset.name, "seed": seed, "arch": preset.arch, "num_classes": data.num_classes,
        "threat": {"norm": "l2", "train_eps": preset.adv.eps, "eval_eps": preset.eval_eps,
                   "main_eval_eps": preset.main_eval_eps, "eval_steps": preset.eval_steps,
                   "eval_images": preset.eval_limit or len(data.test_x)},
        "models": {name: {"clean_accuracy": evals[name]["clean_accuracy"],
                          "robust_accuracy": evals[name]["robust_accuracy"],
                          "sanity_flags": {eps: rep["flags"] for eps, rep in evals[name]["sanity"].items()},
                          "sanity": evals[name]["sanity"]} for name in MODELS},
        "datasets": {name: {**info["summary"], "size": sizes[name],
                            "artifact": str(folder)} for name, (folder, info) in built.items()},
        "settings": preset.to_dict(),
        "reference": all_reference(),
        "artifacts": {"store": str(store.root), "samples_d": str(samples_d),
                      "models": {k: str(v) for k, v in fresh_dirs.items()}},
        "steps": store.log,
    }
    results["claims"] = check_claims(results)
    results["timings"] = {entry["step"]: entry["build_seconds"] for entry in store.log}
    results["timings"]["total_this_run"] = round(time.perf_counter() - start, 2)
    results["timings"]["total_uncached"] = round(sum(entry["build_seconds"] for entry in store.log), 2)
    return results

