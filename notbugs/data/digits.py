"""scikit-learn's bundled 8x8 digits: tiny, always present, good for tests."""

from __future__ import annotations

import numpy as np


def load_digits_arrays(test_size: int = 400, seed: int = 0):
    """(train_x, train_y, test_x, test_y) as uint8-range floats; a fixed shuffle splits them."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None]
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return x[test_size:], y[test_size:], x[:test_size], y[:test_size]
