"""Bring your own model: any nn.Module wrapped, robustness-library checkpoints, and inputs checked at the door."""

import json

import pytest
import torch
from cifar_files import write_cifar_batch
from torch import nn

from notbugs.attacks import pgd
from notbugs.cli import main
from notbugs.core.errors import NotbugsError
from notbugs.core.storage import read_json
from notbugs.evaluation.evaluate import accuracy, evaluate
from notbugs.methods.construct import InversionConfig, feature_dataset
from notbugs.methods.train import TrainConfig, train
from notbugs.models import build_model, model_spec, wrap
from notbugs.models.checkpoint import load_model


def _sequential():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))


def test_wrap_a_sequential_named_layer_default_and_normalisation():
    seq = _sequential()
    x = torch.rand(5, 1, 8, 8)
    w = wrap(seq, "2", mean=[0.3], std=[0.2])
    z = (x - 0.3) / 0.2
    assert torch.allclose(w(x), seq(z))
    assert torch.allclose(w.features(x), seq[:3](z))  # the output of submodule "2" (the first ReLU)
    default = wrap(seq)  # the input of the last linear layer
    assert torch.allclose(default.features(x), seq[:5](x))
    scaled = wrap(seq, input_range=(0, 255))
    assert torch.allclose(scaled(x), seq(x * 255))
    with pytest.raises(NotbugsError, match="no layer named 'layer9'.*its layers: 0, 1, 2"):
        wrap(seq, "layer9")
    with pytest.raises(NotbugsError, match="both mean and std"):
        wrap(seq, mean=[0.5])


def test_features_stop_at_the_layer():
    """Nothing after the representation runs: a layer that would fail is never reached."""

    class Boom(nn.Module):
        def forward(self, x):
            raise AssertionError("ran past the representation")

    seq = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), Boom())
    assert wrap(seq, "1").features(torch.rand(2, 1, 8, 8)).shape == (2, 8)


def test_wrapped_resnet_at_another_layer_gives_grad_and_inverts():
    model = build_model(model_spec("resnet18", (1, 8, 8), 10, [0.5], [0.25], base=4)).eval()
    w = wrap(model, "body.5")  # the output of the second stage's first block
    x = torch.rand(6, 1, 8, 8)
    with torch.no_grad():
        expected = model.body[:6](model.normalize(x)).flatten(1)
    assert torch.allclose(w.features(x), expected, atol=1e-6)
    assert torch.allclose(w(x), model(x))
    res = feature_dataset(w, x, torch.arange(6), InversionConfig(steps=3, step_size=0.5, batch_size=6), progress=False)
    assert res["x"].shape == x.shape and 0 <= res["x"].min() and res["x"].max() <= 1
    adv = pgd(w, x, torch.arange(6), norm="l2", eps=0.5, steps=3)
    assert ((adv - x).flatten(1).norm(dim=1) <= 0.5 + 1e-5).all()


def test_wrapped_sequential_trains_and_evaluates(digits):
    w = wrap(_sequential(), mean=list(digits.mean), std=list(digits.std))
    train(w, digits.train_x[:300], digits.train_y[:300], TrainConfig(epochs=3, lr=3e-3, crop_padding=0), progress=False)
    res = evaluate(w, digits.test_x[:50], digits.test_y[:50], norm="l2", eps_list=[0.5], steps=3, progress=False)
    assert res["clean_accuracy"] == pytest.approx(accuracy(w, digits.test_x[:50], digits.test_y[:50]))
    assert res["robust_accuracy"]["0.5"] <= res["clean_accuracy"]


# --- MadryLab robustness checkpoints ---------------------------------------------------------------------------

# Names the library's AttackerModel gives a CIFAR ResNet-18's tensors (robustness/attacker.py, cifar_models/resnet.py)
LIBRARY_KEYS = ["module.normalizer.new_mean", "module.normalizer.new_std", "module.model.conv1.weight",
                "module.model.bn1.running_var", "module.model.layer1.0.conv2.weight",
                "module.model.layer2.0.shortcut.0.weight", "module.model.layer4.1.bn2.bias",
                "module.model.linear.weight", "module.attacker.model.linear.bias",
                "module.attacker.normalize.new_mean"]

MEAN, STD = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]  # the library's CIFAR-10 normalisation


