"""An output folder written so that a failure leaves the previous one intact and nothing mixed.

``train --out``, ``construct --out`` and ``reproduce --out`` write into a
private sibling (``.<name>.partial-<host>-<pid>``) and move it into place only
when they finish: an interrupted or failed command leaves the folder as it was
(never new data beside an old manifest), and the sibling is removed. A later
command removes the siblings of processes that no longer exist.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import NotbugsError
from .locks import HOST, STALE_SECONDS, holder_gone


def _sweep(out: Path) -> None:
    """Remove partial siblings of ``out`` left by processes that no longer exist."""
    if not out.parent.is_dir():
        return
    for p in out.parent.glob(f".{out.name}.partial-*"):
        host, _, pid = p.name.rsplit(".partial-", 1)[1].rpartition("-")
        if pid.isdigit() and holder_gone({"host": host, "pid": int(pid)}, 0.0, STALE_SECONDS):
            shutil.rmtree(p, ignore_errors=True)


def check_writable(out: Path) -> Path:
    """``out`` must be a folder (or not exist yet) in a place we may write: else one line saying so."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotbugsError(f"--out {out} is a file; give a folder to write the results into")
    parent = out.parent if not out.exists() else out
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise NotbugsError(f"--out {out}: {parent} is not writable; choose another folder")
    return out


@contextmanager
def staged(out: Path, keep: tuple[str, ...] = ()):
    """Yield a private folder to write ``out``'s contents into; on success it becomes ``out``.

    Without ``keep`` the whole folder is replaced. With ``keep``, the entries it names stay in ``out`` (a run's
    store, ``cache/``) and every other entry written is swapped in one by one, each by a rename.
    """
    out = check_writable(out)
    _sweep(out)
    tmp = out.parent / f".{out.name}.partial-{HOST}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        publish(tmp, out, keep)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(tmp: Path, out: Path, keep: tuple[str, ...] = ()) -> None:
    old = out.parent / f".{out.name}.old-{HOST}-{os.getpid()}"
    if not keep or not out.exists():
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
        return
    for entry in sorted(tmp.iterdir()):
        if entry.name in keep:
            continue
        dest = out / entry.name
        aside = out / f".{entry.name}.old-{HOST}-{os.getpid()}"
        if dest.exists():
            os.replace(dest, aside)
        os.replace(entry, dest)
        if aside.is_dir():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            aside.unlink(missing_ok=True)
