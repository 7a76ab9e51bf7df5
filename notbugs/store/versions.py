"""The code versions in the store's keys, from the code each step can reach.

A step's key hashes its kind, its parameters, its inputs' keys and a version of
the code that makes it, so that an edit cannot silently keep old numbers.

- A shared kind (models, constructed datasets, evaluations...) names its roots,
  the functions that make it. Its code is everything the roots can reach, found
  by reading the source (``reach``): calls, the module-level names they use,
  methods reached through ``self`` (in its class, the bases, or a class it is a part of) or an argument
  annotated with a class, the notbugs modules imported on the way; never an annotation alone, and never the
  modules in ``NEUTRAL``, which cannot change a number. Beside an explicit
  version number sits a fingerprint of that code: ``tests/test_versions.py``
  fails when the code changes and the fingerprint does not, and whoever edited
  decides: the edit can change what the step computes (the version goes up and
  every such artifact is rebuilt) or not (a refactor or a reworded message: only
  the fingerprint is updated). ``python -m notbugs.store.versions`` prints what
  changed.
- An experiment's own measurements are keyed by ``code_key(fn)``: a fingerprint
  of the code ``fn`` reaches outside every shared kind, and the versions of the
  shared kinds it reaches. Editing an experiment recomputes its numbers (cheap:
  its expensive parts are shared steps), never the shared steps; editing a report
  section or the store's machinery recomputes nothing.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import sys
from functools import lru_cache
from pathlib import Path

import verdicts

PACKAGE = Path(__file__).parents[1]
KERNEL = Path(verdicts.__file__).parent  # the repository's kernel: its values and intervals are in notbugs' numbers

# modules that cannot change a number: the package's entry (its version string is written into files, never into
# a number), the store's machinery, progress lines, error types, the version keys
NEUTRAL = frozenset({"", "store.pipeline", "store.locks", "store.outputs", "store.versions", "core.progress",
                     "core.errors", "verdicts.errors"})

# kind -> (version, fingerprint of the code its roots reach, roots: "module" (all of it) or "module:function" /
# "module:Class.method", module paths relative to notbugs)
STEPS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "data": (3, "b91825ef48fa", ("data",)),
    "model": (4, "f5a1a0bd0409", ("frame.training:Training.train", "frame.lab:Lab.constructed")),
    "import": (2, "0da2929041d7", ("frame.training:Training.imported", "frame.training:Training.in_memory")),
    "dataset": (4, "53f7bc6b9d0c", ("frame.datasets:Datasets.dataset",)),
    "leakage": (2, "f25fffbf699e", ("frame.datasets:Datasets.leakage",)),
    "eval": (4, "b414ec12c821", ("frame.evaluations:Evaluations.evaluation",)),
    "picture": (2, "d42687c94972", ("frame.lab:Lab.picture", "present.grid")),
}


def version(kind: str) -> int:
    if kind not in STEPS:
        raise KeyError(f"step kind '{kind}' has no version here; pass the step's version (its code's fingerprint)")
    return STEPS[kind][0]


def all_versions() -> dict[str, int]:
    """Every shared kind's version: the key of a step that may use any of them (an experiment's results)."""
    return {kind: v for kind, (v, _, _) in STEPS.items()}


# reading the source --------------------------------------------------------------------------------------------
def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _text(node: ast.AST) -> str:
    """A definition's code as computation: without the annotations of its arguments and returns (which ``reach``
    reads to follow typed arguments, but which compute nothing)."""
    node = copy.deepcopy(node)
    for n in ast.walk(node):
        if isinstance(n, ast.arg):
            n.annotation = None
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n.returns = None
    return ast.unparse(node)


@lru_cache(maxsize=None)
def _module_tree(path: Path) -> ast.Module:
    return _strip_docstrings(ast.parse(path.read_text()))


def _module_file(module: str) -> Path | None:
    """The source of a notbugs module (dotted, relative to notbugs; '' is the package) or of a kernel module
    ('verdicts', 'verdicts.rule'), None if neither."""
    head, _, rest = module.partition(".")
    if head == "verdicts":
        base = KERNEL.joinpath(*rest.split(".")) if rest else KERNEL
    else:
        base = PACKAGE.joinpath(*module.split(".")) if module else PACKAGE
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


class _Module:
    """A module's top-level definitions and what it imports from other notbugs modules."""

    def __init__(self, name: str):
        self.name = name
        path = _module_file(name)
        self.tree = _module_tree(path)
        self.package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        self.defs: dict[str, ast.AST] = {}
        self.imports: dict[str, tuple[str, str | None]] = {}  # local name -> (module, name there; None: the module)
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                self.defs[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    if isinstance(target, ast.Name):
                        self.defs[target.id] = node
            elif isinstance(node, ast.ImportFrom):
                source = self._absolute(node)
                if source is None:
                    continue
                for alias in node.names:
                    sub = f"{source}.{alias.name}" if source else alias.name
                    self.imports[alias.asname or alias.name] = (sub, None) if _module_file(sub) else (source,
                                                                                                   alias.name)

    def _absolute(self, node: ast.ImportFrom) -> str | None:
        if node.level:
            parts = self.package.split(".") if self.package else []
            base = parts[:len(parts) - node.level + 1]
            return ".".join(base + ([node.module] if node.module else []))
        if node.module == "notbugs" or (node.module or "").startswith("notbugs."):
            return node.module.removeprefix("notbugs").lstrip(".")
        if node.module == "verdicts" or (node.module or "").startswith("verdicts."):
            return node.module  # the kernel's modules keep their own names
        return None


@lru_cache(maxsize=None)
def _module(name: str) -> _Module:
    return _Module(name)


def _names(node: ast.AST) -> tuple[set[str], set[tuple[str, str]]]:
    """The names a definition uses and its (name, attribute) pairs, annotations left out."""
    names, attributes = set(), set()

    def visit(n: ast.AST) -> None:
        for field, value in ast.iter_fields(n):
            if field in ("annotation", "returns"):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    if isinstance(child, ast.Name):
                        names.add(child.id)
                    elif isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name):
                        attributes.add((child.value.id, child.attr))
                    visit(child)
    visit(node)
    return names, attributes


