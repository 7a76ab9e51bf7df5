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



# Figure 3: D_det accuracy against transfer rate for ImageNet-trained architectures (a plot; the range its points span).
FIGURE3 = {
    "source": f"{ILYAS}, Figure 3",
    "architectures": ["VGG-16", "Inception-v3", "ResNet-18", "DenseNet", "ResNet-50"],
    "d_det_accuracy_range": (0.25, 0.50), "transfer_rate_range": (0.60, 1.00), "lowest_on_both": "VGG-16",
}

# Appendix D.2: the D_R model under stronger attacks.
STRESS = {"source": f"{ILYAS}, appendix D.2", "max_pgd_steps": 2500, "also": "CW-L2"}

DISTILL = "Distill discussion of Ilyas et al. (distill.pub/2019/advex-bugs-discussion)"

WALLACE = {
    "source": f"Wallace, 'Learning from Incorrectly Labeled Data', {DISTILL}",
    "in_domain": {"labeler_train_accuracy": 0.625, "labeler_test_accuracy": 0.631, "wrong_images": 18768,
                  "fresh_test_accuracy": 0.497, "dataset": "cifar10", "arch": "ResNet-18"},
    "out_of_domain": {"mnist_labeler_test_accuracy": 0.991, "fresh_mnist_test_accuracy": 0.9104,
                      "fresh_mnist_test_accuracy_mnist_normalisation": 0.945},
    "toy": {"points": 32, "recovered": 23, "linf_eps": 0.12},
}

GOH_LEAKAGE = {
    "source": f"Goh, 'Robust Feature Leakage', {DISTILL}",
    "probe": {"d_rand": 0.235, "d_det": 0.0681}, "ceiling": {"d_rand": 0.88, "d_det": 0.44},
    "certified_l2_radius": 0.25, "dataset": "cifar10",
}

NAKKIRAN = {
    "source": f"Nakkiran, 'Adversarial Examples are Just Bugs, Too', {DISTILL}",
    # (success on the source, targeted transfer to a held-out model)
    "attack": {"linf": {"targeted PGD": (0.996, 0.521), "non-transferable": (0.986, 0.008)},
               "l2": {"targeted PGD": (0.999, 0.825), "non-transferable": (0.993, 0.017)}},
    # fresh model trained on D_det made with each attack: accuracy on (X, Y) and on (X, Y + 1)
    "d_det": {"linf": {"targeted PGD": (0.237, 0.404), "non-transferable": (0.025, 0.759)},
              "l2": {"targeted PGD": (0.332, 0.273), "non-transferable": (0.028, 0.708)}},
    "settings": {"ensemble": 10, "l2_eps": 2.5, "linf_eps": 8 / 255, "steps": 10},
    "squares": {"train": 10000, "label_noise": 0.1, "input_noise": 0.1, "linf_eps": 0.01,
                "memorising_train_accuracy": 0.999, "robust_linear_up_to": 0.9},
}

YIN_GILMER = {
    "source": f"Gilmer & Hendrycks, {DISTILL}; Yin et al. 2019, 'A Fourier Perspective on Model Robustness'",
    "fog_accuracy": {"standard": 0.857, "adversarially_trained": 0.553}, "dataset": "cifar10",
    "heat_map_norm_cifar10": 4.0, "high_pass_imagenet_top1": 0.50, "low_pass_imagenet_top1_above": 0.30,
}

GOH_FEATURES = {"source": f"Goh, 'Two Examples of Useful, Non-Robust Features', {DISTILL}",
                "task": "CIFAR-10 truck vs frog, L2 adversary", "numbers": "plots only"}

NAKANO = {
    "source": f"Nakano, 'Adversarially Robust Neural Style Transfer', {DISTILL}, and the authors' reply",
    "layer_robustness": {"robust_resnet50": (0.05, 0.07), "standard_resnet50": (0.44, 0.58),
                         "vgg16_early_layers": (0.06, 0.21)},
}
