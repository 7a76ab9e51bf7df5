"""The content-addressed store: steps keyed by what they declare, built once, verified when read.

An artifact lives in ``<store>/<kind>/<key>/``. Its key hashes exactly what
the step declares: its kind, its parameters, the keys of its inputs (other
artifacts, datasets by their content), the version of the code that makes it
(``notbugs.store.versions``) and the compute context (device and thread count, which
change the numbers). ``make`` receives the declared inputs, and a step that
reads an artifact it did not declare fails (``Store.open``), so a key cannot
leave out what a result depends on.

A step is built by one process at a time (a lock per key; the others wait and
then read it), into a private partial folder that is renamed into place when
complete, with the size and sha256 of every file recorded. A read checks them:
a damaged or incomplete artifact is named and rebuilt (it is a cache), or, in a
read-only store, refused. A resumable step keeps finished parts in a work
folder owned by the lock holder, so an interrupted build resumes.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import json
import math
import os
import shutil
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePath
from typing import Callable

import torch

from ..core.errors import DiskFull, NotbugsError, NotbugsWarning
from ..core.storage import read_json, write_json
from ..core.values import from_json, to_json
from .locks import HOST, STALE_SECONDS, StepLock, holder_gone
from .versions import version as kind_version

DONE = "artifact.json"
PRODUCTS = ("picture",)  # kinds a step may make inside its own make (drawn from what it computed)
BUILT = [0]  # steps this process built and kept (what an interrupted run tells the user it keeps)


@dataclass(frozen=True)
class Artifact:
    """A finished step: where it is and what it summarised. ``lineage`` is the keys it stands for (itself)."""

    kind: str
    key: str
    path: Path
    summary: dict = field(compare=False)
    label: str = field(default="", compare=False)
    seconds: float = field(default=0.0, compare=False)  # what it took to build, whenever that was

    @property
    def lineage(self) -> frozenset[str]:
        return frozenset({self.key})

    @property
    def ref(self) -> str:
        """Its place in the store, relative to the store's root: what results name."""
        return f"{self.kind}/{self.key}"

    def file(self, name: str) -> Path:
        return self.path / name


@dataclass
class Build:
    """What a step's ``make`` gets: its folder, its declared inputs, and (resumable steps) a work folder."""

    folder: Path
    inputs: dict
    work: Path | None = None


