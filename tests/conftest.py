import pickle

import numpy as np
import pytest
import torch

from notbugs.core.seeding import seed_everything
from notbugs.data import load_dataset
from notbugs.methods.train import TrainConfig, train
from notbugs.models import build_model, model_spec


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="session")
def digits_mlp(digits):
    """A small MLP trained on digits: undefended, accurate enough to attack."""
    seed_everything(0)
    model = build_model(model_spec("mlp", digits.image_shape, 10, digits.mean, digits.std, hidden=64))
    train(model, digits.train_x, digits.train_y, TrainConfig(epochs=30, lr=3e-3, crop_padding=0), progress=False)
    return model.eval()


@pytest.fixture()
def tiny_batch(digits):
    return digits.test_x[:32].clone(), digits.test_y[:32].clone()


def double(model: torch.nn.Module) -> torch.nn.Module:
    return model.double()


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
