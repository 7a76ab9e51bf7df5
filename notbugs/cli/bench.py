"""Throughput of the expensive loops, each beside its floor, measured in one run on one machine.

The floor of PGD-k adversarial training is what it cannot avoid: k input-gradient
passes (forward + backward to the input, parameters frozen) plus one training
step, each timed alone on the same model and batch. The ratio of the real loop
(``train`` with ``adv`` set) to that floor is the overhead notbugs adds; the
same holds for the attack (k input-gradient passes) and the inversion (one
feature-gradient pass per step). Data is random with the dataset's shape: the
bench measures speed, not accuracy, and needs no dataset on disk. How many
passes an inversion needs is a question of accuracy: ``--passes`` answers it
on real images with trained models (``bench_passes``).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import replace

import torch
from torch.nn import functional as F

from ..attacks import frozen, pgd
from ..core.errors import NotbugsError, NotbugsWarning
from ..core.precision import native_bf16
from ..evaluation.evaluate import robust_accuracy
from ..frame.presets import get_preset
from ..methods.construct import invert
from ..methods.train import TrainConfig, train
from ..models import build_model, model_spec

SHAPES = {  # (channels, height, width), classes
    "fashion-mnist": ((1, 28, 28), 10),
    "mnist": ((1, 28, 28), 10),
    "cifar10": ((3, 32, 32), 10),
    "digits": ((1, 8, 8), 10),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn, device: torch.device, min_seconds: float) -> float:
    """Mean seconds per call over at least ``min_seconds`` (and 3 calls)."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        _sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and calls >= 3:
            return elapsed / calls


def interleaved(figures: dict, device: torch.device, min_seconds: float, rounds: int = 3) -> dict:
    """Best of ``rounds`` for each figure, the figures taken in turn within each round.

    A shared machine drifts by 10-20 % over seconds; timing a loop and its floor
    in alternation, and keeping each one's fastest round, keeps that drift out
    of their ratio.
    """
    for fn in figures.values():  # warm-up: allocations, oneDNN primitive caches, compilation
        fn()
    _sync(device)
    best = {name: float("inf") for name in figures}
    for _ in range(rounds):
        for name, fn in figures.items():
            best[name] = min(best[name], seconds_per_call(fn, device, min_seconds / rounds))
    return best


