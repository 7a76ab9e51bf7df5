"""Reader for CIFAR-10's "python version" batches without running pickled code.

The batches are pickles, and a pickle can call any function. The unpickler
below resolves only the handful of numpy names an array needs, so a crafted
file fails with an error instead of executing anything.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path

import numpy as np

from ..errors import NotbugsError

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

# (module, name) -> the object an ndarray pickle needs; nothing else resolves.
_ALLOWED = {
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
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
        with path.open("rb") as fh:
            batch = _SafeUnpickler(fh, encoding="bytes").load()
    except FileNotFoundError:
        raise NotbugsError(f"{path} does not exist") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise NotbugsError(f"{path} is not a CIFAR-10 python batch ({exc}); it is corrupt, truncated or not data") from None
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
    return data.reshape(-1, 3, 32, 32), labels


TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILES = ["test_batch"]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
