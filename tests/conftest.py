import pickle

import numpy as np
import pytest
import torch

from notbugs.data import load_dataset
from notbugs.models import build_model, model_spec
from notbugs.seeding import seed_everything
from notbugs.train import TrainConfig, train


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
