"""Architectures by name. ``build_model(spec)`` rebuilds any model from its checkpoint's spec.

A spec is a plain dict: arch, image_shape (C, H, W), num_classes, mean, std,
and optional width keywords of the architecture.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.errors import NotbugsError
from .base import Classifier, Normalize
from .madry import madry_resnet18_body, madry_resnet50_body
from .resnet import resnet18_body
from .small import cnn_body, linear_body, mlp_body
from .vgg import vgg_body
from .wrap import Wrapped, wrap

ARCHS = {
    "cnn": cnn_body,
    "mlp": mlp_body,
    "linear": linear_body,
    "resnet18": resnet18_body,
    "vgg": vgg_body,
    # the CIFAR ResNets of MadryLab's robustness library, in its layout (its checkpoints load onto them)
    "madry-resnet18": madry_resnet18_body,
    "madry-resnet50": madry_resnet50_body,
}


def model_spec(arch: str, image_shape, num_classes: int, mean, std, **options) -> dict:
    if arch not in ARCHS:
        raise NotbugsError(f"unknown architecture '{arch}'; use one of {', '.join(ARCHS)}")
    return {"arch": arch, "image_shape": list(image_shape), "num_classes": int(num_classes),
            "mean": list(mean), "std": list(std), "options": dict(options)}


def build_model(spec: dict) -> Classifier:
    arch = spec["arch"]
    if arch not in ARCHS:
        raise NotbugsError(f"unknown architecture '{arch}'; use one of {', '.join(ARCHS)}")
    c, h, w = spec["image_shape"]
    try:
        body, dim = ARCHS[arch](c, h, w, **spec.get("options", {}))
    except TypeError as exc:
        raise NotbugsError(f"bad options {spec.get('options')} for architecture '{arch}': {exc}") from None
    model = Classifier(body, dim, spec["num_classes"], spec["mean"], spec["std"])
    if any(isinstance(m, nn.Conv2d) for m in model.modules()) and c != 3:
        # channels_last takes oneDNN's convolutions on CPUs (1.2-4x faster passes here) and tensor cores on GPUs.
        # Not for 3-channel images: with torch 2.13 on this CPU, a channels_last ResNet-18 on 32x32x3 images
        # corrupts the heap in the backward pass of an odd batch (33, 65, 109, 113, 127 images; fine at 1 thread
        # or in the default format), which the CIFAR-shaped end-to-end test found (tests/test_cifar10_path.py).
        model = model.to(memory_format=torch.channels_last)
    return model


def check_fits(spec: dict) -> None:
    """Refuse, before any training, an architecture whose layers do not fit the image size (e.g. too many poolings)."""
    try:
        with torch.no_grad():
            build_model(spec).eval()(torch.zeros(1, *spec["image_shape"]))
    except (RuntimeError, ValueError) as exc:
        raise NotbugsError(f"architecture '{spec['arch']}' {spec.get('options') or ''} does not fit "
                           f"{tuple(spec['image_shape'])} images ({str(exc).splitlines()[0]})") from None


__all__ = ["ARCHS", "Classifier", "Normalize", "Wrapped", "build_model", "check_fits", "model_spec", "wrap"]