def compute_context(device: str, precision: str = "fp32") -> dict:
    """What besides code and inputs changes a step's numbers: the device, the arithmetic (fp32 or bf16; on a GPU
    also whether TF32 is on), on a CPU the intra-op thread count (the same command with OMP_NUM_THREADS=1 gives
    other numbers than with 2), and the versions of the libraries that compute (torch; numpy and scikit-learn,
    which leakage and the data use)."""
    dev = torch.device(device)
    context = {"device": dev.type, "threads": torch.get_num_threads(), "torch": torch.__version__.split("+")[0],
               "numpy": _installed("numpy"), "scikit-learn": _installed("scikit-learn"), "precision": precision}
    if dev.type == "cuda" and torch.cuda.is_available():
        # TF32 matmuls and convolutions (Ampere and later) round fp32's inputs to 10 mantissa bits: other numbers
        context.update(gpu=torch.cuda.get_device_name(dev), tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                       tf32_cudnn=torch.backends.cudnn.allow_tf32)
    return context


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _plain(value, where: str = "params"):
    """``value`` as the JSON a key hashes, refusing what has no exact JSON form (a tensor, an object): its
    ``str()`` could be truncated or shared by two different values, and two steps would get one key."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotbugsError(f"a step's key cannot hold {value} (at {where}); give a finite number")
        return value
    if isinstance(value, Enum):
        return _plain(value.value, where)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        if not all(isinstance(k, (str, int, float)) for k in value):
            raise NotbugsError(f"a step's key needs text or number keys (at {where}), got "
                               f"{sorted({type(k).__name__ for k in value})}")
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise NotbugsError(f"a step's key cannot hold a {type(value).__module__}.{type(value).__qualname__} (at "
                       f"{where}): its text could stand for other values too; pass plain numbers, text, lists or "
                       "dicts (a tensor by its content hash)")


def step_key(kind: str, params: dict, inputs: dict, version, context: dict) -> str:
    payload = {"kind": kind, "version": version, "params": params,
               "inputs": {name: value.key for name, value in sorted(inputs.items())}, "context": context}
    return hashlib.sha256(json.dumps(_plain(payload, kind), sort_keys=True).encode()).hexdigest()[:20]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _summary_hash(plain_summary) -> str:
    """The sha256 of a summary in its JSON form (as written, before typed values are read back)."""
    return hashlib.sha256(json.dumps(plain_summary, sort_keys=True).encode()).hexdigest()


class Damaged(Exception):
    """An artifact on disk that is not what its record says."""


@dataclass
class _Frame:
    label: str
    allowed: set[str]
    composite: bool


class Store:
    """``Store(root).get(kind, params, make, inputs=..., label=...)`` -> the ``Artifact``, built at most once.

    ``on_step(label, cached)`` is told as each step is reused or starts building, ``on_event(dict)`` of every
    event (built, reused, damaged and rebuilt, waited for another process). ``rebuild`` names kinds, experiment
    names or "all": those steps, and every step that depends on one, are built again this run.
    """

    def __init__(self, root: Path, *, device: str = "cpu", precision: str = "fp32",
                 on_step: Callable[[str, bool], None] | None = None,
                 on_event: Callable[[dict], None] | None = None, rebuild: tuple[str, ...] = (),
                 read_only: bool = False):
        self.root = Path(root)
        self.device = device
        self.context = compute_context(device, precision)
        self.log: list[dict] = []  # each step of this run: computed or reused, and what it cost to build
        self.on_step, self.on_event = on_step, on_event
        self.rebuild, self.read_only = set(rebuild), read_only
        self._seen: dict[tuple[str, str], Artifact] = {}  # steps this run already has: asked again, not logged again
        self._rebuilt: set[str] = set()  # keys built again this run at the user's request (their dependents follow)
        self._frames: list[_Frame] = []
        self._swept: set[Path] = set()

    # keys ---------------------------------------------------------------------------------------------------
    def key(self, kind: str, params: dict, inputs: dict | None = None, version=None) -> str:
        return step_key(kind, params, inputs or {}, kind_version(kind) if version is None else version, self.context)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def has(self, kind: str, params: dict, inputs: dict | None = None, version=None) -> bool:
        """Whether the artifact is built (its record present; ``get`` verifies it)."""
        return (self.path(kind, self.key(kind, params, inputs, version)) / DONE).is_file()

    # the guard ----------------------------------------------------------------------------------------------
    def open(self, artifact: Artifact) -> Path:
        """An artifact's folder, for a caller about to read it: refused inside a step that did not declare it."""
        if self._frames:
            frame = self._frames[-1]
            if not frame.composite and artifact.key not in frame.allowed:
                raise NotbugsError(f"step '{frame.label}' read '{artifact.label or artifact.kind}' ({artifact.ref}) "
                                   "without declaring it as an input; pass it in the step's inputs")
        return artifact.path

    # building -----------------------------------------------------------------------------------------------
    def get(self, kind: str, params: dict, make: Callable[[Build], dict | None], *, inputs: dict | None = None,
            label: str | None = None, version=None, resumable: bool = False, record: bool = True,
            composite: bool = False, check: Callable[[dict], None] | None = None, group: str | None = None) -> Artifact:
        """The artifact for (kind, params, inputs), made by ``make(build)`` unless it exists and is sound.

        ``make`` writes files into ``build.folder`` and may return a dict of summary values (kept in the
        artifact's record). ``version`` overrides the kind's code version (an experiment's fingerprint).
        ``composite`` steps may ask for other steps inside ``make`` (an experiment's results); other steps read
        only their declared inputs and may draw pictures. ``check(summary)`` raises on a summary of the wrong
        shape (the artifact then counts as damaged). ``group`` names the experiment a step belongs to (for
        ``rebuild``). ``record=False`` keeps a step that wraps other steps out of the log.
        """
        inputs = dict(inputs or {})
        label = label or kind
        if self._frames and not self._frames[-1].composite and kind not in PRODUCTS:
            raise NotbugsError(f"step '{self._frames[-1].label}' asked for '{label}' inside its make; declare it "
                               "as an input instead")
        key = self.key(kind, params, inputs, version)
        if (kind, key) in self._seen:
            return self._allow(self._seen[kind, key])
        final = self.path(kind, key)
        self._sweep(final.parent)
        forced = self._forced(kind, group, composite, inputs)
        artifact = None if forced else self._verified(kind, key, final, check)
        if artifact is None and self.read_only:
            raise NotbugsError(f"step '{label}' ({kind}/{key}) is not in the store (or is damaged) and this run is "
                               "read-only; rerun without --read-only to build it")
        if artifact is not None:
            self._emit("reused", label, kind, key)
            if self.on_step:
                self.on_step(label, True)
            return self._remember(artifact, label, record, cached=True)
        lock = StepLock(final.parent / f".{key}.lock", on_wait=lambda info: self._emit(
            "waiting", label, kind, key, holder=f"{info.get('host')}:{info.get('pid')}"),
            done=None if forced else lambda: self._verified(kind, key, final, check) is not None)
        if not lock.acquire():  # another process built it while this one waited
            self._emit("reused", label, kind, key, after_wait=True)
            return self._remember(self._verified(kind, key, final, check), label, record, cached=True)
        try:
            artifact = None if forced else self._verified(kind, key, final, check)  # built before our lock?
            if artifact is None:
                if self.on_step:
                    self.on_step(label, False)
                self._emit("started", label, kind, key)
                artifact = self._build(kind, key, params, inputs, make, label, resumable, composite, final, check)
                if forced:
                    self._rebuilt.add(key)
                return self._remember(artifact, label, record, cached=False)
        finally:
            lock.release()
        return self._remember(artifact, label, record, cached=True)

    def _forced(self, kind: str, group: str | None, composite: bool, inputs: dict) -> bool:
        """Whether ``rebuild`` asks for this step: its kind or experiment is named, an input was rebuilt this run,
        or it is a composite step (an experiment's results), which may use anything rebuilt."""
        if not self.rebuild:
            return False
        if composite or "all" in self.rebuild or kind in self.rebuild or (group and group in self.rebuild):
            return True
        return any(getattr(v, "lineage", frozenset()) & self._rebuilt for v in inputs.values())

    def _build(self, kind, key, params, inputs, make, label, resumable, composite, final, check):
        tmp = final.parent / f".{key}.partial-{HOST}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        work = final.parent / f".{key}.work" if resumable else None
        start = time.perf_counter()
        self._frames.append(_Frame(label, {v.key for v in inputs.values() if hasattr(v, "key")}
                                   | {k for v in inputs.values() for k in getattr(v, "lineage", ())}, composite))
        try:
            tmp.mkdir(parents=True)
            with said() as warned:
                summary = make(Build(tmp, inputs, work)) or {}
            if check is not None:
                check(summary)
            seconds = time.perf_counter() - start
            files = {str(p.relative_to(tmp)): {"size": p.stat().st_size, "sha256": _sha256(p)}
                     for p in sorted(tmp.rglob("*")) if p.is_file()}
            info = {"kind": kind, "key": key, "label": label, "params": params,
                    "inputs": {n: v.key for n, v in inputs.items()}, "context": self.context,
                    "summary": to_json(summary), "summary_sha256": _summary_hash(to_json(summary)), "files": files,
                    "seconds": seconds, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "warnings": warned}
            write_json(tmp / DONE, info)
            self._install(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if exc.errno == errno.ENOSPC:
                free = shutil.disk_usage(final.parent).free
                raise DiskFull(f"no space left on the device while building '{label}' in {final.parent} "
                                   f"({free / 1e6:.0f} MB free); free some space and rerun: finished steps are "
                                   "kept and this one starts again") from None
            raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            self._frames.pop()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        BUILT[0] += 1
        self._emit("built", label, kind, key, seconds=round(seconds, 3))
        return Artifact(kind, key, final, read_json(final / DONE)["summary"], label, seconds)

    @staticmethod
    def _install(tmp: Path, final: Path) -> None:
        """Rename the finished folder into place; a forced rebuild first moves the old one aside."""
        if final.exists():
            old = final.parent / f".{final.name}.old-{HOST}-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)

    # reading ------------------------------------------------------------------------------------------------
    def _verified(self, kind: str, key: str, final: Path, check) -> Artifact | None:
        """The artifact if it is there and sound; None if absent; a damaged one is reported and moved aside."""
        if not final.exists():
            return None
        try:
            info = self._check(kind, key, final)
            if check is not None:
                check(info["summary"])
        except (Damaged, NotbugsError, KeyError, TypeError, ValueError) as exc:
            if self.read_only:
                raise NotbugsError(f"{kind}/{key} in {self.root} is damaged ({exc}); this run is read-only: rerun "
                                   "without --read-only to rebuild it") from None
            self._emit("damaged", info_label(final), kind, key, reason=str(exc))
            self._discard(final)
            return None
        for message in info.get("warnings") or []:  # what building it warned of holds for every reader
            warnings.warn(str(message), NotbugsWarning, stacklevel=2)
        return Artifact(kind, key, final, from_json(info["summary"]), info.get("label", kind),
                        info.get("seconds", 0.0))

    def _check(self, kind: str, key: str, final: Path) -> dict:
        record = final / DONE
        if not record.is_file():
            raise Damaged(f"no {DONE}: the step never finished")
        try:
            info = read_json(record, typed=False)
        except NotbugsError as exc:
            raise Damaged(str(exc)) from None
        if not isinstance(info, dict) or info.get("kind") != kind or info.get("key") != key:
            raise Damaged(f"{DONE} describes another step")
        if not isinstance(info.get("files"), dict) or "summary" not in info:
            raise Damaged(f"{DONE} lacks its file list or summary")
        if info.get("summary_sha256") != _summary_hash(info["summary"]):
            raise Damaged("its summary was edited after it was built")
        for name, want in info["files"].items():
            path = final / name
            if not path.is_file():
                raise Damaged(f"{name} is missing")
            if path.stat().st_size != want["size"]:
                raise Damaged(f"{name} has {path.stat().st_size} bytes, recorded {want['size']}")
            if _sha256(path) != want["sha256"]:
                raise Damaged(f"{name} does not have its recorded sha256")
        return info

    def verify(self, fix: bool = False) -> list[str]:
        """Check every artifact of the store; with ``fix``, remove the damaged ones (the next run rebuilds them)."""
        problems = []
        for kind_dir in sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []:
            for final in sorted(p for p in kind_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                try:
                    self._check(kind_dir.name, final.name, final)
                except Damaged as exc:
                    problems.append(f"{kind_dir.name}/{final.name}: {exc}")
                    if fix:
                        self._discard(final)
        return problems

    def unused(self, keep: set[str]) -> list[tuple[str, int]]:
        """(kind/key, bytes) of every artifact neither in ``keep`` nor an input, however indirect, of one in it."""
        records = {}
        for record in self.root.glob(f"*/*/{DONE}") if self.root.is_dir() else []:
            try:
                records[record.parent.name] = (record.parent, read_json(record, typed=False).get("inputs", {}))
            except NotbugsError:
                records[record.parent.name] = (record.parent, {})
        needed, todo = set(), [k for k in keep if k in records]
        while todo:
            key = todo.pop()
            if key not in needed:
                needed.add(key)
                todo += [k for k in records.get(key, (None, {}))[1].values() if k in records]
        return [(f"{folder.parent.name}/{key}", sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()))
                for key, (folder, _) in sorted(records.items()) if key not in needed]

    def remove(self, ref: str) -> None:
        """Remove one artifact (``kind/key``) from the store."""
        self._discard(self.root / ref)

    def _discard(self, final: Path) -> None:
        grave = final.parent / f".{final.name}.damaged-{HOST}-{os.getpid()}"
        try:
            os.replace(final, grave)
        except FileNotFoundError:
            return
        shutil.rmtree(grave, ignore_errors=True)

    def _sweep(self, folder: Path) -> None:
        """Remove what processes that no longer exist left in a kind's folder (partial and old folders)."""
        if folder in self._swept or not folder.is_dir():
            return
        self._swept.add(folder)
        for p in folder.iterdir():
            for tag in (".partial-", ".old-", ".damaged-"):
                if tag in p.name and p.name.startswith("."):
                    host, _, pid = p.name.rsplit(tag, 1)[1].rpartition("-")
                    age = time.time() - p.stat().st_mtime if p.exists() else 0.0
                    if pid.isdigit() and holder_gone({"host": host, "pid": int(pid)}, age, STALE_SECONDS):
                        shutil.rmtree(p, ignore_errors=True)

    def debris(self) -> list[Path]:
        """Partial folders of this process (there should be none once a step ends, however it ends)."""
        mine = f"-{HOST}-{os.getpid()}"
        return [p for p in self.root.glob("*/.*") if mine in p.name] if self.root.is_dir() else []

    # bookkeeping ----------------------------------------------------------------------------------------------
    def _allow(self, artifact: Artifact) -> Artifact:
        if self._frames:
            self._frames[-1].allowed.add(artifact.key)
        return artifact

    def _remember(self, artifact: Artifact, label: str, record: bool, cached: bool) -> Artifact:
        artifact = Artifact(artifact.kind, artifact.key, artifact.path, artifact.summary, label, artifact.seconds)
        self._seen[artifact.kind, artifact.key] = artifact
        if record:
            self._record(label, artifact.kind, artifact.key, cached, 0.0 if cached else artifact.seconds,
                         artifact.seconds)
        return self._allow(artifact)

    def _emit(self, event: str, label: str, kind: str, key: str, **extra) -> None:
        if self.on_event:
            self.on_event({"event": event, "step": label, "kind": kind, "key": key, "time": time.time(), **extra})

    def _record(self, step: str, kind: str, key: str, cached: bool, seconds: float, build_seconds: float) -> None:
        self.log.append({"step": step, "kind": kind, "key": key, "cached": cached, "seconds": round(seconds, 2),
                         "build_seconds": round(build_seconds, 2)})


@contextmanager
def said():
    """The messages of the package's warnings raised inside (each once, in order), kept with the artifact so that
    a later reader hears them too; every warning, ours or not, still reaches the caller's handlers."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
    seen = set()
    for w in caught:
        if issubclass(w.category, NotbugsWarning) and str(w.message) not in messages:
            messages.append(str(w.message))
        where = (w.category, str(w.message), w.filename, w.lineno)
        if where not in seen:  # a warning raised in a loop is passed on once, as Python's default shows it
            seen.add(where)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def info_label(final: Path) -> str:
    try:
        return json.loads((final / DONE).read_text()).get("label", final.name)
    except (OSError, ValueError, AttributeError):
        return final.name

