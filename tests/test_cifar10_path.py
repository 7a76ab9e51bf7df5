"""The cifar10 preset end to end on CIFAR-shaped data: the release's file format at toy sizes, every experiment.

CIFAR-10 itself is not obtainable on these machines; the test writes a few hundred learnable images in the real
release format and runs `reproduce all --preset cifar10` with ``configs/cifar10-smoke.toml``, which changes only
sizes and counts. Verdicts at that size mean nothing; what is checked is that every experiment runs through the
CIFAR-10 reader, 3-channel 32x32 models, flips and crops, and returns its claims.
"""

import json
from pathlib import Path

import pytest
from cifar_files import write_cifar_tree

from notbugs.cli import main
from notbugs.experiments.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_every_experiment_runs_at_the_cifar10_preset_on_cifar_shaped_data(tmp_path, monkeypatch, capsys):
    write_cifar_tree(tmp_path / "data" / "cifar10" / "cifar-10-batches-py", per_batch=80, test=120)
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path / "data"))
    code = main(["reproduce", "all", "--preset", "cifar10", "--config", str(ROOT / "configs" / "cifar10-smoke.toml"),
                 "--quiet", "--out", str(tmp_path / "run")])
    out = capsys.readouterr()
    run = json.loads((tmp_path / "run" / "results.json").read_text())
    errors = {name: e["error"] for name, e in run["experiments"].items() if e["error"]}
    assert code == 0 and not errors, (errors, out.err[-2000:])
    assert run["preset"] == "cifar10" and run["dataset"] == "cifar10" and run["settings"]["smoke"]
    assert run["settings"]["arch"] == "resnet18" and run["settings"]["fresh"]["flip"]
    for e in REGISTRY:
        entry = run["experiments"][e.name]
        assert entry["status"] == "done", (e.name, entry["status"], entry.get("reason"))
        assert len(entry["claims"]) == len(e.claims) and all(c["verdict"] for c in entry["claims"])
    assert run["models"]["std"]["clean_accuracy"]["p"] > 0.2  # the reader gave images a ResNet can learn from
    report = (tmp_path / "run" / "report.html").read_text()
    assert "smoke test" in report.lower()


def test_the_gpu_estimate_counts_each_models_operations():
    from notbugs.cli.estimate import forward_flops, paper_cost
    from notbugs.frame.presets import get_preset

    assert forward_flops("linear", (3, 32, 32)) == 2 * 3 * 32 * 32 * 10  # one matrix, counted by hand
    assert 1.0e9 < forward_flops("resnet18", (3, 32, 32)) < 1.2e9  # CIFAR ResNet-18: 0.56 G multiply-adds
    cost = paper_cost(get_preset("cifar10"))
    p = get_preset("cifar10")
    assert cost["passes"]["train adv"] == p.adv.epochs * 50000 * (p.adv.steps * 2 + 3)
    assert cost["total_seconds"] == sum(cost["seconds"].values()) > 0
