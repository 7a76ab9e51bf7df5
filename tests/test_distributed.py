"""torchrun with 2 CPU processes (gloo): DDP training and sharded construction match one process."""

import subprocess
import sys

import pytest
import torch

from notbugs.core.storage import load_tensors

NB = [sys.executable, "-m", "notbugs"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "notbugs"]


def _run(cmd, cwd):
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_ddp_training_and_sharded_construction_match_one_process(tmp_path):
    train = ["train", "--dataset", "digits", "--arch", "mlp", "--epochs", "2", "--no-augment", "--quiet"]
    _run(NB + train + ["--out", "one"], tmp_path)
    out = _run(TORCHRUN + train + ["--out", "two"], tmp_path)
    assert out.count("model written to") == 1  # only the first process saves and speaks
    one, two = load_tensors(tmp_path / "one/model.safetensors"), load_tensors(tmp_path / "two/model.safetensors")
    # the same global batches: equal up to float summation order (and the uneven last batch)
    assert max((one[k] - two[k]).abs().max().item() for k in one) < 5e-3

    for kind, extra in [("det", ["--eps", "1.0", "--noise-std", "0.05", "--noise-samples", "2"]),
                        ("robust", ["--step-size", "0.5"])]:
        construct = ["construct", kind, "--model", "one", "--steps", "5", "--limit", "300", "--quiet", *extra]
        _run(NB + construct + ["--out", f"{kind}1"], tmp_path)
        _run(TORCHRUN + construct + ["--out", f"{kind}2"], tmp_path)
        a, b = (load_tensors(tmp_path / f"{kind}{i}/data.safetensors") for i in (1, 2))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{kind} {key} differs between 1 and 2 processes"
        assert not (tmp_path / f".{kind}2.work").exists()  # the shards are merged and removed
