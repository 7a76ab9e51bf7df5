"""The bench runs end to end and reports each figure with its floor (values are measurements, not asserted)."""

import json

import pytest

from notbugs.cli import main
from notbugs.cli.bench import format_table, run_bench
from notbugs.core.errors import NotbugsError


def test_bench_reports_throughput_and_floor_ratios():
    r = run_bench(dataset="digits", arch="mlp", batch_size=16, steps=2, inversion_steps=2, min_seconds=0.01)
    for key in ("pgd_train_floor_ratio", "attack_floor_ratio", "inversion_floor_ratio",
                "standard_training_floor_ratio"):
        assert r[key] > 0
    assert r["pgd_train_floor_seconds_per_batch"] > r["seconds_per_batch"]["train_step"]
    assert r["inversion_adam_image_steps_per_second"] > 0 and r["inversion_bf16_over_fp32"] > 0
    assert isinstance(r["native_bf16"], bool)
    assert "PGD-2 training" in format_table(r) and "inversion in bf16" in format_table(r)


def test_bench_json_on_the_command_line(capsys):
    assert main(["bench", "--dataset", "digits", "--arch", "linear", "--batch-size", "8", "--steps", "1",
                 "--inversion-steps", "1", "--seconds", "0.01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pgd_train_floor_ratio"] > 0


def test_bench_refuses_unknown_shapes():
    with pytest.raises(NotbugsError, match="no shape known"):
        run_bench(dataset="imagenet")
