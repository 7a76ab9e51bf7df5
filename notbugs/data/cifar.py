"""Reader for CIFAR-10's "python version" batches without running pickled code.

The batches are pickles, and a pickle can call any function. The unpickler
below resolves only the handful of numpy names an array (or a numpy integer
label) needs, so a crafted file fails with an error instead of executing
anything. Batches are read from a folder (``cifar-10-batches-py``) or in place
from the release archive ``cifar-10-python.tar.gz``; a batch of the release's
size is checked against its published md5 (torchvision's list), so a damaged
download is named instead of read.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from ..core.errors import NotbugsError

try:
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct, scalar

# (module, name) -> the object an ndarray or numpy-scalar pickle needs; nothing else resolves.
# ``scalar(dtype, bytes)`` only builds a number from its bytes: labels written with numpy pickle as that.
_ALLOWED = {
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "scalar"): scalar,
    ("numpy.core.multiarray", "scalar"): scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        obj = _ALLOWED.get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return obj


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file -> (uint8 images N x 3 x 32 x 32, int64 labels)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotbugsError(f"{path} does not exist") from None
    return parse_batch(raw, path)


def parse_batch(raw: bytes, path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of one batch (``path`` names it in errors) -> images and labels."""
    try:
        batch = _SafeUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise NotbugsError(f"{path} is not a CIFAR-10 python batch ({exc}); it is corrupt, truncated or not "
                           "data") from None
    if not isinstance(batch, dict):
        raise NotbugsError(f"{path} is not a CIFAR-10 python batch (expected a dict)")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise NotbugsError(f"{path} lacks the 'data' or 'labels' entry of a CIFAR-10 batch")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise NotbugsError(f"{path}: 'data' has shape {data.shape} / {data.dtype}, expected N x 3072 uint8")
    if len(labels) != len(data):
        raise NotbugsError(f"{path}: {len(data)} images but {len(labels)} labels")
    published = RELEASE_MD5.get(Path(str(path)).name)
    if published and len(data) == RELEASE_SIZE and hashlib.md5(raw, usedforsecurity=False).hexdigest() != published:
        raise NotbugsError(f"{path} holds {RELEASE_SIZE} images like the release's batch but its md5 is not the "
                           f"published {published}: it is damaged or altered; delete it and unpack the archive again")
    return data.reshape(-1, 3, 32, 32), labels


def read_archive(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The batches of ``cifar-10-python.tar.gz``, read in memory without unpacking it."""
    wanted = {f"{FOLDER}/{name}": name for name in TRAIN_FILES + TEST_FILES}
    batches = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    if member.size > MAX_BATCH_BYTES:  # read nothing that would not fit a batch (a tar bomb)
                        raise NotbugsError(f"{path}:{member.name} declares {member.size} bytes; a CIFAR-10 batch "
                                           f"holds about 31 MB: this is not CIFAR-10's python archive")
                    batches[wanted[member.name]] = parse_batch(tar.extractfile(member).read(),
                                                               f"{path}:{member.name}")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise NotbugsError(f"{path} is not a readable tar.gz archive ({exc}); it is truncated or corrupt: "
                           "delete it and download it again") from None
    missing = sorted(set(wanted.values()) - set(batches))
    if missing:
        raise NotbugsError(f"{path} lacks {', '.join(missing)} under {FOLDER}/; it is not CIFAR-10's python archive")
    return batches


FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILES = ["test_batch"]
RELEASE_SIZE = 10000  # images per batch of the release
MAX_BATCH_BYTES = 256 << 20  # a release batch is 31 MB; a member larger than this is not one
RELEASE_MD5 = {"data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
               "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
               "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e"}
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
