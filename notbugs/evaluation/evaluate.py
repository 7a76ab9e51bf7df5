"""Clean and robust accuracy on a test set.

An example counts as robust when the model classifies it correctly at the
clean point and at every PGD iterate (the attack keeps the iterate with the
largest margin, so one misclassified iterate is enough). Hence robust
accuracy never exceeds clean accuracy, and never rises with more steps.
Every helper computes on the model's own device and moves each batch there;
accuracies come back as ``Proportion``s that carry the number of images.
"""

from __future__ import annotations

import torch
from torch import nn

from verdicts import Proportion

from ..attacks import frozen, margin, pgd
from ..core.errors import NotbugsError
from ..core.inputs import check_batch, check_logits, device_of
from ..core.progress import bar
from ..core.values import ByNumber


def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Predicted classes (on the CPU) of images anywhere, computed on the model's device."""
    dev = device_of(model)
    with frozen(model), torch.inference_mode():
        return torch.cat([check_logits(model(x[i:i + batch_size].to(dev)), model).argmax(1).cpu()
                          for i in range(0, len(x), batch_size)])


def batches(x, y=None, batch_size: int = 1024):
    """(images, labels) batch by batch, from tensors or from an iterable of (x, y) batches such as a DataLoader
    (for data that does not fit in memory); each batch checked where it enters."""
    if isinstance(x, torch.Tensor):
        if y is None:
            raise NotbugsError("give the labels with the images (or a DataLoader of (x, y) batches)")
        y = check_batch(x, y)
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]
        return
    try:
        items = iter(x)
    except TypeError:
        raise NotbugsError(f"images must be a tensor or a DataLoader of (x, y) batches, got {type(x).__name__}") \
            from None
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) >= 2):
            raise NotbugsError("a DataLoader given for evaluation must yield (images, labels) batches")
        yield item[0], check_batch(item[0], item[1], "batch")


