"""Resumable, shardable constructions: batches saved as they finish, merged in order."""

import pytest
import torch

from notbugs.methods.construct import InversionConfig, RelabelConfig, feature_dataset, invert, relabelled_dataset
from notbugs.store.pipeline import Store
from notbugs.store.sharding import map_batches, work_folder


def _square(lo, hi, calls):
    calls.append(lo)
    return {"v": torch.arange(lo, hi, dtype=torch.float32) ** 2}


def test_map_batches_concatenates_in_order(tmp_path):
    calls = []
    out = map_batches(lambda lo, hi: _square(lo, hi, calls), 10, 3, progress=False)
    assert torch.equal(out["v"], torch.arange(10, dtype=torch.float32) ** 2)
    assert calls == [0, 3, 6, 9]


def test_interrupted_map_resumes_from_the_last_finished_batch(tmp_path):
    calls = []

    def dies_at_6(lo, hi):
        if lo == 6:
            raise KeyboardInterrupt
        return _square(lo, hi, calls)

    with pytest.raises(KeyboardInterrupt):
        map_batches(dies_at_6, 10, 3, work=tmp_path, progress=False)
    assert calls == [0, 3] and len(list(tmp_path.glob("batch*.safetensors"))) == 2
    calls.clear()
    out = map_batches(lambda lo, hi: _square(lo, hi, calls), 10, 3, work=tmp_path, progress=False)
    assert calls == [6, 9]  # the finished batches were not recomputed
    assert torch.equal(out["v"], torch.arange(10, dtype=torch.float32) ** 2)


def test_work_folder_keeps_batches_of_its_config_only(tmp_path):
    work = work_folder(tmp_path / "w", {"eps": 1.0})
    map_batches(lambda lo, hi: _square(lo, hi, []), 6, 3, work=work, progress=False)
    assert len(list(work.glob("batch*"))) == 2
    assert len(list(work_folder(tmp_path / "w", {"eps": 1.0}).glob("batch*"))) == 2
    assert list(work_folder(tmp_path / "w", {"eps": 2.0}).glob("batch*")) == []


def test_interrupted_relabelling_resumes_to_the_uninterrupted_result(digits_mlp, digits, tmp_path):
    x, y = digits.train_x[:60], digits.train_y[:60]
    cfg = RelabelConfig(mode="rand", eps=1.0, steps=5, step_size=0.5, noise_std=0.05, noise_samples=2, batch_size=16)
    whole = relabelled_dataset(digits_mlp, x, y, 10, cfg, progress=False)

    class Boom(Exception):
        pass

    calls = [0]
    forward = digits_mlp.forward

    def dying_forward(inp):
        calls[0] += 1
        if calls[0] == 25:  # in the third batch
            raise Boom
        return forward(inp)

    digits_mlp.forward = dying_forward
    try:
        with pytest.raises(Boom):
            relabelled_dataset(digits_mlp, x, y, 10, cfg, progress=False, work=tmp_path)
    finally:
        digits_mlp.forward = forward
    assert len(list(tmp_path.glob("batch*"))) == 2
    resumed = relabelled_dataset(digits_mlp, x, y, 10, cfg, progress=False, work=tmp_path)
    assert torch.equal(resumed["x"], whole["x"]) and torch.equal(resumed["y"], whole["y"])


def test_store_keeps_the_work_of_an_interrupted_resumable_step(tmp_path):
    store = Store(tmp_path)
    seen = []

    def make(b):
        seen.append(b.work)
        map_batches(lambda lo, hi: _square(lo, hi, []), 6, 3, work=b.work, progress=False)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.get("dataset", {"a": 1}, make, resumable=True)
    assert len(list(seen[0].glob("batch*"))) == 2  # survives for the next run
    art = store.get("dataset", {"a": 1}, lambda b: {"n": len(list(b.work.glob("batch*")))}, resumable=True)
    assert art.summary["n"] == 2 and not seen[0].exists()  # resumed, then cleaned once the artifact is complete
    assert (art.path / "artifact.json").is_file()


def test_early_stopped_inversion_takes_fewer_steps(digits_mlp, digits):
    x = digits.train_x[:40]
    start = x.flip(0)
    fixed, taken_fixed = invert(digits_mlp, x, start, steps=200, step_size=0.05)
    stopped, taken = invert(digits_mlp, x, start, steps=200, step_size=0.05, stop_patience=5, stop_tol=0.01)
    assert taken_fixed == 200 * len(x)
    assert taken < taken_fixed
    assert stopped.min() >= 0 and stopped.max() <= 1


def test_early_stop_records_its_steps(digits_mlp, digits):
    x, y = digits.train_x[:40], digits.train_y[:40]
    res = feature_dataset(digits_mlp, x, y, InversionConfig(steps=100, step_size=0.05, stop_patience=3, batch_size=16),
                          progress=False)
    assert 0 < res["stats"]["mean_inversion_steps"] < 100


def _benchmark():
    """benchmarks/inversion_optimisers.py: its optimisers are written apart from ``invert``, with torch.optim where
    there is one (Adam with a cosine LambdaLR), so the two are independent implementations."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "inversion_optimisers.py"
    spec = importlib.util.spec_from_file_location("inversion_optimisers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_adam_inversion_agrees_with_torch_adam_and_is_per_example(digits_mlp, digits):
    x = digits.train_x[:24]
    start = x.flip(0)
    ours, taken = invert(digits_mlp, x, start, steps=30, step_size=0.05, schedule="cosine", optimizer="adam")
    for p in digits_mlp.parameters():
        p.requires_grad_(False)
    theirs = _benchmark().run_adam(digits_mlp, x, start, 30, 0.05)
    assert taken == 30 * len(x)
    assert torch.allclose(ours, theirs, atol=1e-5)
    one = torch.cat([invert(digits_mlp, x[i:i + 1], start[i:i + 1], steps=30, step_size=0.05, schedule="cosine",
                            optimizer="adam")[0] for i in range(4)])
    assert torch.allclose(ours[:4], one, atol=1e-5)  # a batch gives what its images give one by one
    assert ours.min() >= 0 and ours.max() <= 1 and torch.equal(x, digits.train_x[:24])  # input untouched
    before = (digits_mlp.features(start) - digits_mlp.features(x)).norm(dim=1).mean()
    after = (digits_mlp.features(ours) - digits_mlp.features(x)).norm(dim=1).mean()
    assert after < 0.5 * before
    with pytest.raises(Exception, match="optimizer"):
        invert(digits_mlp, x, start, steps=2, step_size=0.05, optimizer="sgd")


def test_momentum_inversion_agrees_with_an_independent_loop(digits_mlp, digits):
    """Heavy-ball momentum on the normalised gradients, against the loop written apart in the benchmark."""
    bench = _benchmark()
    x = digits.train_x[:24]
    start = x.flip(0)
    ours, _ = invert(digits_mlp, x, start, steps=25, step_size=0.1, schedule="cosine", momentum=0.9)
    for p in digits_mlp.parameters():
        p.requires_grad_(False)
    theirs = bench.run_momentum(digits_mlp, x, start, 25, 0.1, 0.9)
    assert torch.allclose(ours, theirs, atol=1e-5)
    plain, _ = invert(digits_mlp, x, start, steps=25, step_size=0.1, schedule="cosine")
    assert not torch.allclose(ours, plain, atol=1e-3)  # the momentum does something
    with pytest.raises(Exception, match="momentum"):
        invert(digits_mlp, x, start, steps=2, step_size=0.1, momentum=1.0)
