"""The CLI end to end on digits, and its answers to bad input (exit 2, one line, no traceback)."""

import json

import pytest
import torch

from notbugs.cli import main
from notbugs.core.storage import read_json


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "std"
    assert main(["train", "--dataset", "digits", "--arch", "mlp", "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    return out


def test_train_writes_a_run_folder(run_dir, capsys):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["spec"]["arch"] == "mlp" and manifest["dataset"] == "digits"
    clean = manifest["metrics"]["test_clean_accuracy"]
    assert 0 <= clean["p"] <= 1 and clean["n"] == 400
    assert (run_dir / "model.safetensors").is_file()


def test_eval_prints_and_writes(run_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", "--model", str(run_dir), "--eps", "0,0.5,2", "--steps", "5", "--out", str(out),
                 "--quiet"]) == 0
    assert set(json.loads(out.read_text())["robust_accuracy"]) == {"0", "0.5", "2"}  # eps as JSON keys
    res = read_json(out)  # accuracies are proportions: the number and the images it was measured on
    acc = res["robust_accuracy"]
    assert acc[0] == pytest.approx(res["clean_accuracy"]) and acc[0].n == 400
    assert acc[0] >= acc[0.5] >= acc[2]
    assert "clean accuracy" in capsys.readouterr().out


def test_eval_of_foreign_state_dict(run_dir, tmp_path):
    from safetensors.torch import load_file

    state = load_file(str(run_dir / "model.safetensors"))
    torch.save(state, tmp_path / "m.pt")
    assert main(["eval", "--model", str(tmp_path / "m.pt"), "--arch", "mlp", "--dataset", "digits",
                 "--eps", "0.5", "--steps", "2", "--limit", "50", "--quiet"]) == 0


def test_fgsm_rs_is_one_step_from_a_random_start(tmp_path, capsys):
    out = tmp_path / "fast"
    assert main(["train", "--dataset", "digits", "--arch", "mlp", "--epochs", "1", "--adv", "l2", "--eps", "1.0",
                 "--fgsm-rs", "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert (config["steps"], config["step_size"], config["random_start"]) == (1, 1.25, True)
    assert "FGSM-RS" in capsys.readouterr().out


def test_data_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "found" in out


BAD_INPUT = [
    # (what, argv builder, message fragment)
    ("wrong model path", lambda r, t: ["eval", "--model", str(t / "nope")], "does not exist"),
    ("unknown dataset", lambda r, t: ["train", "--dataset", "svhn", "--out", str(t / "o")], "unknown dataset 'svhn'"),
    ("unknown arch", lambda r, t: ["train", "--dataset", "digits", "--arch", "resnet99", "--out", str(t / "o")],
     "unknown architecture"),
    ("wrong dataset for the model", lambda r, t: ["eval", "--model", str(r), "--dataset", "fashion-mnist"],
     "pick the dataset it was trained on"),
    ("bare .pt without --arch", lambda r, t: ["eval", "--model", str(_pt(t)), "--dataset", "digits"], "--arch"),
    ("checkpoint of another arch", lambda r, t: ["eval", "--model", str(_pt(t)), "--dataset", "digits", "--arch",
                                                 "cnn"],
     "does not fit"),
    ("corrupt checkpoint", lambda r, t: ["eval", "--model", str(_corrupt(r, t))], "corrupt"),
    ("folder that is not a run", lambda r, t: ["eval", "--model", str(t)], "no manifest.json"),
    ("FGSM-RS without --adv", lambda r, t: ["train", "--dataset", "digits", "--fgsm-rs", "--out", str(t / "o")],
     "add --adv"),
    ("adversarial training without eps", lambda r, t: ["train", "--dataset", "digits", "--adv", "l2",
                                                         "--out", str(t / "o")], "needs --eps"),
    ("adversarial training with eps 0", lambda r, t: ["train", "--dataset", "digits", "--adv", "l2", "--eps", "0",
                                                      "--out", str(t / "o")], "eps > 0"),
    ("architecture too deep for the image size", lambda r, t: ["train", "--dataset", "digits", "--arch", "vgg",
                                                                "--out", str(t / "o")],
                                                                "does not fit (1, 8, 8) images"),
    ("unknown experiment", lambda r, t: ["reproduce", "wallace", "nonsense", "--out", str(t / "o")],
     "unknown experiment 'nonsense'"),
]


def _pt(tmp):
    torch.save({"w": torch.zeros(3)}, tmp / "x.pt")
    return tmp / "x.pt"


def _corrupt(run_dir, tmp):
    import shutil

    bad = tmp / "bad"
    shutil.copytree(run_dir, bad)
    (bad / "model.safetensors").write_bytes((bad / "model.safetensors").read_bytes()[:100])
    return bad


@pytest.mark.parametrize("what,argv,message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_one_line_and_exit_2(run_dir, tmp_path, capsys, what, argv, message):
    assert main(argv(run_dir, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("notbugs: error:") and message in err
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["eval", "--model", "x", "--eps", "-0.5"], ["train", "--out", "o", "--eps", "-1"],
                                  ["eval", "--model", "x", "--norm", "l3"],
                                  ["construct", "det", "--model", "x", "--out", "o", "--eps", "-1"]])
def test_argument_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


class _RunsCode:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('code ran')",))


def _mnist(root, n_images=20, n_labels=20, cut=None):
    import numpy as np

    from notbugs.data import IDX_STEMS
    from notbugs.data.idx import write_idx

    folder = root / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sizes = {"train_x": n_images, "train_y": n_labels, "test_x": 5, "test_y": 5}
    for key, stem in IDX_STEMS.items():
        shape = (sizes[key], 28, 28) if key.endswith("x") else (sizes[key],)
        write_idx(folder / stem, rng.integers(0, 10, shape, dtype=np.uint8))
    if cut:
        path = folder / IDX_STEMS[cut]
        path.write_bytes(path.read_bytes()[:-100])


def _nan_release(root):
    import pickle

    import numpy as np

    (root / "cifar10").mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"labels": [0, 1], b"data": np.zeros((2, 3072), dtype=np.uint8)}
        (root / "cifar10" / name).write_bytes(pickle.dumps(batch, protocol=2))
    ims = torch.rand(4, 3, 32, 32)
    ims[0, 0, 0, 0] = float("nan")
    (root / "rel").mkdir()
    torch.save(ims, root / "rel" / "CIFAR_ims")
    torch.save(torch.tensor([0, 1, 2, 3]), root / "rel" / "CIFAR_lab")
    return f"madry:{root / 'rel'}"


def _two_class_folder(root):
    from PIL import Image

    for split in ("train", "test"):
        for label in ("a", "b"):
            (root / "f" / split / label).mkdir(parents=True)
            Image.new("L", (8, 8)).save(root / "f" / split / label / "0.png")
    return f"folder:{root / 'f'}"


def _evil_pt(root):
    import pickle

    (root / "evil.pt").write_bytes(pickle.dumps({"w": _RunsCode()}))
    return str(root / "evil.pt")


# Bad data on disk: (what, set-up returning argv, message fragment). Data is looked up under $NOTBUGS_DATA = tmp.
BAD_DATA = [
    ("truncated IDX file", lambda r, t: (_mnist(t, cut="train_x"), ["train", "--dataset", "mnist", "--out", "o"])[1],
     "truncated"),
    ("image and label counts differ", lambda r, t: (_mnist(t, n_labels=19), ["train", "--dataset", "mnist", "--out",
                                                                             "o"])[1],
     "20 images but"),
    ("NaN pixels", lambda r, t: ["train", "--dataset", _nan_release(t), "--out", "o"], "NaN"),
    ("checkpoint for another class count", lambda r, t: ["eval", "--model", str(r), "--dataset", _two_class_folder(t)],
     "pick the dataset it was trained on"),
    ("pickled checkpoint that runs code", lambda r, t: ["eval", "--model", _evil_pt(t), "--arch", "mlp",
                                                        "--dataset", "digits"], "refus"),
]


@pytest.mark.parametrize("what,argv,message", BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_data_gets_one_line_and_exit_2(run_dir, tmp_path, capsys, monkeypatch, what, argv, message):
    import warnings

    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:  # a warning would be a second line on the terminal
        warnings.simplefilter("always")
        assert main(argv(run_dir, tmp_path)) == 2
    assert not caught, [str(w.message) for w in caught]
    err = capsys.readouterr().err
    assert err.startswith("notbugs: error:") and message in err, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "PWNED").exists()  # nothing in a data or checkpoint file ever runs


@pytest.mark.slow
def test_a_reader_that_stops_early_gets_no_traceback():
    """`notbugs data list | grep -q ...` (as the Makefile does) closes the pipe early: no BrokenPipeError."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "notbugs", "data", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    proc.stdout.close()  # the reader leaves before the first line (the child is still importing)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and "Traceback" not in err and "BrokenPipe" not in err


def test_eval_refuses_weights_damaged_after_they_were_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--arch", "mlp", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    weights = out / "model.safetensors"
    data = bytearray(weights.read_bytes())
    header = 8 + int.from_bytes(data[:8], "little")  # safetensors: 8-byte length, JSON header, then the tensors
    rng = __import__("random").Random(0)
    for i in rng.sample(range(header, len(data)), k=max(1, len(data) // 50)):  # 2 % of the bytes overwritten
        data[i] ^= 0xFF
    weights.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["eval", "--model", str(out), "--eps", "0.5", "--steps", "2", "--limit", "20", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "changed after it was written" in err and "Traceback" not in err
