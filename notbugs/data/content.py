"""What a dataset *is*, as a string for the store's keys: its files' hashes, or its tensors' hash.

A dataset named by its path alone would keep its key when its files change
(a relabelled class folder, a deleted image), and the store would serve
numbers computed from the old files. So every loader says what it read: the
sha256 of each file, computed once and remembered by (path, size,
modification time) in the user cache, so an untouched dataset costs no
hashing on a rerun. Data made in memory is keyed by its tensors.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

_MEMO: dict[tuple[str, int, int], str] = {}
HASHED = {"files": 0, "bytes": 0}  # what this process actually hashed (a rerun should hash nothing)


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "notbugs" / "file-hashes.json"


def _load_cache() -> dict:
    try:
        data = json.loads(_cache_file().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(entries: dict) -> None:
    from ..core.storage import atomic_write_bytes

    try:
        atomic_write_bytes(_cache_file(), json.dumps(entries).encode())
    except OSError:  # a read-only home: hash again next time, nothing worse
        pass


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, remembered by (resolved path, size, mtime_ns)."""
    path = Path(path).resolve()
    st = path.stat()
    stamp = (str(path), st.st_size, st.st_mtime_ns)
    if stamp in _MEMO:
        return _MEMO[stamp]
    cache = _load_cache()
    hit = cache.get(str(path))
    if isinstance(hit, list) and len(hit) == 3 and hit[:2] == [st.st_size, st.st_mtime_ns]:
        _MEMO[stamp] = hit[2]
        return hit[2]
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    HASHED["files"] += 1
    HASHED["bytes"] += st.st_size
    _MEMO[stamp] = digest
    cache = _load_cache()  # re-read: another process may have added entries meanwhile
    cache[str(path)] = [st.st_size, st.st_mtime_ns, digest]
    _save_cache(cache)
    return digest


def files_content(files: dict[str, Path]) -> str:
    """A dataset read from files: each file's name in the dataset (a relative path) with its sha256."""
    listing = sorted((name, file_sha256(path)) for name, path in files.items())
    return "files:" + hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def tensors_content(*parts) -> str:
    """A dataset held in memory: the hash of its tensors (and of any strings given, e.g. class names)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            t = part.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes())
        elif isinstance(part, np.ndarray):
            h.update(f"{part.dtype}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, default=str).encode())
    return "tensors:" + h.hexdigest()
