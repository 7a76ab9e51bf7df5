"""Imports the verdicts kernel before any test module: pytest's importlib mode (pyproject.toml) names the modules
of verdicts/tests ``verdicts.tests.test_*`` and, finding no ``verdicts`` in sys.modules, would put an empty one
there, which every ``from verdicts import ...`` would then see."""

import verdicts  # noqa: F401
