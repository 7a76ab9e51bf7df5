"""Small models for 28x28 / 8x8 images: a CNN, an MLP and a linear model."""

from __future__ import annotations

from torch import nn


def cnn_body(channels: int, height: int, width: int, base: int = 32, hidden: int = 256):
    """conv-pool, conv-pool, then one hidden layer: the representation.

    Small on purpose: PGD training multiplies its cost by steps + 1, and the
    quick reproduction must run on a laptop CPU.
    Pooling comes before the ReLU: the same function (max and ReLU commute),
    but the ReLU and its backward touch a 4x smaller tensor, which makes
    input-gradient passes ~1.3x faster on a CPU (memory-bound there).
    """
    h, w = height // 4, width // 4
    body = nn.Sequential(
        nn.Conv2d(channels, base, 3, padding=1), nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Conv2d(base, 2 * base, 3, padding=1), nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(2 * base * h * w, hidden), nn.ReLU(inplace=True),
    )
    return body, hidden


def mlp_body(channels: int, height: int, width: int, hidden: int = 256, batchnorm: bool = False):
    """Two hidden layers; ``batchnorm`` normalises each hidden unit over the batch."""
    def norm():
        return [nn.BatchNorm1d(hidden)] if batchnorm else []

    body = nn.Sequential(
        nn.Flatten(),
        nn.Linear(channels * height * width, hidden), *norm(), nn.ReLU(inplace=True),
        nn.Linear(hidden, hidden), *norm(), nn.ReLU(inplace=True),
    )
    return body, hidden


def linear_body(channels: int, height: int, width: int):
    """The representation of a linear model is the (normalised) input itself."""
    return nn.Flatten(), channels * height * width