def run_bench(*, dataset: str = "fashion-mnist", arch: str = "cnn", batch_size: int = 128, steps: int = 7,
              inversion_steps: int = 20, device: str = "cpu", amp: bool = False, compile: bool = False,
              channels_last: bool = True, min_seconds: float = 2.0, seed: int = 0, autoattack: bool = False) -> dict:
    """Measure every figure of ``notbugs bench``; return them as one flat-ish dict. ``autoattack`` adds the
    seconds per image of AutoAttack's four attacks and of PGD-20 on the same batch."""
    if dataset not in SHAPES:
        raise NotbugsError(f"no shape known for '{dataset}'; use one of {', '.join(SHAPES)}")
    if batch_size < 1 or steps < 1 or inversion_steps < 1 or not (math.isfinite(min_seconds) and min_seconds > 0):
        raise NotbugsError("batch size, steps and inversion steps must be >= 1 and seconds > 0")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise NotbugsError("--device cuda but no CUDA device is visible; use --device cpu")
    shape, classes = SHAPES[dataset]
    torch.manual_seed(seed)
    spec = model_spec(arch, shape, classes, [0.5] * shape[0], [0.25] * shape[0])
    model = build_model(spec).to(dev)
    if not channels_last:  # build_model's default for conv nets; off only to measure what it buys
        model = model.to(memory_format=torch.contiguous_format)
    x = torch.rand(batch_size, *shape, device=dev)
    y = torch.randint(0, classes, (batch_size,), device=dev)
    net = torch.compile(model) if compile else model

    def autocast():
        return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp)

    eps = 1.0

    # the floors: the same passes back to back, nothing else (timed per pass)
    def input_grads():
        with frozen(model), torch.enable_grad(), autocast():
            for _ in range(steps):
                xa = x.detach().requires_grad_(True)
                torch.autograd.grad(F.cross_entropy(net(xa), y), xa)

    def feature_grads():
        with frozen(model), torch.enable_grad(), autocast():
            for _ in range(inversion_steps):
                xa = x.detach().requires_grad_(True)
                torch.autograd.grad(model.features(xa).square().sum(), xa)

    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step():
        model.train()
        with autocast():
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def attack():
        with autocast():
            pgd(net, x, y, norm="l2", eps=eps, steps=steps)

    presets = get_preset("quick").inversion  # the presets' inversion: its optimiser, step, schedule and momentum
    presets_inversion = dict(optimizer=presets.optimizer, step_size=presets.step_size, schedule=presets.schedule,
                             momentum=presets.momentum)

    def inversion():
        with autocast():
            invert(model, x, x.flip(0), steps=inversion_steps, **presets_inversion)

    def inversion_adam():  # the same passes, Adam's update instead of a normalised step
        with autocast():
            invert(model, x, x.flip(0), steps=inversion_steps, step_size=0.1, optimizer="adam")

    def inversion_other():  # the other arithmetic (bf16 where the bench runs fp32, and back), for their ratio
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=not amp):
            invert(model, x, x.flip(0), steps=inversion_steps, **presets_inversion)

    def evaluation():
        with autocast():
            robust_accuracy(net, x, y, norm="l2", eps=eps, steps=steps, batch_size=batch_size)

    batches = 10  # the real training loop, with its shuffling and bookkeeping, over this many batches
    data_x = torch.rand(batch_size * batches, *shape)
    data_y = torch.randint(0, classes, (len(data_x),))
    base = TrainConfig(epochs=1, batch_size=batch_size, crop_padding=0, flip=False, device=device, amp=amp,
                       compile=compile, seed=seed)
    adv = replace(base, adv="l2", eps=eps, steps=steps)

    def loop(cfg):
        def run():
            with warnings.catch_warnings():  # random data: a model at chance is what the bench expects
                warnings.simplefilter("ignore", NotbugsWarning)
                train(model, data_x, data_y, cfg, progress=False)
        return run

    t = interleaved({"input_grad": input_grads, "feature_grad": feature_grads, "train_step": train_step,
                     "attack": attack, "inversion": inversion, "inversion_adam": inversion_adam,
                     "inversion_other": inversion_other, "evaluation": evaluation,
                     "standard_training": loop(base), "pgd_training": loop(adv)}, dev, min_seconds)
    t["input_grad"] /= steps
    t["feature_grad"] /= inversion_steps
    t["standard_training"] /= batches
    t["pgd_training"] /= batches
    floor = steps * t["input_grad"] + t["train_step"]

    def per_image(seconds: float) -> float:
        return batch_size / seconds

    out = {
        "dataset_shape": list(shape), "arch": arch, "batch_size": batch_size, "pgd_steps": steps,
        "device": _device_name(dev), "amp": amp, "compile": compile, "channels_last": channels_last,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "seconds_per_batch": t,
        "standard_training_images_per_second": per_image(t["standard_training"]),
        "standard_training_floor_ratio": t["standard_training"] / t["train_step"],
        "pgd_training_images_per_second": per_image(t["pgd_training"]),
        "pgd_train_floor_seconds_per_batch": floor,
        "pgd_train_floor_ratio": t["pgd_training"] / floor,
        "attack_images_per_second": per_image(t["attack"]),
        "attack_image_steps_per_second": per_image(t["attack"]) * steps,
        "attack_floor_ratio": t["attack"] / (steps * t["input_grad"]),
        "inversion_image_steps_per_second": per_image(t["inversion"]) * inversion_steps,
        "inversion_floor_ratio": t["inversion"] / (inversion_steps * t["feature_grad"]),
        "inversion_adam_image_steps_per_second": per_image(t["inversion_adam"]) * inversion_steps,
        # seconds of a bf16 inversion over an fp32 one (below 1: bf16 is faster here)
        "inversion_bf16_over_fp32": (t["inversion"] / t["inversion_other"]) if amp
        else (t["inversion_other"] / t["inversion"]),
        "native_bf16": native_bf16(device),
        "evaluation_images_per_second": per_image(t["evaluation"]),
    }
    if autoattack:
        out["autoattack_seconds_per_image"] = autoattack_cost(model, x, eps=eps)
    return out


