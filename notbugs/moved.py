"""The import paths of notbugs 0.3.0, whose flat modules moved into floors in 0.4.0: kept for one release.

``import notbugs.train`` still works and gives ``notbugs.methods.train``, with a DeprecationWarning naming the
new path (CHANGELOG, 0.4.0). Removed in 0.5.0.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

OLD_TO_NEW = {
    **{m: f"core.{m}" for m in "errors values stats inputs seeding progress precision reference storage".split()},
    **{m: f"store.{m}" for m in "pipeline locks versions sharding outputs".split()},
    "checkpoint": "models.checkpoint", "steps": "methods.tasks", "bench": "cli.bench", "estimate": "cli.estimate",
    **{m: f"evaluation.{m}" for m in "evaluate sanity autoattack".split()},
    **{m: f"methods.{m}" for m in "train augment construct gaussian corruptions spectral".split()},
    **{m: f"present.{m}" for m in "htmlparts figures grid".split()},
    **{f"experiments.{m}": f"frame.{m}" for m in "lab presets config base margins".split()},
    **{f"experiments.{m}": f"running.{m}" for m in "runner seeds workers".split()},
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``notbugs.<old path>`` and hands back the module at its new path (the same object)."""

    def find_spec(self, fullname, path=None, target=None):
        old = fullname.removeprefix("notbugs.")
        if fullname.startswith("notbugs.") and old in OLD_TO_NEW:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = "notbugs." + OLD_TO_NEW[spec.name.removeprefix("notbugs.")]
        warnings.warn(f"{spec.name} moved to {new} in notbugs 0.4.0; the old path goes in 0.5.0",
                      DeprecationWarning, stacklevel=3)
        module = importlib.import_module(new)
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module):
        pass  # the module at the new path is already executed


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
