"""ImageFolder-style trees: ``ROOT/{train,test}/<class>/<image>``.

Class names come from the ``train`` folder's sub-folders, sorted. All images
must share one size unless ``size`` asks for a resize; grayscale trees stay
one-channel.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..core.errors import NotbugsError

MAX_PIXELS = 4096 * 4096  # per image: larger ones are refused before they are decompressed
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".webp", ".tif", ".tiff"}


def _split_dir(root: Path, split: str) -> Path:
    for name in ([split] if split == "train" else [split, "val"]):
        if (root / name).is_dir():
            return root / name
    raise NotbugsError(f"{root} has no '{split}' folder; expected {root}/train/<class>/*.png and "
                       f"{root}/test/<class>/*.png")


def read_folder(root: Path, size: tuple[int, int] | None = None):
    """(train_x uint8 NCHW, train_y, test_x, test_y, classes, files): ``files`` maps each image's path inside
    the tree (split/class/name) to its file, so that the data's key follows a moved or deleted image."""
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    if not root.is_dir():
        raise NotbugsError(f"{root} is not a folder; give folder:PATH with PATH/train/<class>/ images")
    classes = sorted(p.name for p in _split_dir(root, "train").iterdir() if p.is_dir())
    if not classes:
        raise NotbugsError(f"{root}/train has no class sub-folders")
    out, used = [], {}
    for split in ("train", "test"):
        base = _split_dir(root, split)
        files = [(f, i) for i,
                 c in enumerate(classes) for f in sorted((base / c).glob("*")) if f.suffix.lower() in IMAGE_SUFFIXES]
        used.update({f"{split}/{classes[i]}/{f.name}": f for f, i in files})
        if not files:
            raise NotbugsError(f"{base} holds no images in the class folders {classes}")
        empty = [c for i, c in enumerate(classes) if not any(j == i for _, j in files)]
        if empty and split == "train":
            raise NotbugsError(f"{base}: the class folder(s) {', '.join(empty)} hold no images; remove them or add "
                               "images (a class without images gives a model an output it never learns)")
        images = []
        for f, _ in files:
            try:
                with warnings.catch_warnings():  # a huge image is refused, not decompressed (a decompression bomb)
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    with Image.open(f) as im:
                        if im.size[0] * im.size[1] > MAX_PIXELS:
                            raise NotbugsError(f"{f} is {im.size[0]}x{im.size[1]} pixels, more than the {MAX_PIXELS} "
                                               "an image of a dataset folder may have here; resize the images")
                        im.load()
                        images.append(im.copy())
            except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning,
                    Image.DecompressionBombError) as exc:
                raise NotbugsError(f"{f} is not a readable image ({exc})") from None
        out.append((images, np.array([i for _, i in files], dtype=np.int64)))
    gray = all(im.mode in ("L", "1", "I;16") for images, _ in out for im in images)
    target = size or out[0][0][0].size[::-1]
    arrays = []
    for images, labels in out:
        batch = []
        for im in images:
            im = im.convert("L" if gray else "RGB")
            if im.size[::-1] != tuple(target):
                if size is None:
                    raise NotbugsError(f"images in {root} differ in size ({im.size[::-1]} vs {tuple(target)}); pass a "
                                       f"size to resize them")
                im = im.resize((target[1], target[0]))
            a = np.asarray(im, dtype=np.uint8)
            batch.append(a[None] if gray else a.transpose(2, 0, 1))
        arrays += [np.stack(batch), labels]
    return (*arrays, classes, used)
