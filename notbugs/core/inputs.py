"""Checks where images, labels and models enter: attacks, evaluation, training, the constructions.

The field's commonest silent mistake is attacking normalised images: eps then
measures something else, and the [0, 1] clamp moves pixels far outside the
eps-ball. Each check is one reduction over the tensors it is given, once per
call, so it costs nothing next to a forward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import NotbugsError

NORMALISATION_HINT = ("normalisation belongs inside the model (notbugs.models.wrap(module, mean=..., std=...)), "
                      "so that eps is measured in pixels")


def check_images(x, what: str = "images") -> None:
    """Floating point in [0, 1], a batch (first dimension = examples)."""
    if not isinstance(x, torch.Tensor):
        raise NotbugsError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise NotbugsError(f"{what} must be floating point in [0, 1], got {x.dtype}"
                           + ("; divide uint8 images by 255" if x.dtype == torch.uint8 else ""))
    if x.ndim < 2:
        raise NotbugsError(f"{what} must be a batch, one image per row (N, C, H, W), got shape {tuple(x.shape)}")
    if x.numel():
        lo, hi = (v.item() for v in torch.aminmax(x.detach()))
        if lo != lo or hi != hi:
            raise NotbugsError(f"{what} contain NaN pixels")
        if not (lo >= 0 and hi <= 1):
            raise NotbugsError(f"{what} must lie in [0, 1], observed range [{lo:.4g}, {hi:.4g}]; {NORMALISATION_HINT}")


def check_labels(y, n: int, what: str = "labels") -> None:
    """One integer class index per image."""
    if not isinstance(y, torch.Tensor):
        raise NotbugsError(f"{what} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise NotbugsError(f"{what} must be integer class indices, got {y.dtype}"
                           + ("; for one-hot labels use y.argmax(1)" if y.ndim == 2 else ""))
    if y.ndim != 1:
        raise NotbugsError(f"{what} must be one class index per image, shape (N,), got shape {tuple(y.shape)}"
                           + ("; for one-hot labels use y.argmax(1)" if y.ndim == 2 else ""))
    if len(y) != n:
        raise NotbugsError(f"{n} images but {len(y)} {what}; give one label per image")


def check_classes(classes: int, y: torch.Tensor, what: str = "labels") -> None:
    """Labels within the model's class count (callers read it from the logits' last dimension)."""
    if len(y):
        lo, hi = (v.item() for v in torch.aminmax(y))
        if lo < 0 or hi >= classes:
            raise NotbugsError(f"{what} must be class indices in [0, {classes - 1}] for a model with {classes} "
                               f"outputs, got values in [{lo}, {hi}]")


def device_of(model: nn.Module) -> torch.device:
    """Where a model computes: the device of its first parameter (or buffer); the CPU for a stateless one.
    Helpers take their device from here, so no caller has a device default that could disagree with it."""
    first = next(model.parameters(), None)
    if first is None:
        first = next(model.buffers(), None)
    return first.device if first is not None else torch.device("cpu")


def check_device(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """Images, labels and the model's weights on one device."""
    first = next(model.parameters(), None)
    if first is None:
        first = next(model.buffers(), None)
    places = {"the images": x.device, "the labels": y.device}
    if first is not None:
        places["the model"] = first.device
    if len(set(places.values())) > 1:
        where = ", ".join(f"{k} on {v}" for k, v in places.items())
        raise NotbugsError(f"{where}: move them to one device (model.to(d), x.to(d), y.to(d))")


def check_batch(x, y, what: str = "") -> torch.Tensor:
    """Images and their labels together; the labels back as int64 (what the losses take)."""
    check_images(x, f"{what} images".strip())
    check_labels(y, len(x), f"{what} labels".strip())
    return y.long()


def check_logits(out, model: nn.Module) -> torch.Tensor:
    """A model's output must be one tensor of logits, (N, classes): a tuple or a dict (a model that returns
    features and logits, a Hugging Face output) is told how to adapt, not failed on later."""
    if isinstance(out, torch.Tensor) and out.ndim == 2:
        return out
    what = type(out).__name__ if not isinstance(out, torch.Tensor) else f"a tensor of shape {tuple(out.shape)}"
    raise NotbugsError(f"{type(model).__name__} returned {what}, not (N, classes) logits; wrap it so that it returns "
                       "logits, e.g. notbugs.models.wrap(module) around a module whose forward returns them, or a "
                       "small nn.Module that picks the logits out of its output")
