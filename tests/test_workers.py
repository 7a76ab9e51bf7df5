"""Seeds on several processes: builds counted, results equal to one worker's, a killed worker, the Slurm script."""

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import torch

from notbugs.cli import main
from notbugs.core.storage import write_json
from notbugs.running.runner import make_preset
from notbugs.running.seeds import run_seeds
from notbugs.running.workers import make_executor, seed_job, slurm_script

NAMES = ["paper", "leakage"]  # paper's shared steps, and an experiment that reads them


def built(folder: Path) -> list[str]:
    """The keys of every step a run built (not read), over every seed's event log."""
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    return [e["key"] for e in events if e["event"] == "built"]


def numbers(results: dict) -> str:
    """What a run measured, without its timings and places."""
    keep = {s: {n: (e["results"], [(c["id"], c["verdict"]) for c in e["claims"]])
                for n, e in r["experiments"].items() if e["status"] == "done"}
            for s, r in results["per_seed"].items()}
    return json.dumps(keep, sort_keys=True, default=str)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workers")
    code = main(["reproduce", *NAMES, "--preset", "tiny", "--seeds", "0,1", "--workers", "2", "--quiet",
                 "--out", str(tmp / "run"), "--cache", str(tmp / "cache")])
    assert code == 0
    return tmp


@pytest.mark.slow
def test_two_workers_build_every_step_once_and_agree_with_one(two_workers, tmp_path):
    keys = built(two_workers / "run")
    assert keys and len(keys) == len(set(keys))  # no step built twice, though both seeds needed some (the data)
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // 2))  # each worker's thread count: the same keys
    try:
        serial = run_seeds(NAMES, lambda seed: make_preset("tiny", seed=seed), [0, 1], out=tmp_path / "one",
                           cache=tmp_path / "cache", progress=False, events=tmp_path / "one-events.jsonl")
    finally:
        torch.set_num_threads(threads)
    parallel = json.loads((two_workers / "run" / "results.json").read_text())
    write_json(tmp_path / "one.json", serial)  # as the CLI writes it: typed numbers with their intervals
    assert numbers(parallel) == numbers(json.loads((tmp_path / "one.json").read_text()))
    one = [json.loads(line)["key"] for line in (tmp_path / "one-events.jsonl").read_text().splitlines()
           if json.loads(line)["event"] == "built"]
    assert sorted(one) == sorted(keys)  # the same steps, each built once either way
    for seed in (0, 1):
        assert (two_workers / "run" / f"seed-{seed}" / "report.html").is_file()


@pytest.mark.slow
def test_a_worker_killed_mid_step_leaves_nothing_read_as_done(tmp_path):
    """A job is killed while it builds; the next run on the same store builds what it left, and gives the
    numbers of a run that was never interrupted."""
    preset = make_preset("tiny", seed=0)
    pool = make_executor("local", tmp_path / "jobs" / "%j")
    job = pool.submit(seed_job, ["paper"], preset, out=tmp_path / "a", cache=tmp_path / "cache",
                      write_to=tmp_path / "a", threads=1)
    log = tmp_path / "a" / "events.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.is_file() and '"started"' in log.read_text()
                                          and log.read_text().count('"built"') >= 2):
        time.sleep(0.2)
    os.kill(int((tmp_path / "a" / "worker.pid").read_text()), signal.SIGKILL)  # the worker itself, mid-run
    with pytest.raises(Exception):
        job.result()
    assert not (tmp_path / "a" / "results.json").is_file() or json.loads(
        (tmp_path / "a" / "results.json").read_text())["experiments"]["paper"]["status"] != "done"
    again = seed_job(["paper"], preset, out=tmp_path / "b", cache=tmp_path / "cache", write_to=tmp_path / "b",
                     threads=1)
    fresh = seed_job(["paper"], preset, out=tmp_path / "c", cache=tmp_path / "fresh", write_to=tmp_path / "c",
                     threads=1)
    assert json.dumps(again["models"], default=str) == json.dumps(fresh["models"], default=str)
    partial = [p for p in (tmp_path / "cache").rglob("*") if ".partial" in p.name or ".work" in p.name]
    assert all(not (p / "DONE").exists() for p in partial)


def test_the_slurm_job_script_is_generated_without_a_cluster(tmp_path):
    script = slurm_script(tmp_path / "jobs", {"partition": "gpu", "time": 600, "gpus_per_node": 1,
                                              "cpus_per_task": 8})
    assert script.startswith("#!/bin/bash")
    for line in ("#SBATCH --partition=gpu", "#SBATCH --time=600", "#SBATCH --gpus-per-node=1",
                 "#SBATCH --cpus-per-task=8", "#SBATCH --job-name=notbugs"):
        assert line in script, script
    assert "submitit.core._submit" in script


def test_parallel_runs_refuse_what_they_cannot_do(tmp_path, capsys):
    assert main(["reproduce", "theory", "--preset", "tiny", "--workers", "2", "--out", str(tmp_path / "o")]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["reproduce", "theory", "--preset", "tiny", "--seeds", "0,1", "--executor", "slurm",
                 "--out", str(tmp_path / "o")]) == 2
    assert "sbatch" in capsys.readouterr().err
    with pytest.raises(Exception, match="--slurm"):
        slurm_script(tmp_path / "jobs", {"no_such_parameter": 1})
    assert not (tmp_path / "o").exists()


def test_workers_without_submitit_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "submitit", None)  # import submitit now raises ImportError
    code = main(["reproduce", "paper", "--preset", "tiny", "--seeds", "0,1", "--workers", "2", "--out",
                 str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "notbugs[slurm]" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()  # said before anything was written
