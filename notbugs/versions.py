"""The code versions in the store's keys.

A step's key hashes its kind, its parameters, its inputs' keys and a version of
the code that makes it, so that an edit cannot silently keep old numbers. Two
kinds of version, chosen so that an unrelated edit does not rebuild the whole
argument:

- Shared steps (models, constructed datasets, evaluations...) carry an explicit
  number per kind, below. Beside it sits a fingerprint of the code that
  implements the kind (its modules and functions, comments and docstrings left
  out). ``tests/test_versions.py`` fails when the code changes and the
  fingerprint does not: whoever edits that code decides whether the edit can
  change what the step computes (then the version goes up and every such
  artifact is rebuilt) or not (a refactor: only the fingerprint is updated).
  ``python -m notbugs.versions`` prints what changed.
- An experiment's own results and measurements are keyed by a fingerprint of
  its module, computed at run time: editing an experiment recomputes its
  numbers (cheap: its expensive parts are shared steps), never the shared steps.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import sys
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).parent

# kind -> (version, fingerprint of its code, the code: modules (folders) or "module:function" / "module:Class.method")
STEPS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "data": (2, "69433860699b", ("data",)),
    "model": (2, "9e7ecaff8858", ("train", "augment", "models", "attacks", "seeding", "steps:train_model",
                                  "checkpoint:save_model", "experiments.lab:Lab.train")),
    "import": (1, "a4ba25c92a29", ("checkpoint", "models", "experiments.lab:Lab.imported")),
    "dataset": (3, "06afd563b422", ("construct", "attacks", "sharding:map_batches", "steps:build_dataset",
                                    "steps:save_dataset", "experiments.lab:Lab.dataset")),
    "leakage": (1, "86969bb3e902", ("construct:leakage", "evaluate:predict", "experiments.lab:Lab.leakage")),
    "eval": (2, "cda24aee5a55", ("evaluate", "sanity", "attacks", "experiments.lab:Lab.evaluation")),
    "picture": (1, "c5c7c4633279", ("grid",)),
}


def version(kind: str) -> int:
    if kind not in STEPS:
        raise KeyError(f"step kind '{kind}' has no version here; pass the step's version (its code's fingerprint)")
    return STEPS[kind][0]


def all_versions() -> dict[str, int]:
    """Every shared kind's version: the key of a step that may use any of them (an experiment's results)."""
    return {kind: v for kind, (v, _, _) in STEPS.items()}


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


@lru_cache(maxsize=None)
def _module_tree(path: Path) -> ast.Module:
    return _strip_docstrings(ast.parse(path.read_text()))


def _source_path(module: str) -> Path:
    return PACKAGE.joinpath(*module.split(".")).with_suffix(".py")


def _find(tree: ast.AST, dotted: str) -> ast.AST:
    node = tree
    for part in dotted.split("."):
        node = next(n for n in node.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                    and n.name == part)
    return node


def code_text(entry: str) -> str:
    """The normalised source of one code entry: a module, a folder of modules, or a function in a module."""
    module, _, name = entry.partition(":")
    folder = PACKAGE.joinpath(*module.split("."))
    if folder.is_dir() and not name:
        return "\n".join(f"# {p.name}\n" + ast.unparse(_module_tree(p)) for p in sorted(folder.glob("*.py")))
    tree = _module_tree(_source_path(module))
    return ast.unparse(_find(tree, name) if name else tree)


def fingerprint(kind: str) -> str:
    text = "\n".join(f"## {entry}\n{code_text(entry)}" for entry in STEPS[kind][2])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _imported_modules(tree: ast.Module, package: str) -> dict[str, str]:
    """Names a module imports from other notbugs modules -> the module each comes from."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
            module = importlib.import_module(source)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                out[alias.asname or alias.name] = value.__name__ if inspect.ismodule(value) else source
    return out


def _versioned_modules() -> set[str]:
    """Modules whose whole code belongs to a shared kind (its version covers them)."""
    covered = set()
    for _, _, code in STEPS.values():
        for entry in code:
            if ":" not in entry:
                folder = PACKAGE.joinpath(*entry.split("."))
                names = [f"{entry}.{p.stem}" for p in folder.glob("*.py")] if folder.is_dir() else [entry]
                covered |= {f"notbugs.{n}".removesuffix(".__init__") for n in names} | {f"notbugs.{entry}"}
    return covered


def _top_level(tree: ast.Module) -> dict[str, ast.AST]:
    defs = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            defs[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                if isinstance(target, ast.Name):
                    defs[target.id] = node
    return defs


def closure_fingerprint(module_name: str, roots: list[str]) -> str:
    """A fingerprint of the code that ``roots`` (top-level names of a module) can reach: the module's own
    definitions they use, transitively, and every notbugs module they import that no shared kind's version covers
    (its whole code, and so on down). Presentation code (a report section) that computation never calls is
    left out, so editing it recomputes nothing."""
    seen_modules: set[str] = set()
    parts: list[str] = []
    covered = _versioned_modules()

    def visit_module(name: str, wanted: list[str] | None) -> None:
        module = importlib.import_module(name)
        tree = _module_tree(Path(module.__file__))
        defs, imports = _top_level(tree), _imported_modules(tree, module.__package__ or name)
        todo, done = list(wanted if wanted is not None else defs), set()
        while todo:
            item = todo.pop()
            if item in done:
                continue
            done.add(item)
            if item in defs:
                node = defs[item]
                parts.append(f"{'' if name == module_name else name}:{item}:{ast.unparse(node)}")
                todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
            elif item in imports:
                target = imports[item]
                if target in covered or target in seen_modules:
                    continue
                seen_modules.add(target)
                visit_module(target, None)

    visit_module(module_name, roots)
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:12]


def function_fingerprint(fn) -> str:
    """``closure_fingerprint`` of a function (a nested one counts as the top-level function that holds it)."""
    top = fn.__code__.co_qualname.split(".")[0]
    return closure_fingerprint(fn.__module__, [top])


def snapshot() -> None:
    """Read every module of the package now: fingerprints taken later in this process describe the code as it was
    when the run started (and was imported), not an edit made to the files while it runs."""
    for path in PACKAGE.rglob("*.py"):
        _module_tree(path)


def stale() -> list[str]:
    """A line for every kind whose code no longer matches its recorded fingerprint."""
    lines = []
    for kind, (v, recorded, _) in STEPS.items():
        now = fingerprint(kind)
        if now != recorded:
            lines.append(f"{kind}: code changed (fingerprint {now}, recorded {recorded}, version {v}). If the edit "
                         f"can change what a '{kind}' step computes, raise its version to {v + 1}; either way record "
                         f"fingerprint {now} in notbugs/versions.py")
    return lines


if __name__ == "__main__":
    problems = stale()
    print("\n".join(problems) or "every step kind's code matches its recorded fingerprint")
    sys.exit(1 if problems else 0)