def agreement(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> Proportion:
    """How often the model predicts y for x (an accuracy when y are the true labels)."""
    if len(x) == 0:
        raise NotbugsError("no images to measure an accuracy on")
    return Proportion.of(int((predict(model, x, batch_size) == y.cpu()).sum()), len(x))


def accuracy(model: nn.Module, x, y: torch.Tensor | None = None, batch_size: int = 1024) -> Proportion:
    """Clean accuracy: the share of images the model classifies correctly, with its Wilson interval.

    Arguments:
        model (nn.Module): the classifier, in eval mode for the call. x: images (N, C, H, W) in [0, 1], or a
        DataLoader of (x, y) batches. y: labels (N,) with images; None with a DataLoader. batch_size (int):
        images per forward pass. (Default: 1024)

    Returns a ``Proportion`` (a float carrying its count and interval). Example::

        >>> accuracy(model, x, y)
    """
    if isinstance(x, torch.Tensor):
        return agreement(model, x, check_batch(x, y), batch_size)
    hits = total = 0
    for xb, yb in batches(x):
        hits += int((predict(model, xb, batch_size) == yb.cpu()).sum())
        total += len(xb)
    if total == 0:
        raise NotbugsError("no images to measure an accuracy on")
    return Proportion.of(hits, total)


def robust_mask(model: nn.Module, x: torch.Tensor, y: torch.Tensor, adversarials) -> torch.Tensor:
    """Per example: classified correctly on the clean image and on every adversarial version of it."""
    with frozen(model), torch.inference_mode():
        ok = model(x).argmax(1) == y
        for x_adv in adversarials:
            ok &= model(x_adv).argmax(1) == y
    return ok


def robust_accuracy(model: nn.Module, x, y: torch.Tensor | None = None, *, norm: str, eps: float, steps: int,
                    step_size: float | None = None, random_start: bool = False, seed: int = 0,
                    batch_size: int = 512, progress: bool = False) -> Proportion:
    """Robust accuracy under PGD (Madry et al. 2018, https://arxiv.org/abs/1706.06083): correct on the clean image
    and on the attack's best point (by the margin loss).

    Arguments:
        model (nn.Module): the classifier. x, y: images (N, C, H, W) in [0, 1] and labels (N,), or a DataLoader of
            (x, y) batches and y None.
        norm (str): "l2" or "linf". eps (float): the radius. steps (int): PGD steps.
        step_size (float): each step's length. (Default: 2.5 * eps / steps)
        random_start (bool): start uniform in the ball. (Default: False) seed (int): its seed. (Default: 0)
        batch_size (int): images per attack batch. (Default: 512)

    Returns a ``Proportion``. Example::

        >>> robust_accuracy(model, x, y, norm="l2", eps=0.5, steps=20)
    """
    correct = robust_correct(model, x, y, norm=norm, eps=eps, steps=steps, step_size=step_size,
                             random_start=random_start, seed=seed, batch_size=batch_size, progress=progress)
    return Proportion.of(int(correct.sum()), len(correct))


def robust_correct(model: nn.Module, x, y: torch.Tensor | None = None, *, norm: str, eps: float, steps: int,
                   step_size: float | None = None, random_start: bool = False, seed: int = 0,
                   batch_size: int = 512, progress: bool = False) -> torch.Tensor:
    """``robust_accuracy`` image by image (a bool per image, on the CPU): what an interval for the difference of
    two models measured on the same images pairs."""
    dev = device_of(model)
    gen = torch.Generator().manual_seed(seed)
    masks = []
    for xb, yb in bar(batches(x, y, batch_size), desc=f"{norm} eps={eps:g}", disable=not progress, leave=False,
                      unit="batch"):
        xb, yb = xb.to(dev), yb.to(dev)
        x_adv = pgd(model, xb, yb, norm=norm, eps=eps, steps=steps, step_size=step_size, random_start=random_start,
                    best=True, select=margin, generator=gen)
        masks.append(robust_mask(model, xb, yb, [x_adv]).cpu())
    if not masks:
        raise NotbugsError("no images to measure a robust accuracy on")
    return torch.cat(masks)


def evaluate(model: nn.Module, x, y: torch.Tensor | None = None, *, norm: str, eps_list, steps: int = 20,
             step_size_factor: float = 2.5, seed: int = 0, progress: bool = True, batch_size: int = 512,
             per_image: bool = False) -> dict:
    """Clean accuracy and robust accuracy under PGD at each eps (``robust_accuracy``, step size = factor * eps /
    steps), on images and labels or on a DataLoader of (x, y) batches (read once per eps).

    Arguments:
        norm (str): "l2" or "linf". eps_list (list of floats): the radii. steps (int): PGD steps. (Default: 20)
        step_size_factor (float): (Default: 2.5) seed (int): (Default: 0) batch_size (int): (Default: 512)
        per_image (bool): also return which images stayed robust at each eps, under "robust_correct" (a bool
            tensor per eps). (Default: False)

    Returns ``{"clean_accuracy": Proportion, "robust_accuracy": {eps: Proportion}}``. Example::

        >>> evaluate(model, x, y, norm="l2", eps_list=[0.25, 0.5])["robust_accuracy"][0.5]
    """
    if isinstance(x, torch.Tensor):
        y = check_batch(x, y)
    robust, correct = ByNumber(), ByNumber()
    for eps in eps_list:
        correct[eps] = robust_correct(model, x, y, norm=norm, eps=eps, steps=steps,
                                      step_size=step_size_factor * eps / max(steps, 1), seed=seed,
                                      batch_size=batch_size, progress=progress)
        robust[eps] = Proportion.of(int(correct[eps].sum()), len(correct[eps]))
    clean = accuracy(model, x, y)
    return {
        "clean_accuracy": clean,
        "robust_accuracy": robust,
        "attack": {"name": "pgd", "norm": norm, "steps": steps, "step_size": f"{step_size_factor:g} * eps / steps",
                   "random_start": False, "n": clean.n},
    } | ({"robust_correct": correct} if per_image else {})
