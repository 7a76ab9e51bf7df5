
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