def _library_checkpoint(path, arch="madry-resnet18"):
    """A checkpoint in the library's layout from random weights: what `robustness` writes at the end of training."""
    torch.manual_seed(1)
    source = build_model(model_spec(arch, (3, 32, 32), 10, MEAN, STD))
    for m in source.modules():  # non-trivial batch-norm statistics, so that a dropped buffer shows
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    net = {("linear." + k[5:] if k.startswith("head.") else k[5:]): v
           for k, v in source.state_dict().items() if k.startswith(("body.", "head."))}
    state = {"module.normalizer.new_mean": torch.tensor(MEAN)[:, None, None],
             "module.normalizer.new_std": torch.tensor(STD)[:, None, None],
             "module.attacker.normalize.new_mean": torch.tensor(MEAN)[:, None, None],
             "module.attacker.normalize.new_std": torch.tensor(STD)[:, None, None]}
    for k, v in net.items():
        state["module.model." + k] = v
        state["module.attacker.model." + k] = v
    assert set(LIBRARY_KEYS) <= set(state)
    torch.save({"model": state, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]},
                "schedule": None, "epoch": 150}, path)
    return source.eval()


def test_robustness_checkpoint_loads_with_its_own_normalisation(tmp_path):
    source = _library_checkpoint(tmp_path / "ckpt.pt")
    spec = model_spec("madry-resnet18", (3, 32, 32), 10, [0.5] * 3, [0.25] * 3)  # the dataset's own, overridden
    model, info = load_model(tmp_path / "ckpt.pt", spec)
    assert info["epoch"] == 150 and info["format"] == "robustness"
    assert info["spec"]["mean"] == pytest.approx(MEAN) and info["spec"]["std"] == pytest.approx(STD)
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        z = (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
        assert torch.allclose(model(x), source.head(source.body(z)), atol=1e-5)
        assert model.features(x).shape == (3, 512)
    with pytest.raises(NotbugsError, match="--arch madry-resnet50 or madry-resnet18"):
        load_model(tmp_path / "ckpt.pt", model_spec("resnet18", (3, 32, 32), 10, MEAN, STD))


def test_madry_resnet50_has_the_library_layout():
    model = build_model(model_spec("madry-resnet50", (3, 32, 32), 10, MEAN, STD))
    keys = set(model.state_dict())
    # Bottleneck blocks: conv3/bn3, a projection shortcut in each stage's first block; 2048 features
    assert {"body.layer1.0.conv3.weight", "body.layer1.0.shortcut.1.running_mean", "body.layer4.2.bn3.weight",
            "head.weight"} <= keys
    assert model.feature_dim == 2048
    assert sum(p.numel() for p in model.parameters()) == 23_520_842  # the library's CIFAR ResNet-50


class _Evil:
    def __reduce__(self):
        import os
        return (os.system, ("touch PWNED_MARKER",))


def test_robustness_checkpoint_with_code_is_refused_unrun(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"model": {"module.model.linear.weight": torch.zeros(1)}, "hook": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(NotbugsError, match="refused"):
        load_model(tmp_path / "evil.pt", model_spec("madry-resnet18", (3, 32, 32), 10, MEAN, STD))
    assert not (tmp_path / "PWNED_MARKER").exists()


@pytest.fixture()
def cifar_root(tmp_path, monkeypatch):
    base = tmp_path / "data" / "cifar10" / "cifar-10-batches-py"
    base.mkdir(parents=True)
    for i in range(1, 6):
        write_cifar_batch(base / f"data_batch_{i}", 4, i)
    write_cifar_batch(base / "test_batch", 6, 99)
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path / "data"))
    return tmp_path


def test_cli_evaluates_a_robustness_checkpoint(cifar_root, capsys):
    _library_checkpoint(cifar_root / "ckpt.pt")
    out = cifar_root / "eval.json"
    assert main(["eval", "--model", str(cifar_root / "ckpt.pt"), "--arch", "madry-resnet18", "--dataset", "cifar10",
                 "--eps", "0.25", "--steps", "2", "--out", str(out), "--quiet"]) == 0
    res = read_json(out)
    assert res["attack"]["n"] == 6 and res["robust_accuracy"][0.25] <= res["clean_accuracy"]
    assert main(["eval", "--model", str(cifar_root / "ckpt.pt"), "--dataset", "cifar10", "--quiet"]) == 2
    assert "say which model it is with --arch" in capsys.readouterr().err


