"""The precision setting: what auto means on a device, bf16 runs in bf16, and the store keys it."""

import pytest
import torch

from notbugs.core import precision
from notbugs.core.errors import NotbugsError
from notbugs.store.pipeline import Store


def test_auto_is_fp32_even_where_the_cpu_computes_bf16_natively(monkeypatch):
    """bf16 was never measured to pay in the pipeline with fp32's premises, so auto never picks it; asked for, it
    is used."""
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert precision.resolve("auto", "cpu") == "fp32"
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx2", "amx_bf16", "amx_tile", "avx512_bf16"}))
    assert precision.native_bf16("cpu") and precision.resolve("auto", "cpu") == "fp32"
    assert precision.resolve("fp32", "cpu") == "fp32" and precision.resolve("bf16", "cpu") == "bf16"
    with pytest.raises(NotbugsError, match="precision"):
        precision.resolve("fp16", "cpu")


def test_bf16_computes_in_bf16_and_fp32_does_not():
    layer = torch.nn.Linear(4, 3)
    x = torch.rand(2, 4)
    with precision.computing("bf16", "cpu"):
        assert layer(x).dtype == torch.bfloat16
    with precision.computing("fp32", "cpu"):
        assert layer(x).dtype == torch.float32


def test_a_bf16_run_trains_in_bf16():
    """The training loop's own switch (TrainConfig.amp, off) once switched an enclosing bf16 autocast off: every
    model of a bf16 run trained in fp32."""
    from notbugs.methods.train import TrainConfig, train

    model, seen = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)), []
    model[1].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    x, y = torch.rand(8, 1, 4, 4), torch.arange(8) % 3
    with precision.computing("bf16", "cpu"):
        train(model, x, y, TrainConfig(epochs=1, batch_size=8, crop_padding=0, flip=False), progress=False)
    assert seen and set(seen[:1]) == {torch.bfloat16}


def test_the_precision_is_in_every_key(tmp_path):
    a, b = Store(tmp_path, precision="fp32"), Store(tmp_path, precision="bf16")
    assert a.context["precision"] == "fp32" and b.context["precision"] == "bf16"
    assert a.key("model", {"x": 1}) != b.key("model", {"x": 1})


def test_a_gpus_keys_say_whether_tf32_was_on(monkeypatch):
    """fp32 on an Ampere-or-later GPU may compute its matmuls in TF32: a store built either way keys it apart."""
    from notbugs.store.pipeline import compute_context

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "a GPU")
    matmul, before = torch.backends.cuda.matmul, torch.backends.cuda.matmul.allow_tf32
    try:
        matmul.allow_tf32 = False
        off = compute_context("cuda")
        matmul.allow_tf32 = True
        on = compute_context("cuda")
    finally:
        matmul.allow_tf32 = before
    assert off["tf32_matmul"] is False and on["tf32_matmul"] is True and "tf32_matmul" not in compute_context("cpu")


@pytest.mark.slow
def test_every_experiment_runs_in_bf16_on_any_cpu(tmp_path):
    """`reproduce all` at tiny with bf16 forced (emulated where the CPU lacks it: slow, but exact enough to show a
    crash). A pass whose result leaves autocast in bf16 and meets fp32 code (numpy, a float32 buffer written by
    index) fails here on every machine, not only on CPUs where ``auto`` would pick bf16."""
    from dataclasses import replace

    from notbugs.running.runner import make_preset, run_experiments

    res = run_experiments(["all"], replace(make_preset("tiny"), precision="bf16"), out=tmp_path, progress=False)
    assert res["context"]["precision"] == "bf16"
    errors = {name: e["error"] for name, e in res["experiments"].items() if e["status"] != "done"}
    assert not errors, errors
