"""Published numbers the report compares against, each with its source.

Accuracies are fractions in [0, 1]. Keys follow results.json's model names.
"""

ILYAS = "Ilyas et al. 2019, 'Adversarial Examples Are Not Bugs, They Are Features' (arXiv 1905.02175v4)"

# Table 7 / Figure 2: CIFAR-10 test set, clean and L2-robust accuracy at eps 0.25 and 0.5.
FIGURE2_CIFAR10 = {
    "source": f"{ILYAS}, Table 7 / Figure 2",
    "dataset": "cifar10",
    "eval_eps": [0.25, 0.5],
    "models": {
        "std": {"clean_accuracy": 0.9525, "robust_accuracy": {"0.25": 0.0449, "0.5": 0.0}},
        "adv": {"clean_accuracy": 0.9083, "robust_accuracy": {"0.25": 0.8248, "0.5": 0.7090}},
        "d_nr": {"clean_accuracy": 0.8768, "robust_accuracy": {"0.25": 0.0082, "0.5": 0.0}},
        "d_r": {"clean_accuracy": 0.8540, "robust_accuracy": {"0.25": 0.4820, "0.5": 0.2185}},
        "d_nr_noise": {"clean_accuracy": 0.4560, "robust_accuracy": {"0.25": 0.0150, "0.5": 0.0}},
        "d_r_noise": {"clean_accuracy": 0.8410, "robust_accuracy": {"0.25": 0.4827, "0.5": 0.2940}},
    },
}

# Table 1: accuracy on the original test set of models trained on D, D_rand, D_det.
TABLE1 = {
    "source": f"{ILYAS}, Table 1",
    "cifar10": {"std": 0.953, "d_rand": 0.633, "d_det": 0.437},
    "restricted_imagenet": {"std": 0.966, "d_rand": 0.879, "d_det": 0.644},
}

# Settings of the paper's CIFAR-10 experiments (section 3, appendix C).
SETTINGS = {
    "source": f"{ILYAS}, appendix C",
    "train_eps": 0.5, "train_steps": 7, "eval_eps": 0.25,
    "inversion_steps": 1000, "inversion_step_size": 0.1,
    "relabel_eps": 0.5, "relabel_steps": 100, "relabel_step_size": 0.1,
}

# Appendix: relabelled datasets built from a robust source model, and D_det scored against y + 1.
APPENDIX = {
    "source": f"{ILYAS}, Tables 9 and 10",
    "robust_source": {"d_rand": 0.252, "d_det": 0.058},
    "d_det_shifted_labels": {"standard_source": 0.162, "robust_source": 0.655},
}

# A workplace prototype on Fashion-MNIST (small CNN, L2, robust accuracy at eps 1.0, 20-step PGD):
# a sanity bound at this scale, not a published number.
FASHION_PROTOTYPE = {
    "source": "throw-away prototype on this workplace's 2-core machines (shared/reference-numbers.md)",
    "d_r": {"clean_accuracy": (0.805, 0.828), "robust_accuracy_eps1": (0.392, 0.486)},
    "d_nr": {"clean_accuracy": (0.803, 0.814), "robust_accuracy_eps1": (0.100, 0.186)},
    "d_rand": {"clean_accuracy": (0.675, 0.701)},
    "d_det": {"clean_accuracy": (0.13, 0.278)},
}


def all_reference() -> dict:
    return {"figure2_cifar10": FIGURE2_CIFAR10, "table1": TABLE1, "settings": SETTINGS, "appendix": APPENDIX,
            "fashion_prototype": FASHION_PROTOTYPE}
