import pytest

from notbugs.pipeline import Store, config_key


def test_key_covers_config_and_kind():
    assert config_key("model", {"a": 1, "b": 2}) == config_key("model", {"b": 2, "a": 1})
    assert config_key("model", {"a": 1}) != config_key("model", {"a": 2})
    assert config_key("model", {"a": 1}) != config_key("dataset", {"a": 1})


def test_made_once_then_reused(tmp_path):
    store, calls = Store(tmp_path), []

    def make(folder):
        calls.append(folder)
        (folder / "x.txt").write_text("done")
        return {"value": 3}

    path, info = store.get("thing", {"k": 1}, make)
    again, info2 = store.get("thing", {"k": 1}, make)
    assert len(calls) == 1 and path == again and (path / "x.txt").read_text() == "done"
    assert info["summary"] == info2["summary"] == {"value": 3}
    assert [e["cached"] for e in store.log] == [False]  # asked twice in one run: one step of that run
    later = Store(tmp_path)  # another run on the same store reuses it
    assert later.get("thing", {"k": 1}, make)[0] == path and len(calls) == 1
    assert [e["cached"] for e in later.log] == [True]


def test_interrupted_step_leaves_nothing(tmp_path):
    store = Store(tmp_path)

    def broken(folder):
        (folder / "half.bin").write_bytes(b"12")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.get("thing", {"k": 2}, broken)
    assert list((tmp_path / "thing").iterdir()) == []
    path, _ = store.get("thing", {"k": 2}, lambda folder: None)
    assert path.is_dir() and not (path / "half.bin").exists()
