"""Architectures by name. ``build_model(spec)`` rebuilds any model from its checkpoint's spec.

A spec is a plain dict: arch, image_shape (C, H, W), num_classes, mean, std,
and optional width keywords of the architecture.
"""

from __future__ import annotations

from ..errors import NotbugsError
from .base import Classifier, Normalize
from .resnet import resnet18_body
from .small import cnn_body, linear_body, mlp_body
from .vgg import vgg_body

ARCHS = {
    "cnn": cnn_body,
    "mlp": mlp_body,
    "linear": linear_body,
    "resnet18": resnet18_body,
    "vgg": vgg_body,
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
    return Classifier(body, dim, spec["num_classes"], spec["mean"], spec["std"])


__all__ = ["ARCHS", "Classifier", "Normalize", "build_model", "model_spec"]
