"""Where a command writes: a folder replaced only when the command succeeds, one command at a time."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from ..core.errors import NotbugsError


def check_device(device: str) -> None:
    from ..running.runner import check_device as check

    check(device)


@contextmanager
def output_folder(out: Path, keep: tuple[str, ...] = ()):
    """The folder a command writes its result into: a private sibling moved into place when it succeeds (``keep``
    names entries of ``out`` that stay where they are, a run's store), on the first process only under torchrun
    (the others write nothing: ``None``); one command at a time per folder."""
    from ..store.locks import StepLock
    from ..store.outputs import check_writable, staged
    from ..store.sharding import rank

    if rank() != 0:
        yield None
        return
    out = check_writable(out)
    lock = StepLock(out.parent / f".{out.name}.lock", done=lambda: True)
    if not lock.acquire():
        raise NotbugsError(f"another command is writing {out} right now; wait for it to finish or choose another "
                           "--out")
    try:
        with staged(out, keep) as tmp:
            yield tmp
    finally:
        lock.release()
