"""The store: keys from what a step declares, built once, verified when read, rebuilt on request."""

import json
import os
import stat

import pytest
import torch

from notbugs.core.errors import NotbugsError
from notbugs.core.storage import read_json, write_json
from notbugs.core.values import ByNumber
from notbugs.store.pipeline import DONE, Store, step_key
from verdicts import Proportion


class Keyed:
    def __init__(self, key):
        self.key = key


def test_key_covers_kind_params_inputs_version_and_context():
    ctx = {"device": "cpu", "threads": 2}
    base = step_key("model", {"a": 1, "b": 2}, {"data": Keyed("x")}, 1, ctx)
    assert base == step_key("model", {"b": 2, "a": 1}, {"data": Keyed("x")}, 1, ctx)
    for other in (step_key("model", {"a": 1, "b": 3}, {"data": Keyed("x")}, 1, ctx),
                  step_key("dataset", {"a": 1, "b": 2}, {"data": Keyed("x")}, 1, ctx),
                  step_key("model", {"a": 1, "b": 2}, {"data": Keyed("y")}, 1, ctx),
                  step_key("model", {"a": 1, "b": 2}, {"data": Keyed("x")}, 2, ctx),
                  step_key("model", {"a": 1, "b": 2}, {"data": Keyed("x")}, 1, {**ctx, "threads": 1})):
        assert other != base


