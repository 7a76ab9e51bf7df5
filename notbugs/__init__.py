"""notbugs: a lab for the robust / non-robust features view of adversarial examples.

Conventions: images are float tensors in [0, 1], NCHW; eps is in that pixel
space; normalisation lives inside the model; every model has ``features(x)``
and ``forward(x) = head(features(x))``.

The main entry points, importable from here (loaded when first used, so that
``import notbugs`` stays light):

- data: ``load_dataset(name)`` (fashion-mnist, mnist, cifar10, digits, folder:PATH, madry:DIR, built:RUN)
- models: ``build_model(model_spec(...))``, ``wrap(module, features=...)`` for any ``nn.Module``,
  ``load_model(run_folder)``
- attacks: ``pgd(...)``, ``PGD`` / ``PGDL2`` (torchattacks' call shape), ``auto_attack(...)``
- evaluation: ``accuracy``, ``robust_accuracy``, ``evaluate_robustness``, ``sanity_checks``
- constructions: ``feature_dataset`` (D_R / D_NR), ``relabelled_dataset`` (D_rand / D_det), ``leakage``
- training: ``TrainConfig``, ``train_model`` (a run folder)
- experiments: ``run_experiments(names, make_preset("quick"), out=...)``, ``write_report``
"""

from __future__ import annotations

import importlib

__version__ = "0.4.0.dev0"  # the one place: pyproject.toml reads it (dynamic version)

# name here -> (module, its name there); none shadows a submodule (notbugs.data is one)
_ENTRY_POINTS = {
    "load_dataset": ("notbugs.data", "load_dataset"), "ImageData": ("notbugs.data", "ImageData"),
    "build_model": ("notbugs.models", "build_model"), "model_spec": ("notbugs.models", "model_spec"),
    "wrap": ("notbugs.models", "wrap"), "load_model": ("notbugs.models.checkpoint", "load_model"),
    "pgd": ("notbugs.attacks", "pgd"), "PGD": ("notbugs.attacks", "PGD"), "PGDL2": ("notbugs.attacks", "PGDL2"),
    "auto_attack": ("notbugs.evaluation.autoattack", "autoattack"),
    "accuracy": ("notbugs.evaluation.evaluate", "accuracy"), "robust_accuracy": ("notbugs.evaluation.evaluate",
                                                                                 "robust_accuracy"),
    "evaluate_robustness": ("notbugs.evaluation.evaluate", "evaluate"), "sanity_checks": ("notbugs.evaluation.sanity",
                                                                                          "sanity_checks"),
    "feature_dataset": ("notbugs.methods.construct", "feature_dataset"),
    "relabelled_dataset": ("notbugs.methods.construct", "relabelled_dataset"),
    "leakage": ("notbugs.methods.construct", "leakage"),
    "InversionConfig": ("notbugs.methods.construct", "InversionConfig"),
    "RelabelConfig": ("notbugs.methods.construct", "RelabelConfig"),
    "train_model": ("notbugs.methods.tasks", "train_model"), "TrainConfig": ("notbugs.methods.train", "TrainConfig"),
    "run_experiments": ("notbugs.running.runner", "run_experiments"),
    "make_preset": ("notbugs.running.runner", "make_preset"), "write_report": ("notbugs.report", "write_report"),
    "NotbugsError": ("notbugs.core.errors", "NotbugsError"),
}

__all__ = sorted(_ENTRY_POINTS) + ["__version__"]


def __getattr__(name: str):
    if name in _ENTRY_POINTS:
        module, attribute = _ENTRY_POINTS[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'notbugs' has no attribute '{name}'")


def __dir__():
    return __all__
