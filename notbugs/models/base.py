"""The model contract: normalisation inside, ``features(x)`` then a linear ``head``.

Inputs are images in [0, 1]; the per-channel mean/std of the training data is
a buffer of the model, so attacks and constructions work in pixel space and a
checkpoint carries its own preprocessing.
"""

from __future__ import annotations

import torch
from torch import nn


class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class Classifier(nn.Module):
    """``forward(x) = head(features(x))``; ``features`` is the paper's representation g(x)."""

    def __init__(self, body: nn.Module, feature_dim: int, num_classes: int, mean, std):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.body = body
        self.head = nn.Linear(feature_dim, num_classes)
        self.feature_dim = feature_dim
        self.num_classes = num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.normalize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
