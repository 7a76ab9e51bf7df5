"""Reader for the IDX format of MNIST and Fashion-MNIST (plain or gzipped).

The header is checked before anything is trusted: magic number, element type,
dimension count, and that the payload holds exactly the declared number of
bytes. A bad file gets an error naming it, never a garbled tensor.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..core.errors import NotbugsError

_UBYTE = 0x08


MAX_BYTES = 2 << 30  # what an IDX file may hold (the largest release, MNIST's training images, holds 47 MB)


def _gunzip_bounded(data: bytes, path: Path) -> bytes:
    """A gzipped IDX file inflated no further than its own header says it holds (and never past ``MAX_BYTES``): a
    file that would inflate beyond that (a decompression bomb) is refused before it fills the memory."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    head = d.decompress(data, 4)
    if len(head) == 4 and head[0] == 0 and head[1] == 0:
        head += d.decompress(d.unconsumed_tail, 4 * head[3])
        dims = struct.unpack(f">{head[3]}I", head[4:]) if len(head) == 4 + 4 * head[3] else ()
        size = len(head) + math.prod(dims)
        if size > MAX_BYTES:
            raise NotbugsError(f"{path} declares {size} bytes of data, more than the {MAX_BYTES} an IDX file may "
                               "hold here; it is not a dataset of this lab")
        body = d.decompress(d.unconsumed_tail, size - len(head))
        if d.decompress(d.unconsumed_tail, 1):
            raise NotbugsError(f"{path} inflates beyond the {size} bytes its header declares; it is damaged or not "
                               "an IDX file")
        raw = head + body
    else:
        raw = head + d.decompress(d.unconsumed_tail, MAX_BYTES)
    if not d.eof:
        raise EOFError("the gzip stream ends before its trailer")
    return raw


def read_idx(path: Path) -> np.ndarray:
    path = Path(path)
    try:
        raw = _gunzip_bounded(path.read_bytes(), path) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise NotbugsError(f"{path} does not exist") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise NotbugsError(f"{path} is not a readable gzip file ({exc}); it is truncated or corrupt: delete it and "
                           f"get it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise NotbugsError(f"{path} is not an IDX file (bad magic number); expected MNIST-style idx1/idx3 data")
    if raw[2] != _UBYTE:
        raise NotbugsError(f"{path}: IDX element type 0x{raw[2]:02x} is not supported (only unsigned bytes, 0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise NotbugsError(f"{path} has a truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = math.prod(dims)  # Python's integers: a crafted header cannot overflow the check
    if len(raw) - header != expected:
        raise NotbugsError(
            f"{path} holds {len(raw) - header} data bytes but its header declares {dims} = {expected}; "
            "the file is truncated or corrupt: delete it and get it again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def idx_bytes(array: np.ndarray) -> bytes:
    """Unsigned bytes as an IDX file: magic 0x0000 08 ndim, big-endian dimensions, then the data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write unsigned bytes as IDX (gzipped if the name ends in .gz); used to make test files."""
    data = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(data) if str(path).endswith(".gz") else data)
