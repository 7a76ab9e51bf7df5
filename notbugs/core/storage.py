"""Saving tensors as safetensors beside a JSON manifest, atomically.

Nothing here unpickles: a file written by someone else can hold tensors and
text, never code. Writes go to a temporary name and are renamed into place,
so an interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import tempfile
import time
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .. import __version__
from .errors import NotbugsError
from .values import from_json, to_json


def _umask() -> int:
    """The process's umask (it can only be read by setting it, so it is set back at once)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary name beside ``path`` and rename: a reader sees the old file or the new, never half.
    The file gets the user's umask (mkstemp's own 0600 would hide results from colleagues on a shared store)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_text(obj) -> str:
    """Strict JSON of a results tree (typed values in their JSON form; no NaN or Infinity)."""
    return json.dumps(to_json(obj), indent=2, allow_nan=False) + "\n"


def write_json(path: Path, obj) -> None:
    atomic_write_bytes(Path(path), json_text(obj).encode())


def read_json(path: Path, *, typed: bool = True):
    """A JSON file, with typed values (proportions, number-keyed maps) read back unless ``typed`` is off."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise NotbugsError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise NotbugsError(f"{path} is a folder, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotbugsError(f"{path} cannot be read ({exc})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotbugsError(f"{path} is not valid JSON ({exc}); the file is corrupt, re-create it") from None
    return from_json(obj) if typed else obj


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    atomic_write_bytes(Path(path), save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise NotbugsError(f"{path} does not exist")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise NotbugsError(f"{path} is not a readable safetensors file ({exc}); it is corrupt or truncated, re-create "
                           f"it") from None


# what torch's safe unpickler says when a pickle names a callable or class it does not allow: code, refused unrun
_NAMES_CODE = ("GLOBAL", "unrecognized function", "Can only build", "Can only create new object")


def torch_load_tensors(path: Path):
    """Another project's ``torch.save`` file, loaded with ``weights_only=True``: tensors and
    containers of them come back; a pickle that names any other callable is refused unrun."""
    path = Path(path)
    if not path.is_file():
        raise NotbugsError(f"{path} does not exist")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then loads or refuses
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's first line suggests weights_only=False; the line worth showing names what was refused
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if "Unsupported" in ln or "GLOBAL" in ln),
                      lines[-1] if lines else "not plain tensors")
        if any(mark in str(exc) for mark in _NAMES_CODE) or _is_pickle(path):  # a pickle it will not read: refused
            raise NotbugsError(f"{path} was refused: it holds more than tensors ({reason}). "
                               "Only plain tensors and state dicts are loaded, never pickled code") from None
        raise _unreadable(path, reason) from None
    except (RuntimeError, EOFError, OSError, ValueError, IndexError, KeyError, struct.error) as exc:
        raise _unreadable(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def _is_pickle(path: Path) -> bool:
    """Whether the file opens as a pickle does (PROTO 2-5); anything else the unpickler choked on is damage (an
    opcode it does not know, a short read, an empty stack), not code."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _unreadable(path: Path, reason: str) -> NotbugsError:
    return NotbugsError(f"{path} is not a readable PyTorch file ({reason}): it is corrupt, truncated or not made by "
                        "torch.save; re-create it")


def manifest(kind: str, config: dict, **extra) -> dict:
    """What made an artifact: enough to tell two artifacts apart and to rebuild one."""
    return {
        "kind": kind,
        "config": config,
        "notbugs_version": __version__,
        "torch_version": torch.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }
