"""Run folders that appear whole or not at all.

A folder is written into a private sibling (``.NAME.partial-PID``) and renamed into place when the block ends
without an error, so an interrupted run never leaves a half-written folder where a finished one is expected,
and a rerun can trust every folder it finds.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(path: str | Path):
    """``with atomic_folder(out / "seed-0") as tmp:`` write into ``tmp``; on success it becomes ``path``
    (replacing an older folder there), on an error or interruption it is removed and ``path`` is untouched."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)  # the finished folder is never half-replaced: the old one moves aside whole
    os.replace(partial, final)
    shutil.rmtree(old, ignore_errors=True)
