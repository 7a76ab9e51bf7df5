import pickle

import pytest
import torch

from notbugs.core.errors import NotbugsError
from notbugs.core.seeding import seed_everything
from notbugs.evaluation.evaluate import accuracy, evaluate
from notbugs.methods.train import TrainConfig, train
from notbugs.models import build_model, model_spec
from notbugs.models.checkpoint import load_model, save_model


def _mlp(d, hidden=64):
    return build_model(model_spec("mlp", d.image_shape, 10, d.mean, d.std, hidden=hidden))


def test_standard_training_learns(digits_mlp, digits):
    assert accuracy(digits_mlp, digits.test_x, digits.test_y) > 0.9


def test_training_is_deterministic(digits):
    def run():
        seed_everything(3)
        m = _mlp(digits, 16)
        train(m, digits.train_x[:200], digits.train_y[:200], TrainConfig(epochs=2, seed=3), hflip_ok=True,
              progress=False)
        return torch.cat([p.flatten() for p in m.parameters()])

    assert torch.equal(run(), run())


def test_after_epoch_sees_each_epoch_of_the_same_run(digits):
    """A snapshot taken after epoch 1 of a 3-epoch run equals a 1-epoch run under the constant schedule."""
    x, y = digits.train_x[:200], digits.train_y[:200]
    cfg = TrainConfig(epochs=3, seed=3, schedule="constant", crop_padding=0)
    seen, snapshot = [], {}

    def keep(epoch, model):
        seen.append(epoch)
        if epoch == 1:
            snapshot["w"] = torch.cat([p.detach().flatten() for p in model.parameters()]).clone()

    seed_everything(3)
    m = _mlp(digits, 16)
    history = train(m, x, y, cfg, progress=False, after_epoch=keep)
    assert seen == [1, 2, 3] and len(history) == 3
    seed_everything(3)
    one = _mlp(digits, 16)
    train(one, x, y, TrainConfig(epochs=1, seed=3, schedule="constant", crop_padding=0), progress=False)
    assert torch.equal(snapshot["w"], torch.cat([p.flatten() for p in one.parameters()]))
    assert not torch.equal(snapshot["w"], torch.cat([p.flatten() for p in m.parameters()]))


@pytest.mark.slow
def test_adversarial_training_buys_robustness(digits, digits_mlp):
    seed_everything(0)
    robust = _mlp(digits)
    cfg = TrainConfig(epochs=30, lr=3e-3, crop_padding=0, adv="l2", eps=1.0, steps=3)
    train(robust, digits.train_x, digits.train_y, cfg, progress=False)
    x, y = digits.test_x, digits.test_y
    std = evaluate(digits_mlp, x, y, norm="l2", eps_list=[1.0], steps=10, progress=False)
    adv = evaluate(robust, x, y, norm="l2", eps_list=[1.0], steps=10, progress=False)
    assert adv["robust_accuracy"]["1"] > std["robust_accuracy"]["1"] + 0.2
    assert adv["clean_accuracy"] > 0.8


def test_bad_config_is_refused(digits):
    for cfg in [TrainConfig(eps=-1), TrainConfig(adv="l7", eps=1), TrainConfig(adv="l2", eps=0),
                TrainConfig(optimizer="lbfgs")]:
        with pytest.raises(NotbugsError):
            train(_mlp(digits), digits.train_x[:8], digits.train_y[:8], cfg, progress=False)
    with pytest.raises(NotbugsError, match="8 images but 7 training labels"):
        train(_mlp(digits), digits.train_x[:8], digits.train_y[:7], TrainConfig(), progress=False)


def test_checkpoint_roundtrip(tmp_path, digits, digits_mlp):
    spec = model_spec("mlp", digits.image_shape, 10, digits.mean, digits.std, hidden=64)
    info = save_model(tmp_path / "run", digits_mlp, spec, {"epochs": 30}, dataset="digits")
    assert (tmp_path / "run" / "model.safetensors").is_file() and len(info["sha256"]) == 64
    model, manifest = load_model(tmp_path / "run")
    assert manifest["dataset"] == "digits" and manifest["spec"] == spec
    x = digits.test_x[:16]
    assert torch.equal(model(x), digits_mlp(x))
    (tmp_path / "run" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(NotbugsError, match="corrupt"):
        load_model(tmp_path / "run")


def test_foreign_state_dict(tmp_path, digits, digits_mlp):
    spec = model_spec("mlp", digits.image_shape, 10, digits.mean, digits.std, hidden=64)
    state = {f"module.{k}": v for k, v in digits_mlp.state_dict().items() if not k.startswith("normalize")}
    torch.save(state, tmp_path / "other.pt")
    model, _ = load_model(tmp_path / "other.pt", spec)
    assert torch.equal(model(digits.test_x[:4]), digits_mlp(digits.test_x[:4]))
    with pytest.raises(NotbugsError, match="does not fit"):
        load_model(tmp_path / "other.pt", model_spec("cnn", digits.image_shape, 10, digits.mean, digits.std))
    with pytest.raises(NotbugsError, match="does not fit"):
        load_model(tmp_path / "other.pt", model_spec("mlp", digits.image_shape, 3, digits.mean, digits.std, hidden=64))


class _Evil:
    def __reduce__(self):
        import os
        return (os.system, ("touch PWNED_MARKER",))


def test_pickled_code_in_pt_is_refused(tmp_path, monkeypatch, digits):
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "evil.pt", "wb") as fh:
        pickle.dump({"weight": _Evil()}, fh)
    torch.save({"w": _Evil()}, tmp_path / "evil2.pt")
    spec = model_spec("mlp", digits.image_shape, 10, digits.mean, digits.std)
    for name in ("evil.pt", "evil2.pt"):
        with pytest.raises(NotbugsError, match="refused|not a readable"):
            load_model(tmp_path / name, spec)
    assert not (tmp_path / "PWNED_MARKER").exists()