def test_thread_count_is_in_every_key(tmp_path):
    """The same command with OMP_NUM_THREADS=1 computes other numbers: its steps get other keys."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = Store(tmp_path).key("model", {"a": 1})
        torch.set_num_threads(2)
        two = Store(tmp_path).key("model", {"a": 1})
    finally:
        torch.set_num_threads(threads)
    assert one != two


def test_made_once_then_reused(tmp_path):
    store, calls = Store(tmp_path), []

    def make(b):
        calls.append(b.folder)
        (b.folder / "x.txt").write_text("done")
        return {"value": 3, "acc": Proportion(0.5, 10), "by_eps": ByNumber({0.5: Proportion(0.2, 10)})}

    art = store.get("model", {"k": 1}, make)
    again = store.get("model", {"k": 1}, make)
    assert len(calls) == 1 and art.path == again.path and art.file("x.txt").read_text() == "done"
    assert art.summary["acc"].n == 10 and art.summary["by_eps"][0.5] == 0.2  # typed values read back
    assert [e["cached"] for e in store.log] == [False]  # asked twice in one run: one step of that run
    later = Store(tmp_path)  # another run on the same store reuses it
    assert later.get("model", {"k": 1}, make).path == art.path and len(calls) == 1
    assert [e["cached"] for e in later.log] == [True]


def test_interrupted_step_leaves_nothing(tmp_path):
    store = Store(tmp_path)

    def broken(b):
        (b.folder / "half.bin").write_bytes(b"12")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.get("model", {"k": 2}, broken)
    assert list((tmp_path / "model").iterdir()) == []
    art = store.get("model", {"k": 2}, lambda b: None)
    assert art.path.is_dir() and not art.file("half.bin").exists()


def test_a_step_that_reads_an_undeclared_input_fails(tmp_path):
    store = Store(tmp_path)
    a = store.get("model", {"k": "a"}, lambda b: (b.folder / "w").write_text("1") and None)

    def sneaky(b):
        return {"read": store.open(a).name}  # what a lab helper does before it loads an artifact

    with pytest.raises(NotbugsError, match="read .* without declaring it as an input"):
        store.get("measure", {"k": 1}, sneaky, version="v")
    declared = store.get("measure", {"k": 2}, lambda b: {"read": store.open(b.inputs["a"]).name}, inputs={"a": a},
                         version="v")
    assert declared.summary["read"] == a.key
    # nor may it ask the store for another step inside its make: that is an input it did not declare
    with pytest.raises(NotbugsError, match="declare it as an input instead"):
        store.get("measure", {"k": 3}, lambda b: store.get("model", {"x": 1}, lambda c: None) and None, version="v")


def test_files_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "r.json", {"a": 1})
        Store(tmp_path / "store").get("model", {"k": 1}, lambda b: (b.folder / "w").write_text("1") and None)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644  # mkstemp alone gives 0600
    for path in (tmp_path / "store").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) in (0o644, 0o755), path


def test_results_json_is_strict(tmp_path):
    write_json(tmp_path / "r.json", {"undefined": float("nan"), "inf": float("inf"), "p": Proportion(0.25, 8)})
    text = (tmp_path / "r.json").read_text()
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert parsed["undefined"] is None and parsed["p"] == {"p": 0.25, "n": 8, "ci": list(Proportion(0.25, 8).ci)}
    assert read_json(tmp_path / "r.json")["p"].n == 8


# --- damage: detected, named, rebuilt -------------------------------------------------------------------------------

def _build(store, calls):
    def make(b):
        calls.append(1)
        (b.folder / "w.bin").write_bytes(bytes(range(256)) * 8)
        return {"acc": Proportion(0.9, 100)}

    return store.get("model", {"k": 1}, make)


def _flip(path):
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_summary(art):
    info = json.loads((art.path / DONE).read_text())
    info["summary"]["acc"]["p"] = 0.1
    (art.path / DONE).write_text(json.dumps(info))


@pytest.mark.parametrize("damage", [
    lambda art: _flip(art.file("w.bin")),  # bytes overwritten, size intact
    lambda art: art.file("w.bin").write_bytes(b"\0" * 2048),  # zeroed
    lambda art: art.file("w.bin").write_bytes(b"short"),  # truncated
    lambda art: art.file("w.bin").unlink(),  # a deleted file
    lambda art: (art.path / DONE).unlink(),  # no done-marker
    _edit_summary,  # a hand-edited summary
    lambda art: (art.path / DONE).write_text("{not json"),  # a corrupt record
], ids=["flipped", "zeroed", "truncated", "deleted", "no-marker", "edited-summary", "corrupt-record"])
def test_damage_is_named_and_rebuilt(tmp_path, damage):
    events, calls = [], []
    art = _build(Store(tmp_path), calls)
    damage(art)
    store = Store(tmp_path, on_event=events.append)
    again = _build(store, calls)
    assert len(calls) == 2 and again.summary["acc"] == 0.9 and again.file("w.bin").read_bytes() == bytes(range(256)) * 8
    assert [e["event"] for e in events if e["event"] != "started"][:2] == ["damaged", "built"]
    assert Store(tmp_path).verify() == []
    # in a read-only run the same damage stops the run with one message, and nothing is rebuilt
    damage(again)
    with pytest.raises(NotbugsError, match="read-only"):
        _build(Store(tmp_path, read_only=True), calls)
    assert len(calls) == 2


def test_verify_names_every_damaged_artifact_and_fix_removes_them(tmp_path):
    calls = []
    art = _build(Store(tmp_path), calls)
    _flip(art.file("w.bin"))
    problems = Store(tmp_path).verify()
    assert len(problems) == 1 and "w.bin does not have its recorded sha256" in problems[0]
    assert Store(tmp_path).verify(fix=True) == problems and not art.path.exists()


# --- rebuild on request --------------------------------------------------------------------------------------------

def test_rebuild_a_kind_rebuilds_it_and_what_depends_on_it(tmp_path):
    def chain(store):
        a = store.get("model", {"k": 1}, lambda b: {"v": 1})
        store.get("eval", {"k": 1}, lambda b: {"v": 2}, inputs={"model": a})
        store.get("picture", {"k": 1}, lambda b: {"v": 3})
        return [s["cached"] for s in store.log]

    assert chain(Store(tmp_path)) == [False, False, False]
    assert chain(Store(tmp_path)) == [True, True, True]
    assert chain(Store(tmp_path, rebuild=("model",))) == [False, False, True]  # eval depends on the model
    assert chain(Store(tmp_path, rebuild=("all",))) == [False, False, False]
