"""A lock per store step, for any number of processes (and machines on a shared filesystem).

A lock is a file linked into place (``link`` fails when the name exists: atomic
on local filesystems and NFS) that names its holder: host, pid, start time. While
held, a background thread touches it every ``HEARTBEAT`` seconds. A waiter
takes a lock over when its holder is gone: on the same host, a pid that no
longer exists (a SIGKILL leaves the file behind); elsewhere, a file whose
heartbeat is older than ``stale_seconds``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from ..core.errors import NotbugsError

HOST = socket.gethostname()
HEARTBEAT = 15.0
STALE_SECONDS = float(os.environ.get("NOTBUGS_LOCK_STALE", "120"))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def holder_gone(info: dict, age: float, stale_seconds: float) -> bool:
    """Whether a lock (or a partial folder) left by ``info``'s process can be taken over."""
    if info.get("host") == HOST and isinstance(info.get("pid"), int):
        return not pid_alive(info["pid"])
    return age > stale_seconds


class StepLock:
    """``with StepLock(path): ...`` holds the lock file at ``path``; ``wait_for`` says what the holder is doing."""

    def __init__(self, path: Path, *, stale_seconds: float | None = None, poll: float = 0.2,
                 on_wait=None, done=None):
        self.path = Path(path)
        self.stale = STALE_SECONDS if stale_seconds is None else stale_seconds
        self.poll, self.on_wait, self.done = poll, on_wait, done
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def _try_create(self) -> bool:
        """Write the holder to a private file, then link it to the lock's name: the lock file never exists without
        its holder, whenever the process is interrupted (an empty lock names no process, so nobody could tell
        that its holder is gone; holding signals back did not cover a signal taken by another thread)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mine = self.path.with_name(f"{self.path.name}.new-{HOST}-{os.getpid()}-{threading.get_ident()}")
        try:
            mine.write_text(json.dumps({"host": HOST, "pid": os.getpid(), "since": time.time()}))
            os.link(mine, self.path)
        except FileExistsError:
            return False
        finally:
            mine.unlink(missing_ok=True)
        return True

    def _holder(self) -> tuple[dict, float] | None:
        try:
            age = time.time() - self.path.stat().st_mtime
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        try:
            info = json.loads(text)
        except json.JSONDecodeError:  # damaged (a lock is linked in whole, never written in place): judged by its age
            info = {}
        return (info if isinstance(info, dict) else {}), age

    def acquire(self) -> bool:
        """Take the lock; False when, while waiting, ``done()`` became true (another process built the step)."""
        told = False
        while True:
            if self._try_create():
                self._beat = threading.Thread(target=self._heartbeat, daemon=True)
                self._beat.start()
                return True
            held = self._holder()
            if held is not None and holder_gone(held[0], held[1], self.stale):  # before done(): a dead holder's
                self._break(held[0])  # lock must not stand for a live one's
                continue
            if self.done is not None and self.done():
                return False
            if not told and self.on_wait is not None and held is not None:
                self.on_wait(held[0])
                told = True
            time.sleep(self.poll)

    def _break(self, info: dict) -> None:
        """Remove a dead holder's lock; a rename first, so that two waiters cannot both remove a fresh one."""
        grave = self.path.with_name(f"{self.path.name}.dead-{HOST}-{os.getpid()}")
        try:
            os.replace(self.path, grave)
        except FileNotFoundError:
            return
        try:
            now = json.loads(grave.read_text())
        except (OSError, json.JSONDecodeError):
            now = {}
        if now != info and now.get("pid") is not None and not holder_gone(now, 0.0, self.stale):
            os.replace(grave, self.path)  # it was a new, live holder's: put it back
        else:
            grave.unlink(missing_ok=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                return

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=1)
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        if not self.acquire():
            raise NotbugsError(f"{self.path}: lock not taken")
        return self

    def __exit__(self, *exc):
        self.release()
