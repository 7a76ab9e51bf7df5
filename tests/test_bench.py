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


def test_passes_measure_the_inversion_a_reproduction_builds(tmp_path):
    """``bench --passes`` inverts with the code and models a reproduction uses: the preset's own inversion (tiny:
    the paper's steps, 5 passes) on all the images it inverts gives the same mean feature distance as the D_NR
    the reproduction builds in that store; the fewest passes agree with the rows; bad names are refused."""
    from notbugs.cli.bench_passes import passes_to_converge
    from notbugs.core.precision import computing
    from notbugs.running.runner import make_preset, open_lab

    preset = make_preset("tiny")
    lab = open_lab(preset, tmp_path / "cache", progress=False)
    with computing(lab.store.context["precision"], lab.device):  # as a reproduction builds it, and the bench inverts
        built = lab.dataset("nonrobust").summary["relative_feature_distance_mean"]
    r = passes_to_converge(lab, images=preset.construct_limit, budgets=(1, 5), optimisers=("paper", "momentum"),
                           settings=("d_nr:image", "d_r:noise"), progress=False)
    assert len(r["rows"]) == 2 * 2 * 2
    [row] = [x for x in r["rows"] if (x["setting"], x["optimiser"], x["passes"]) == ("d_nr:image", "paper", 5)]
    # One computation twice: the same float32 (or bf16) operations on the same batches in one process, so the two
    # means agree to their last bits on any CPU; 4 float32 ulps (4 x 2^-24) allow only a reordered sum. The bug
    # this guards, the bench inverting without the preset's fake ReLU, moves the mean by 1.1e-4 (0.4785893 vs
    # 0.4785379, fp32, here); on an AMX CPU the bench once ran in bf16 against a D_NR built in fp32 (4.7e-5).
    assert row["feature_distance"] == pytest.approx(built, rel=4 * 2.0 ** -24)
    for x in r["rows"]:
        assert x["moved_l2"] > 0 and 0 <= x["feature_distance"] and x["seconds"] > 0
    for setting in ("d_nr:image", "d_r:noise"):
        for optimiser in ("paper", "momentum"):
            met = [x["passes"] for x in r["rows"] if (x["setting"], x["optimiser"]) == (setting, optimiser)
                   and x["feature_distance"] <= r["premise"]]
            assert r["fewest_passes"][setting][optimiser] == (min(met) if met else None)
    with pytest.raises(NotbugsError, match="unknown inversion optimiser lbfgs"):
        passes_to_converge(lab, optimisers=("lbfgs",))
    with pytest.raises(NotbugsError, match="unknown inversion setting 'd_x:image'"):
        passes_to_converge(lab, settings=("d_x:image",))


def test_passes_on_the_command_line(tmp_path, capsys):
    assert main(["bench", "--dataset", "digits", "--arch", "linear", "--batch-size", "8", "--steps", "1",
                 "--inversion-steps", "1", "--seconds", "0.01", "--passes", "--preset", "tiny", "--cache",
                 str(tmp_path), "--images", "20", "--budgets", "2,4", "--optimisers", "momentum,adam",
                 "--settings", "d_r:image"]) == 0
    out = capsys.readouterr().out
    assert "fewest passes to a mean feature distance <= 10 %" in out and "d_r:image" in out
    with pytest.raises(SystemExit) as refused:
        main(["bench", "--budgets", "0,5", "--passes"])
    assert refused.value.code == 2 and "--budgets: must be at least 1, got 0" in capsys.readouterr().err
