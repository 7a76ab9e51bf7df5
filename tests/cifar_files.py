"""CIFAR-10 files in the release's own format for the loaders' tests (a module, not conftest: every package's
tests share one pytest session, where a bare `from conftest import` finds whichever conftest was loaded last)."""

import pickle

import numpy as np


def write_cifar_batch(path, n, seed):
    """A CIFAR-10 python batch in the release's format (pickled dict, uint8 rows channel-major)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    batch = {b"batch_label": b"batch", b"labels": labels, b"data": data, b"filenames": [b"x.png"] * n}
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return data, labels


def write_cifar_tree(base, per_batch: int, test: int, seed: int = 0) -> None:
    """A CIFAR-10 release folder (``data_batch_1..5``, ``test_batch``, ``batches.meta``) of learnable images: each
    class a smooth colour pattern of its own under pixel noise, so that models train, attacks move predictions and
    the constructions have features to find, at any size."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, (10, 3, 4, 4))
    patterns = coarse.repeat(8, axis=2).repeat(8, axis=3)  # 32 x 32 blocks of 8 pixels

    def batch(path, n):
        labels = rng.integers(0, 10, n)
        images = np.clip(0.6 * patterns[labels] + 0.4 * rng.uniform(0, 1, (n, 3, 32, 32)), 0, 1)
        data = (images * 255).round().astype(np.uint8).reshape(n, 3072)
        path.write_bytes(pickle.dumps({b"batch_label": path.name.encode(), b"labels": labels.tolist(), b"data": data,
                                       b"filenames": [b"x.png"] * n}, protocol=2))

    base.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        batch(base / f"data_batch_{i}", per_batch)
    batch(base / "test_batch", test)
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (base / "batches.meta").write_bytes(pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2))