def test_the_paper_experiment_takes_the_users_robust_model(tmp_path, capsys):
    """`reproduce --robust-model X.pt --model-arch A`: the model is imported once (keyed by its file's sha256) and
    the paper's datasets are built from it; nothing is trained in its place."""
    from safetensors.torch import load_file

    from notbugs.frame.lab import Lab
    from notbugs.running.runner import make_preset
    from notbugs.store.pipeline import Store

    folder = tmp_path / "adv"
    assert main(["train", "--dataset", "digits", "--arch", "mlp", "--epochs", "1", "--adv", "l2", "--eps", "1",
                 "--steps", "1", "--out", str(folder), "--quiet"]) == 0
    torch.save(load_file(str(folder / "model.safetensors")), tmp_path / "adv.pt")
    assert main(["reproduce", "--preset", "tiny", "--robust-model", str(tmp_path / "adv.pt"), "--quiet"]) == 2
    assert "say its architecture with --model-arch" in capsys.readouterr().err
    preset = make_preset("tiny", given={"adv": tmp_path / "adv.pt"}, given_arch="mlp")  # not the preset's cnn
    lab = Lab(preset, Store(tmp_path / "cache"))
    imported = lab.robust()
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(lab.model(imported)(x), load_model(folder)[0](x))
    config = json.loads(imported.file("manifest.json").read_text())["config"]
    assert config == {"imported_from": str(tmp_path / "adv.pt")}
    d_r = lab.dataset("robust")
    record = json.loads(d_r.file("artifact.json").read_text())
    assert record["inputs"]["source"] == imported.key and d_r.summary["size"] == preset.construct_limit
    steps = [s["step"] for s in lab.store.log]
    assert "import adv model adv.pt" in steps and "train adv" not in steps
    assert Lab(preset, Store(tmp_path / "cache")).robust() == imported  # a second run reads it from the store


# --- inputs checked where they enter -----------------------------------------------------------------------------

@pytest.fixture()
def small():
    torch.manual_seed(0)
    return build_model(model_spec("mlp", (1, 8, 8), 10, [0.5], [0.25], hidden=16)).eval()


@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: pgd(m, x * 5, y, norm="l2", eps=1.0, steps=2),
     r"images must lie in \[0, 1\], observed range \[.*, 4\.9.*\]; normalisation belongs inside the model"),
    (lambda m, x, y: pgd(m, x[:8], y[:7], norm="l2", eps=1.0, steps=2), "8 images but 7 labels"),
    (lambda m, x, y: pgd(m, x, y + 10, norm="linf", eps=0.1, steps=1), r"class indices in \[0, 9\] .* 10 outputs"),
    (lambda m, x, y: pgd(m, (x * 255).to(torch.uint8), y, norm="l2", eps=1.0, steps=1), "divide uint8 images by 255"),
    (lambda m, x, y: pgd(m, x, nn.functional.one_hot(y, 10).float(), norm="l2", eps=1.0, steps=1), r"y.argmax\(1\)"),
    (lambda m, x, y: pgd(m, x - 0.5, y, norm="l2", eps=1.0, steps=1), "observed range"),
    (lambda m, x, y: evaluate(m, x * 2, y, norm="l2", eps_list=[0.5], steps=1, progress=False), "observed range"),
    (lambda m, x, y: accuracy(m, x, y[:3]), "16 images but 3 labels"),
    (lambda m, x, y: train(m, x, y.float(), TrainConfig(epochs=1), progress=False), "training labels must be integer"),
    (lambda m, x, y: train(m, x, y + 20, TrainConfig(epochs=1), progress=False), r"training labels must be class"),
    (lambda m, x, y: feature_dataset(m, x * 3, y, InversionConfig(steps=1), progress=False), "source images must lie"),
])
def test_bad_inputs_are_refused_with_what_to_do(small, call, message):
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    with pytest.raises(NotbugsError, match=message):
        call(small, x, y)


def test_integer_labels_of_any_width_are_taken(small):
    x, y = torch.rand(4, 1, 8, 8), torch.randint(0, 10, (4,))
    assert torch.equal(pgd(small, x, y.int(), norm="l2", eps=0.5, steps=2), pgd(small, x, y, norm="l2", eps=0.5,
                                                                                steps=2))


def test_devices_must_agree(small):
    """Shown with the meta device, which every machine has: the message names where each one is."""
    x, y = torch.rand(4, 1, 8, 8), torch.randint(0, 10, (4,))
    with pytest.raises(NotbugsError, match="the images on cpu, the labels on meta, the model on cpu"):
        pgd(small, x, y.to("meta"), norm="l2", eps=0.5, steps=1)
