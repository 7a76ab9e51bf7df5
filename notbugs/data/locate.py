"""Where dataset files are looked for, and the checked download.

Order: ``$NOTBUGS_DATA/<name>``, the Debian package folder
``/usr/share/datasets/<name>``, then the user cache
(``$XDG_CACHE_HOME/notbugs/<name>``, default ``~/.cache/notbugs/<name>``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from pathlib import Path

from ..errors import NotbugsError
from ..storage import atomic_write_bytes


def search_dirs(name: str) -> list[Path]:
    dirs = []
    if os.environ.get("NOTBUGS_DATA"):
        dirs.append(Path(os.environ["NOTBUGS_DATA"]) / name)
    dirs.append(Path("/usr/share/datasets") / name)
    dirs.append(cache_dir(name))
    return dirs


def cache_dir(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "notbugs" / name


def find_file(name: str, stem: str) -> Path | None:
    """The first ``stem`` or ``stem.gz`` found in the search folders of dataset ``name``."""
    for folder in search_dirs(name):
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
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
