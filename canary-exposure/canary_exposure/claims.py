"""The paper's findings as claims, each with its statistics, margins and premises, fixed before the first run.

Each statistic is measured once per seed; a claim is judged on the mean over seeds with its 95 % Student-t
interval (``verdicts.over_seeds``: seeds are the unit, a model's memorisation varies between training runs), by
the repository's one rule (``verdicts.decide``): a premise not met makes the claim not testable, one whose
interval straddles its threshold makes it inconclusive; then a test whose interval lies wholly on the wrong side
of its margin makes it not hold, one that straddles it inconclusive, and all on the right side hold. With one
seed, the value alone decides.

Published (Carlini et al. 2019, USENIX Security; arXiv 1802.08232): on Penn Treebank with a 2-layer LSTM,
a canary inserted once or twice has exposure near the null, exposure rises with insertions and the canary is
extracted once exposure is high (Table 2, Figures 1-3, 6); memorisation happens early, while the validation
loss still falls (Figure 3); DP-SGD leaves exposure at the null (Table 3).
"""

from __future__ import annotations

import math

from verdicts import Bound, Claim, decide_over_seeds

NULL = 1 / math.log(2)  # the expected exposure of a secret never inserted (rank uniform over R)
WHO = "Carlini et al. 2019"


HIGH_K = 16  # "the k = 16+ canaries"
CLAIMS = (
    Claim("null_near_expected", f"{WHO}, section 4.2",
          f"A canary never inserted has exposure near the null: the mean exposure of the reference canaries lies "
          f"within 1 bit of 1/ln 2 = {NULL:.2f} bits.",
          "exposure of a random secret: expected 1/ln 2 (section 4.2)",
          (Bound("mean exposure of never-inserted canaries", ">=", NULL - 1, percent=False),
           Bound("mean exposure of never-inserted canaries", "<=", NULL + 1, percent=False))),
    Claim("rises_with_insertions", f"{WHO}, Figure 6",
          f"Exposure rises with insertions: Spearman's rank correlation of exposure with k is at least 0.8, and the "
          f"canaries inserted {HIGH_K}+ times are at least 10 bits above the null.",
          "PTB, 2-layer LSTM: exposure grows with insertions, a canary inserted 9+ times near-fully exposed "
          "(Figure 6)",
          (Bound("Spearman correlation of exposure with insertions", ">=", 0.8, percent=False),
           Bound(f"mean exposure of the {HIGH_K}+ canaries minus the null", ">=", 10.0, percent=False))),
    Claim("memorised_before_overfitting", f"{WHO}, Figure 3",
          f"Memorisation begins early and is not overfitting: the {HIGH_K}+ canaries reach 90 % of their highest "
          "exposure no later than the epoch of the lowest validation loss.",
          "exposure peaks while the validation loss still falls (Figure 3)",
          (Bound("epoch of 90 % exposure minus epoch of lowest validation loss", "<=", 0.0, percent=False),),
          premises=(Bound("epochs the validation loss rose after its lowest", ">=", 1.0, percent=False),)),
    Claim("extrapolation_agrees", f"{WHO}, section 4.3",
          "Extrapolated exposure (a skew-normal fitted to reference log-perplexities) agrees with exact exposure "
          "within 1 bit on average, over the inserted canaries whose exact exposure is not saturated (rank 4 or "
          "worse).",
          "the extrapolation approximates the exact exposure (section 4.3, Figure 4)",
          (Bound("mean |extrapolated - exact| exposure, bits", "<=", 1.0, percent=False),),
          premises=(Bound("Kolmogorov-Smirnov p-value of the skew-normal fit", ">=", 0.01, percent=False),)),
    Claim("extraction_of_exposed", f"{WHO}, section 8",
          "Extraction (best-first search over the slot, 1 % of |R| queries) recovers at least half of the "
          "most-inserted canaries, and at most a tenth of the never-inserted ones.",
          "secrets with high exposure are extracted in far fewer queries than |R| (section 8, Table 2)",
          (Bound("share of the most-inserted canaries extracted", ">=", 0.5),
           Bound("share of never-inserted canaries extracted", "<=", 0.1)),
          premises=(Bound("mean exposure of the most-inserted canaries minus the null", ">=", 10.0, percent=False),)),
    Claim("dp_sgd_at_null", f"{WHO}, Table 3",
          f"DP-SGD brings exposure to the null: the {HIGH_K}+ canaries of the DP-SGD model are within 1 bit of "
          f"the null on average.",
          "PTB with DP-SGD: exposure at the level of random secrets (Table 3)",
          (Bound(f"DP-SGD mean exposure of the {HIGH_K}+ canaries minus the null", "<=", 1.0, percent=False),),
          premises=(Bound(f"non-DP mean exposure of the {HIGH_K}+ canaries minus the null", ">=", 10.0, percent=False),
                    Bound("DP-SGD minus non-DP validation loss, nats per token", "<=", 1.0, percent=False))),
)


def judge(claim: Claim, per_seed: list[dict]) -> dict:
    """``per_seed[i]`` maps every test's and premise's name to seed i's value (None: undefined). Each row is the
    rule's (value: the mean over seeds, its interval, outcome), with the seeds' own values and, where it is
    inconclusive, how many seeds would decide it."""
    word, tests, premises = decide_over_seeds(claim, {b.name: [p.get(b.name) for p in per_seed]
                                                      for b in claim.tests + claim.premises})
    return {"id": claim.id, "who": claim.who, "statement": claim.statement, "published": claim.published,
            "verdict": word, "tests": tests, "premises": premises, "seeds": len(per_seed)}