def autoattack_cost(model, x: torch.Tensor, *, eps: float) -> dict:
    """Seconds per image of PGD-20 and of each of AutoAttack's attacks, every image of the batch attacked by
    every attack (labels: the model's own predictions; none is skipped as already fooled, so this is the cost on
    images that stay robust: the worst case). Square and FAB-T stop early on an image they fool."""
    from ..evaluation.autoattack import components

    dev = x.device
    with frozen(model), torch.no_grad():
        logits = model(x)
    y = logits.argmax(1)
    figures = {"pgd-20": lambda: pgd(model, x, y, norm="l2", eps=eps, steps=20)}
    for name, attack in components(model, norm="l2", eps=eps, n_classes=logits.shape[1]):
        figures[name] = lambda attack=attack: attack(x, y)
    out = {}
    for name, fn in figures.items():
        start = time.perf_counter()
        with frozen(model):
            fn()
        _sync(dev)
        out[name] = (time.perf_counter() - start) / len(x)
    out["autoattack_over_pgd20"] = sum(v for k, v in out.items() if k != "pgd-20") / out["pgd-20"]
    return out


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"cpu ({torch.get_num_threads()} threads)"


def format_table(result: dict) -> str:
    """The bench as a small text table: throughput and ratio to the floor."""
    rows = [
        ("standard training", f"{result['standard_training_images_per_second']:,.0f} img/s",
         f"{result['standard_training_floor_ratio']:.2f}x train step"),
        (f"PGD-{result['pgd_steps']} training", f"{result['pgd_training_images_per_second']:,.0f} img/s",
         f"{result['pgd_train_floor_ratio']:.2f}x floor"),
        (f"PGD-{result['pgd_steps']} attack", f"{result['attack_image_steps_per_second']:,.0f} img-steps/s",
         f"{result['attack_floor_ratio']:.2f}x floor"),
        ("inversion", f"{result['inversion_image_steps_per_second']:,.0f} img-steps/s",
         f"{result['inversion_floor_ratio']:.2f}x floor"),
        ("inversion (Adam)", f"{result['inversion_adam_image_steps_per_second']:,.0f} img-steps/s", ""),
        ("inversion in bf16", "", f"{result['inversion_bf16_over_fp32']:.2f}x the fp32 time "
                                  f"(bf16 {'native' if result['native_bf16'] else 'emulated'} here)"),
        (f"robust eval (PGD-{result['pgd_steps']})", f"{result['evaluation_images_per_second']:,.0f} img/s", ""),
    ]
    head = (f"{result['arch']} on {tuple(result['dataset_shape'])} images, batch {result['batch_size']}, "
            f"{result['device']}, amp={result['amp']}, compile={result['compile']}, "
            f"channels_last={result.get('channels_last', True)}")
    aa = result.get("autoattack_seconds_per_image")
    if aa:
        rows += [(f"  {name}", f"{1e3 * seconds:,.2f} ms/img", "") for name, seconds in aa.items()
                 if name != "autoattack_over_pgd20"]
        attacks = len(aa) - 2  # beside PGD-20 and the ratio
        rows.append((f"AutoAttack ({attacks} attacks)", "", f"{aa['autoattack_over_pgd20']:.1f}x PGD-20 per image"))
    width = max(len(r[0]) for r in rows)
    return "\n".join([head] + [f"  {a:<{width}}  {b:>20}  {c}" for a, b, c in rows])
