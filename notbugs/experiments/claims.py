"""The paper's claims as checks on a results dict, each with a stated margin.

The margins are fixed before looking at any run (issue 3 of the tracker): a
claim that fails at some scale is a finding and the report shows it so.
Chance is 1 / number of classes.
"""

from __future__ import annotations

MAX_LEAKAGE_GAP = 0.10


def _robust(results: dict, model: str) -> float:
    eps = f"{results['threat']['main_eval_eps']:g}"
    return results["models"][model]["robust_accuracy"][eps]


def _claim(cid: str, statement: str, holds: bool, evidence: str) -> dict:
    return {"id": cid, "statement": statement, "holds": bool(holds), "evidence": evidence}


def check_claims(results: dict) -> list[dict]:
    m, d = results["models"], results["datasets"]
    eps = results["threat"]["main_eval_eps"]
    std_r, adv_r, std_c = _robust(results, "std"), _robust(results, "adv"), m["std"]["clean_accuracy"]
    claims = [
        _claim("setup_adversarial_training_robust",
               f"Setup: the standard model is not robust (it loses at least half its clean accuracy at eps {eps:g}) "
               "and adversarial training buys robustness (at least 30 points more robust accuracy).",
               std_r <= std_c / 2 and adv_r - std_r >= 0.30,
               f"std: clean {std_c:.1%}, robust {std_r:.1%}; adv: clean {m['adv']['clean_accuracy']:.1%}, robust {adv_r:.1%}"),
    ]
    gap_r = _robust(results, "d_r") - _robust(results, "d_nr")
    claims.append(_claim(
        "robust_features_give_robustness",
        "Standard training on the robust dataset D_R gives a robust model: its robust accuracy beats the D_NR model's by at least 25 points.",
        gap_r >= 0.25,
        f"robust accuracy at eps {eps:g}: D_R {_robust(results, 'd_r'):.1%} vs D_NR {_robust(results, 'd_nr'):.1%} (gap {gap_r * 100:.1f} points)"))
    claims.append(_claim(
        "nonrobust_features_suffice",
        "Non-robust features alone suffice for good accuracy: the D_NR model reaches at least 75 % clean accuracy.",
        m["d_nr"]["clean_accuracy"] >= 0.75,
        f"D_NR model: clean {m['d_nr']['clean_accuracy']:.1%}, robust {_robust(results, 'd_nr'):.1%}"))
    for name, floor, label in (("d_rand", 0.60, "random wrong labels (D_rand)"), ("d_det", 0.30, "labels y+1 (D_det)")):
        gap = d[name]["leakage_gap"]
        claims.append(_claim(
            f"{name}_generalizes",
            f"A model trained only on images relabelled with {label} generalises to the original test set "
            f"(at least {floor:.0%}), without the perturbation changing robust features (leakage gap under {MAX_LEAKAGE_GAP:.0%}).",
            m[name]["clean_accuracy"] >= floor and gap < MAX_LEAKAGE_GAP,
            f"test accuracy {m[name]['clean_accuracy']:.1%}; attack success {d[name]['attack_success']:.1%}; robust model "
            f"agrees with the original label on {d[name]['robust_agreement_perturbed']:.1%} of the images vs "
            f"{d[name]['robust_agreement_clean']:.1%} unperturbed (gap {gap * 100:.1f} points)"))
    return claims
