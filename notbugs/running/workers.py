"""Seeds in parallel: ``reproduce --seeds 0-9 --workers N`` (processes on this machine) or ``--executor slurm``.

Both go through submitit (its local executor starts each job as a subprocess by the same code path as a Slurm
job), and the store on a shared filesystem is the only coordination: a step that two workers ask for at once
is built by one of them (the store's lock per key) and read by the other, and a worker that dies mid-step
leaves only a private partial folder, which no reader takes for a step. Each job is one seed's ordinary run,
writing its own ``seed-<S>/`` folder; the parent combines them as the serial ``run_seeds`` does.

Threads: each local worker gets ``cpu_count // N`` intra-op threads (two processes with every core each
oversubscribe OpenMP), a Slurm job its ``cpus_per_task``. The thread count is part of every step's key (the
numbers differ in the last digits), so a run with another worker count builds its own artifacts.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable

from ..core.errors import NotbugsError
from ..frame.presets import Preset
from .runner import run_experiments

EXECUTORS = ("local", "slurm")
POLL_S = 1.0


def seed_job(names: list[str], preset: Preset, *, out: Path, cache: Path, write_to: Path, threads: int,
             write: Callable[[dict, Path], None] | None = None, rebuild: tuple = (), read_only: bool = False) -> dict:
    """One seed's run inside a worker: what ``run_seeds`` runs in-process, with this worker's thread count;
    ``write(results, folder)`` (a module-level function: it travels by name) writes its files as it goes."""
    import torch

    torch.set_num_threads(threads)
    Path(write_to).mkdir(parents=True, exist_ok=True)
    (Path(write_to) / "worker.pid").write_text(f"{os.getpid()}\n")  # the process doing the work, for a kill
    return run_experiments(names, preset, out=out, cache=cache, progress=False, write_to=write_to,
                           events=Path(write_to) / "events.jsonl", rebuild=rebuild, read_only=read_only,
                           on_update=(lambda results: write(results, Path(write_to))) if write else None)


def threads_for(workers: int, executor: str, slurm: dict) -> int:
    if executor == "slurm":
        return int(slurm.get("cpus_per_task", 1))
    return max(1, (os.cpu_count() or 1) // workers)


def make_executor(kind: str, folder: Path, slurm: dict | None = None):
    """A submitit executor writing its job files (pickles, logs, the sbatch script) under ``folder``."""
    import submitit

    if kind not in EXECUTORS:
        raise NotbugsError(f"unknown executor '{kind}'; use {' or '.join(EXECUTORS)}")
    if kind == "local":
        return submitit.LocalExecutor(folder=folder)
    executor = submitit.SlurmExecutor(folder=folder)
    params = {"job_name": "notbugs", **(slurm or {})}
    try:
        executor.update_parameters(**params)
    except (TypeError, ValueError) as err:
        raise NotbugsError(f"--slurm: {err}") from None
    return executor


def slurm_script(folder: Path, slurm: dict | None = None) -> str:
    """The sbatch script a Slurm submission would write, made by submitit's own writer without a cluster (its
    executor refuses to start where there is no srun), for checking and for the README."""
    from submitit.slurm import slurm as backend

    params = {"job_name": "notbugs", **(slurm or {})}
    unknown = sorted(set(params) - set(backend.SlurmExecutor._valid_parameters()))
    if unknown:
        raise NotbugsError(f"--slurm: unknown parameter(s) {', '.join(unknown)}; submitit's Slurm parameters are "
                           f"{', '.join(sorted(backend.SlurmExecutor._valid_parameters()))}")
    return backend._make_sbatch_string(command=f"{sys.executable} -u -m submitit.core._submit {folder}",
                                       folder=folder, **params)


def run_parallel(names: list[str], preset_for: Callable[[int], Preset], seeds: list[int], *, out: Path, cache: Path,
                 write_to: Path, workers: int, executor: str = "local", slurm: dict | None = None,
                 say: Callable[[str], None] | None = None,
                 on_done: Callable[[int, dict], None] | None = None, **store_options) -> dict[int, dict]:
    """Each seed as one job, at most ``workers`` at a time (on Slurm too: the parent submits the next as one ends);
    results by seed, in the order of ``seeds``; ``on_done(seed, results)`` as each finishes. A job that fails stops
    the run with its error."""
    slurm = dict(slurm or {})
    threads = threads_for(workers, executor, slurm)
    jobs_folder = Path(write_to) / "jobs"
    pool = make_executor(executor, jobs_folder / "%j", slurm)
    pending, running, done = list(seeds), {}, {}
    while pending or running:
        while pending and len(running) < workers:
            seed = pending.pop(0)
            folder = Path(write_to) / f"seed-{seed}"
            running[seed] = pool.submit(seed_job, names, preset_for(seed), out=Path(out) / f"seed-{seed}",
                                        cache=cache, write_to=folder, threads=threads, **store_options)
            if say:
                say(f"--- seed {seed}: job {running[seed].job_id} ({executor}, {threads} thread"
                    f"{'s' if threads != 1 else ''})")
        finished = [s for s, job in running.items() if job.done()]
        for seed in finished:
            job = running.pop(seed)
            try:
                done[seed] = job.result()
            except Exception as err:  # the job's own traceback is in its log
                for other in running.values():
                    other.cancel(check=False)
                raise NotbugsError(f"seed {seed}'s job {job.job_id} failed: {str(err).strip().splitlines()[-1]} "
                                   f"(its log: {job.paths.stderr})") from None
            if say:
                say(f"--- seed {seed} done ({len(done)} of {len(seeds)})")
            if on_done:
                on_done(seed, done[seed])
        if not finished:
            time.sleep(POLL_S)
    return {seed: done[seed] for seed in seeds}
