"""Corners of the command line a new user met (issue 44): a damaged .pt is called damaged, --arch never silently
ignored, a warning names only options that exist, and an experiment's traceback is findable."""

import pickle
import random

import pytest

from notbugs.cli import main
from notbugs.core.errors import NotbugsError
from notbugs.core.storage import torch_load_tensors


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED_MARKER",))


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("std") / "std"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--train-limit", "200", "--no-augment", "--quiet",
                 "--out", str(out)]) == 0
    return out


def test_random_bytes_are_a_damaged_file_not_pickled_code(tmp_path):
    path = tmp_path / "corrupt.pt"
    for seed in range(60):  # opcodes the safe unpickler does not know, short reads, bad text, empty stacks
        rng = random.Random(seed)
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.choice([1, 10, 100, 1000]))))
        with pytest.raises(NotbugsError) as err:
            torch_load_tensors(path)
        assert "corrupt" in str(err.value) and "pickled code" not in str(err.value), (seed, str(err.value))
    path.write_bytes(b"")
    with pytest.raises(NotbugsError, match="corrupt"):
        torch_load_tensors(path)


def test_a_pickle_that_names_code_is_still_refused_as_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"w": _RunsCode()}))
    with pytest.raises(NotbugsError, match="refused: it holds more than tensors.*never pickled code"):
        torch_load_tensors(tmp_path / "evil.pt")
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_eval_of_random_bytes_is_one_line_saying_corrupt(tmp_path, capsys):
    (tmp_path / "corrupt.pt").write_bytes(bytes(random.Random(179).randrange(256) for _ in range(4096)))
    assert main(["eval", "--model", str(tmp_path / "corrupt.pt"), "--arch", "cnn", "--dataset", "digits"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corrupt" in err and "pickled code" not in err, err


def test_an_arch_that_contradicts_the_manifest_is_refused(run_folder, capsys):
    args = ["eval", "--model", str(run_folder / "model.safetensors"), "--dataset", "digits", "--limit", "20", "--eps",
            "0.5", "--steps", "1", "--quiet"]
    assert main(args + ["--arch", "mlp"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--arch mlp" in err and "cnn" in err and "manifest.json" in err, err
    assert main(args + ["--arch", "cnn"]) == 0  # the same architecture as the manifest's is no contradiction
    assert main(args) == 0


def test_the_crop_warning_names_options_the_command_line_has(tmp_path, capsys):
    args = ["train", "--dataset", "digits", "--epochs", "1", "--train-limit", "50", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0  # the default crop (2) on 8x8 digits
    warning = next(line for line in capsys.readouterr().err.splitlines() if "sixth of their side" in line)
    assert "--crop-padding" in warning and "--set" in warning, warning
    assert main(args + ["--crop-padding", "1", "--out", str(tmp_path / "b")]) == 0
    assert "sixth of their side" not in capsys.readouterr().err


@pytest.fixture
def broken_experiment(monkeypatch):
    import notbugs.experiments.linear_features as lf

    def broken(*args, **kwargs):
        raise RuntimeError("the pair broke")

    monkeypatch.setattr(lf, "two_class", broken)


@pytest.mark.parametrize("debug", [False, True])
def test_an_experiments_traceback_is_shown_under_debug_and_located_otherwise(broken_experiment, tmp_path, capsys,
                                                                             debug):
    out = tmp_path / "run"
    argv = ["reproduce", "linear_features", "--preset", "tiny", "--quiet", "--out", str(out)]
    assert main(["--debug"] * debug + argv) == 1
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "[ERROR] linear_features: RuntimeError: the pair broke" in printed.out
    lines = printed.out.strip().splitlines()
    assert lines[0].startswith("SMOKE TEST, not evidence") and lines[-1].startswith("SMOKE TEST, not evidence")
    if debug:
        assert "Traceback (most recent call last)" in printed.err and "in broken" in printed.err
    else:
        assert "Traceback" not in text
        assert f"{out / 'results.json'}" in text and "experiments.linear_features.traceback" in text
        assert "--debug" in text
    assert "experiments.linear_features.traceback" in (out / "report.html").read_text()
