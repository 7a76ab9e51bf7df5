import pytest
import torch

from notbugs.core.errors import NotbugsError
from notbugs.models import ARCHS, build_model, model_spec


@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_features_then_head_gives_logits(arch, shape):
    torch.manual_seed(0)
    model = build_model(model_spec(arch, shape, 7, [0.4] * shape[0], [0.2] * shape[0])).eval()
    x = torch.rand(3, *shape)
    feats = model.features(x)
    assert feats.shape == (3, model.feature_dim)
    logits = model(x)
    assert logits.shape == (3, 7)
    assert torch.allclose(logits, model.head(feats), atol=1e-6)


def test_normalisation_lives_inside_the_model():
    model = build_model(model_spec("linear", (1, 2, 2), 2, [0.5], [0.25])).eval()
    x = torch.rand(4, 1, 2, 2)
    assert torch.allclose(model.features(x), ((x - 0.5) / 0.25).flatten(1))
    assert set(model.state_dict()) >= {"normalize.mean", "normalize.std"}


def test_unknown_arch():
    with pytest.raises(NotbugsError, match="unknown architecture 'resnet99'"):
        model_spec("resnet99", (1, 28, 28), 10, [0.5], [0.5])