def _typed_arguments(node: ast.AST, module: _Module) -> dict[str, tuple[str, str]]:
    """Arguments annotated with a notbugs class: argument name -> (module, class)."""
    out = {}
    for fn in (n for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        for arg in fn.args.args + fn.args.kwonlyargs:
            ann = arg.annotation
            name = ann.value if isinstance(ann, ast.Constant) and isinstance(ann.value, str) else \
                ann.id if isinstance(ann, ast.Name) else None
            if name:
                where = _resolve(module, name)
                if where:
                    out[arg.arg] = where
    return out


def _resolve(module: _Module, name: str) -> tuple[str, str] | None:
    """Where a name a module uses is defined: (module, top-level name), or (module, '') for a whole module."""
    if name in module.defs:
        return module.name, name
    if name in module.imports:
        source, there = module.imports[name]
        if there is None:
            return source, ""
        if _module_file(source) is None:
            return None
        return _resolve(_module(source), there)
    return None


FIELDS = "__fields__"  # reach's name for a class's body without its methods (its fields and their defaults)


def _member(cls: ast.ClassDef, name: str) -> ast.AST | None:
    return next((n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name),
                None)


@lru_cache(maxsize=None)
def _classes() -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """Every class of the package, (module, name), with its bases that are classes of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        module = _module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        for name, node in module.defs.items():
            if isinstance(node, ast.ClassDef):
                bases = (_resolve(module, b.id) for b in node.bases if isinstance(b, ast.Name))
                out[(module.name, name)] = tuple(b for b in bases if b and b[1])
    return out


@lru_cache(maxsize=None)
def _selves(cls: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """The classes whose methods ``self`` may reach in a method of ``cls``: its own bases, and every class that
    derives from it with that class's bases (a part of a class, such as ``Lab``'s ``Training``, calls the
    methods of the other parts through ``self``)."""
    classes = _classes()

    def mro(key: tuple[str, str]) -> list[tuple[str, str]]:
        out = [key]
        for base in classes.get(key, ()):
            out += [k for k in mro(base) if k not in out]
        return out

    found = mro(cls)
    for key in classes:
        line = mro(key)
        if cls in line:
            found += [k for k in line if k not in found]
    return tuple(found)


def _entries(roots) -> list[tuple[str, str]]:
    """(module, name) of each root; a folder root stands for each of its modules (name '' is a whole module)."""
    out = []
    for root in roots:
        module, _, name = root.partition(":")
        folder = PACKAGE.joinpath(*module.split("."))
        if not name and folder.is_dir():
            out += [(f"{module}.{p.stem}".removesuffix(".__init__"), "") for p in sorted(folder.glob("*.py"))]
        else:
            out.append((module, name))
    return out


def _stops_at(module: str, name: str, stops: dict[tuple[str, str], str]) -> str | None:
    """The kind whose root (module, name) is, or whose whole-module root holds it."""
    return stops.get((module, name)) or stops.get((module, ""))


def reach(roots, stops: dict[tuple[str, str], str] | None = None) -> tuple[dict[str, str], set[str]]:
    """The code the roots can reach: ``{"module:name": its source}`` (a method as ``module:Class.method``; a
    whole module, a root without a name or a module used as a value, as ``module:*``), NEUTRAL modules left
    out; and the kinds whose roots (``stops``: (module, name) -> kind) it reached, where it stopped. A class
    named as a value brings its whole body; reached through ``self`` or an annotated argument, only the
    methods used."""
    stops = stops or {}
    found: dict[str, str] = {}
    kinds: set[str] = set()
    todo = _entries(roots)
    first = set(todo)
    while todo:
        module_name, name = todo.pop()
        key = f"{module_name}:{name or '*'}"
        if key in found or module_name in NEUTRAL or _module_file(module_name) is None:
            continue
        kind = _stops_at(module_name, name, stops) if (module_name, name) not in first else None
        if kind:
            kinds.add(kind)
            continue
        module = _module(module_name)
        if not name:
            node, cls = module.tree, None
        else:
            head, _, method = name.partition(".")
            if head not in module.defs:
                where = _resolve(module, head)
                if where and where != (module_name, head):
                    todo.append((where[0], where[1] + (f".{method}" if method and where[1] else "")))
                continue
            node, cls = module.defs[head], None
            if method:
                cls = node
                if method == FIELDS:  # a class's fields and their defaults, without its methods
                    fields = [n for n in cls.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
                    node = copy.copy(cls)  # its bases' fields come through ``_selves`` below, not their methods
                    node.body, node.decorator_list, node.bases, cls = fields or [ast.Pass()], [], [], None
                else:
                    node = _member(cls, method)
                    if node is None:
                        continue
                    # a method reads its class's fields, its bases' and those of a class it is a part of
                    todo += [(where[0], f"{where[1]}.{FIELDS}") for where in _selves((module_name, cls.name))]
        found[key] = _text(node)
        names, attributes = _names(node)
        typed = _typed_arguments(node, module)
        for n in names:
            where = _resolve(module, n)
            if where:
                todo.append(where)
        for owner, attr in attributes:
            if owner in ("self", "cls") and cls is not None:
                for where in _selves((module_name, cls.name)):
                    target = _module(where[0]).defs.get(where[1])
                    if isinstance(target, ast.ClassDef) and _member(target, attr) is not None:
                        todo.append((where[0], f"{where[1]}.{attr}"))
            elif owner in typed:  # a method of the argument's class, or one of its fields
                where = typed[owner]
                target = _module(where[0]).defs.get(where[1])
                is_method = isinstance(target, ast.ClassDef) and _member(target, attr) is not None
                todo.append((where[0], f"{where[1]}.{attr if is_method else FIELDS}"))
            else:
                where = _resolve(module, owner)
                if where and not where[1]:  # an imported module's attribute
                    todo.append((where[0], attr))
        if not name:  # a whole module: everything it imports from notbugs
            todo += [(src, there or "") for src, there in module.imports.values()]
    return found, kinds


def _digest(code: dict[str, str]) -> str:
    return hashlib.sha256("\n".join(f"## {k}\n{v}" for k, v in sorted(code.items())).encode()).hexdigest()[:12]


def _roots(skip: str | None = None) -> dict[tuple[str, str], str]:
    return {entry: kind for kind, (_, _, roots) in STEPS.items() if kind != skip for entry in _entries(roots)}


@lru_cache(maxsize=None)
def kind_code(kind: str) -> dict[str, str]:
    """The code a shared kind is made with: what its roots reach, up to the roots of other kinds (its inputs,
    keyed by their own versions)."""
    return reach(STEPS[kind][2], _roots(skip=kind))[0]


def fingerprint(kind: str) -> str:
    return _digest(kind_code(kind))


def code_key(fn) -> dict:
    """What keys an experiment's computation ``fn`` (a top-level function, or one nested in it): a fingerprint of
    the code it reaches that no shared kind is made with, and the versions of the shared kinds it reaches (their
    roots, or code they are made with). Read once per function and process, like the code (``snapshot``)."""
    digest, kinds = _code_key(fn.__module__.removeprefix("notbugs."), fn.__code__.co_qualname.split(".")[0])
    return {"code": digest, "shared": {kind: STEPS[kind][0] for kind in kinds}}


@lru_cache(maxsize=None)
def _code_key(module: str, top: str) -> tuple[str, tuple[str, ...]]:
    code, kinds = reach([f"{module}:{top}"], _roots())
    kinds |= {kind for kind in STEPS if kind_code(kind).keys() & code.keys()}
    own = {k: v for k, v in code.items() if not any(k in kind_code(kind) for kind in kinds)}
    return _digest(own), tuple(sorted(kinds))


def snapshot() -> None:
    """Read every module of the package now: fingerprints taken later in this process describe the code as it was
    when the run started (and was imported), not an edit made to the files while it runs."""
    for path in [*PACKAGE.rglob("*.py"), *KERNEL.rglob("*.py")]:
        _module_tree(path)


def stale() -> list[str]:
    """A line for every kind whose code no longer matches its recorded fingerprint."""
    lines = []
    for kind, (v, recorded, _) in STEPS.items():
        now = fingerprint(kind)
        if now != recorded:
            lines.append(f"{kind}: code changed (fingerprint {now}, recorded {recorded}, version {v}). If the edit "
                         f"can change what a '{kind}' step computes, raise its version to {v + 1}; either way record "
                         f"fingerprint {now} in notbugs/store/versions.py")
    return lines


if __name__ == "__main__":
    problems = stale()
    print("\n".join(problems) or "every step kind's code matches its recorded fingerprint")
    sys.exit(1 if problems else 0)
