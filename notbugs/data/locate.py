"""Where dataset files are looked for, and the checked download.

Order: ``$NOTBUGS_DATA/<name>``, then ``$NOTBUGS_DATA`` read as a torchvision
dataset root (``MNIST/raw``, ``FashionMNIST/raw``, ``cifar-10-batches-py`` or
the archive beside it), so that a user's existing torchvision folder needs no
copy; then the Debian package folder ``/usr/share/datasets/<name>``, then the
user cache (``$XDG_CACHE_HOME/notbugs/<name>``, default ``~/.cache/notbugs/<name>``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from pathlib import Path

from ..core.errors import NotbugsError
from ..core.storage import atomic_write_bytes

# where torchvision keeps each dataset under its root folder
TORCHVISION = {"mnist": "MNIST/raw", "fashion-mnist": "FashionMNIST/raw", "cifar10": "."}


def places(name: str) -> list[tuple[Path, str]]:
    """The folders searched for dataset ``name``, in order, each with the name of its layout."""
    found = []
    if os.environ.get("NOTBUGS_DATA"):
        root = Path(os.environ["NOTBUGS_DATA"])
        found.append((root / name, "notbugs"))
        if name in TORCHVISION:
            found.append(((root / TORCHVISION[name]).resolve(), "torchvision root"))
    found.append((Path("/usr/share/datasets") / name, "Debian package"))
    found.append((cache_dir(name), "user cache"))
    return found


def search_dirs(name: str) -> list[Path]:
    return [folder for folder, _ in places(name)]


def cache_dir(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "notbugs" / name


def find_file(name: str, stem: str) -> tuple[Path, str] | None:
    """The first ``stem`` or ``stem.gz`` found in the search folders of dataset ``name``, and its layout."""
    for folder, layout in places(name):
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate, layout
    return None


def download(url: str, dest: Path, sha256_uncompressed: str) -> Path:
    """Fetch ``url`` to ``dest`` and check the sha256 of its (gunzipped) content.

    The check is on the decompressed bytes, since mirrors recompress the same
    data. A mismatch leaves nothing behind.
    """
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            data = resp.read()
    except OSError as exc:
        raise NotbugsError(f"could not download {url} ({exc}); place the file in {dest.parent} by hand") from None
    payload = gzip.decompress(data) if url.endswith(".gz") else data
    digest = hashlib.sha256(payload).hexdigest()
    if digest != sha256_uncompressed:
        raise NotbugsError(f"{url} has sha256 {digest}, expected {sha256_uncompressed}; not saved")
    atomic_write_bytes(dest, data)
    return dest
