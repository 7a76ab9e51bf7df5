"""Build the API reference from the docstrings: every module of the package, with pdoc.

    python docs/build_api.py [OUT]      (default docs/api; `make docs` does this)

The package's ``__all__`` lists its entry points only, so pdoc is given each first-level module by name.
"""

import pkgutil
import sys
from pathlib import Path

import pdoc

import notbugs


def modules() -> list[str]:
    """The package and each of its first-level modules (pdoc walks a subpackage's own modules itself)."""
    return ["notbugs"] + sorted(m.name for m in pkgutil.iter_modules(notbugs.__path__, "notbugs.")
                                if m.name != "notbugs.__main__")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "api")
    pdoc.pdoc(*modules(), output_directory=out)
    print(f"API reference: {out / 'index.html'} ({len(modules())} modules)")
