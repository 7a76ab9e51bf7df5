"""Imports the verdicts kernel before any test module: pytest's importlib mode (pyproject.toml) names the modules
of verdicts/tests ``verdicts.tests.test_*`` and, finding no ``verdicts`` in sys.modules, would put an empty one
there, which every ``from verdicts import ...`` would then see.

In the repository's root the folder ``verdicts/`` is itself an importable (empty, namespace) ``verdicts`` ahead of
an editable install's finder; ``editable_mode=compat`` puts the package's own folder on the path instead."""

import verdicts

if getattr(verdicts, "__file__", None) is None:
    raise ImportError("the folder verdicts/ hides the kernel package; install it with "
                      "'pip install -e ./verdicts --config-settings editable_mode=compat'")
