"""Cached, content-addressed steps.

An artifact lives in ``<store>/<kind>/<key>/`` where the key hashes the
step's kind and config, and the config names its inputs by *their* keys, so
changing one setting recomputes exactly what depends on it. A step builds in
a temporary folder and renames it into place when complete: an interrupted
run leaves no half-made artifact, and the next run starts that step again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable

from .storage import read_json, write_json

DONE = "artifact.json"


def config_key(kind: str, config: dict) -> str:
    text = json.dumps({"kind": kind, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Store:
    def __init__(self, root: Path, on_step: Callable[[str, bool], None] | None = None):
        self.root = Path(root)
        self.log: list[dict] = []  # each step of this run: computed or reused, and what it cost to build
        self.on_step = on_step  # told (label, cached) as each step is reused or starts building
        self._seen: dict[tuple[str, str], tuple[Path, dict]] = {}  # steps this run already has: asked again, not logged again

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def has(self, kind: str, config: dict) -> bool:
        """Whether the artifact for (kind, config) is already built."""
        return (self.path(kind, config_key(kind, config)) / DONE).is_file()

    def get(self, kind: str, config: dict, make: Callable[..., dict | None], label: str | None = None, *,
            resumable: bool = False, record: bool = True) -> tuple[Path, dict]:
        """The artifact for (kind, config), made by ``make(folder)`` unless it already exists.

        ``make`` writes its files into the folder it is given and may return a
        dict of summary values, kept in the artifact's ``artifact.json``. A
        ``resumable`` step is called as ``make(folder, work)``: ``work`` outlives
        an interruption (``.<key>.work``), so the step can keep finished parts there.
        ``record=False`` keeps a step that wraps other steps out of the log, so
        their time is not counted twice.
        """
        key = config_key(kind, config)
        if (kind, key) in self._seen:
            return self._seen[kind, key]
        final = self.path(kind, key)
        cached = (final / DONE).is_file()
        if self.on_step:
            self.on_step(label or kind, cached)
        if cached:
            info = read_json(final / DONE)
            if record:
                self._record(label or kind, kind, key, True, 0.0, info["seconds"])
            self._seen[kind, key] = final, info
            return final, info
        tmp = final.parent / f".{key}.partial-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        start = time.perf_counter()
        try:
            work = final.parent / f".{key}.work"
            summary = (make(tmp, work) if resumable else make(tmp)) or {}
            seconds = time.perf_counter() - start
            info = {"kind": kind, "key": key, "config": config, "summary": summary, "seconds": seconds,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            write_json(tmp / DONE, info)
            if final.exists():  # made meanwhile by another process: keep theirs
                shutil.rmtree(tmp)
            else:
                os.replace(tmp, final)
            if resumable:
                shutil.rmtree(work, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if record:
            self._record(label or kind, kind, key, False, seconds, seconds)
        self._seen[kind, key] = final, read_json(final / DONE)
        return self._seen[kind, key]

    def _record(self, step: str, kind: str, key: str, cached: bool, seconds: float, build_seconds: float) -> None:
        self.log.append({"step": step, "kind": kind, "key": key, "cached": cached, "seconds": round(seconds, 2),
                         "build_seconds": round(build_seconds, 2)})
