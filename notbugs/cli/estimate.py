"""What a preset's paper experiment costs on a GPU, estimated from counted passes (not measured).

Each shared step is counted in passes through its model (a training step is a forward and a backward pass,
about 3 forward passes of work; an attack or inversion step is a forward and an input-gradient backward, about
2), times the images it touches, times the multiply-adds of one forward pass of that architecture, counted by
hooks on the preset's own model (convolutions and linear layers: the rest is small). The seconds assume a
sustained rate the caller gives (``--tflops``; the default, 60 TFLOP/s, is about a quarter of an H100's dense
bf16 peak, a rate small ResNets at batch 128-512 reach under autocast) and are an estimate until a card
measures them (``benchmarks/gpu_full.sh``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import build_model, model_spec

TRAIN_PASSES, ATTACK_PASSES = 3.0, 2.0
DEFAULT_TFLOPS = 60.0


def forward_flops(arch: str, shape: tuple[int, ...], classes: int = 10, **options) -> float:
    """Floating-point operations (2 per multiply-add) of one forward pass of one image."""
    model = build_model(model_spec(arch, shape, classes, [0.5] * shape[0], [0.25] * shape[0], **options)).eval()
    total = [0.0]

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total[0] += 2.0 * k * output.numel()
        elif isinstance(module, nn.Linear):
            total[0] += 2.0 * module.in_features * module.out_features * (output.numel() // module.out_features)

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return total[0]


def paper_passes(preset, train_images: int, test_images: int) -> dict[str, float]:
    """Image-passes (forward-pass equivalents) of each shared step of the paper experiment at ``preset``."""
    def limit(kind: str) -> int:
        return min(train_images, preset.kind_limits.get(kind) or preset.construct_limit or train_images)

    adv_n = min(train_images, preset.adv_limit or train_images)
    std_n = min(train_images, preset.std_limit or train_images)
    test_n = min(test_images, preset.eval_limit or test_images)
    steps = {
        "train std": preset.std.epochs * std_n * TRAIN_PASSES,
        "train adv": preset.adv.epochs * adv_n * (preset.adv.steps * ATTACK_PASSES + TRAIN_PASSES),
        "construct d_r": limit("robust") * preset.inversion.steps * ATTACK_PASSES,
        "construct d_nr": limit("nonrobust") * preset.inversion.steps * ATTACK_PASSES,
        "construct d_rand": limit("rand") * preset.rand.steps * ATTACK_PASSES,
        "construct d_det": limit("det") * preset.det.steps * ATTACK_PASSES,
    }
    for kind in ("robust", "nonrobust", "rand"):
        steps[f"train {kind}"] = preset.fresh.epochs * limit(kind) * TRAIN_PASSES
    steps["train det"] = preset.fresh_det.epochs * limit("det") * TRAIN_PASSES
    steps["evaluate (6 models)"] = 6 * (test_images + len(preset.eval_eps) * test_n * preset.eval_steps
                                        * ATTACK_PASSES)
    return steps


def paper_cost(preset, shape=(3, 32, 32), train_images: int = 50000, test_images: int = 10000,
               tflops: float = DEFAULT_TFLOPS) -> dict:
    """Seconds per step and in all on one GPU at ``tflops`` sustained, with the counts they come from."""
    flops = forward_flops(preset.arch, shape, **preset.arch_options)
    passes = paper_passes(preset, train_images, test_images)
    seconds = {step: n * flops / (tflops * 1e12) for step, n in passes.items()}
    return {"arch": preset.arch, "forward_gflops": flops / 1e9, "tflops": tflops, "passes": passes,
            "seconds": seconds, "total_seconds": sum(seconds.values())}
