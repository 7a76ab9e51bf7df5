"""One seed of the reproduction: train with canaries (and once more with DP-SGD), then measure what the claims
read: exposures (exact, and extrapolated from reference candidates), their course over epochs, extraction; with
a preset's ``audit``, epsilon's empirical lower bound from audit canaries planted on fair coins (audit.py).

Departure from the paper, and why: the paper trains a model per canary; here fourteen canaries share one model
(a seed's training costs minutes, not fourteen times that). So that they do not compete, a canary's rank is
taken among the candidates that are not other inserted canaries, and extraction searches until its target
comes out (or the budget ends) rather than stopping at the first secret found."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
from scipy.stats import spearmanr

from . import audit as auditing
from .audit import group_privacy
from .canaries import CanaryFormat
from .claims import HIGH_K, NULL
from .extract import extract
from .scoring import exact_exposure, extrapolated_exposure, fit_references, slot_log_perplexities
from .settings import Preset
from .training import train


def plan(p: Preset, seed: int) -> tuple[dict[str, int], list[str]]:
    """The secrets of a seed: ``p.per_k`` for each number of insertions, and ``p.references`` never inserted."""
    fmt = CanaryFormat(p.template, p.digits)
    rng = random.Random(10_000 + seed)
    n = p.per_k * len(p.insertions)
    drawn = fmt.draw(n + p.references, rng)
    inserted = {s: k for s, k in zip(drawn[:n], [k for k in p.insertions for _ in range(p.per_k)])}
    return inserted, drawn[n:]


def one_run(documents: list[str], p: Preset, seed: int, *, dp: bool, say=None, device: str = "cpu") -> dict:
    """Train one model of a seed and measure its canaries: the record, with the model under "model"."""
    fmt = CanaryFormat(p.template, p.digits)
    inserted, references = plan(p, seed)
    audited, coins, planted = auditing.plan(fmt, p.audit, p.audit_insertions, seed, inserted, references)
    s = replace(p.train, seed=seed, dp=dp, epochs=p.dp_epochs if dp else p.train.epochs)
    res = train(documents, fmt, planted, references, s, say=say, device=device)
    model = res["model"]
    scores = slot_log_perplexities(model, fmt)
    final = exact_exposure(scores, list(inserted) + references, inserted=list(planted))
    rng = np.random.default_rng(seed)
    excluded = {int(x) for x in list(planted) + references + audited}
    sample = [i for i in rng.choice(fmt.space, size=min(fmt.space, p.extrapolation_references + len(excluded)),
                                    replace=False) if int(i) not in excluded][:p.extrapolation_references]
    fit = fit_references(scores[sample])
    record = {"dp": dp, "settings": s.to_dict(), "inserted": inserted, "references": references,
              "history": res["history"], "windows": res["windows"], "tokens": res["tokens"], "delta": res["delta"],
              "final": final, "fit": fit,
              "extrapolated": {x: extrapolated_exposure(final[x]["log_perplexity"], fit) for x in inserted}}
    if dp:  # the accountant's epsilon is per record, a window; a canary inserted k times is k records
        eps = res["history"][-1]["epsilon"]
        groups = [group_privacy(eps, res["delta"], k) for k in sorted(set(inserted.values()))]
        record["privacy"] = {"epsilon_per_window": eps, "delta": res["delta"], "per_canary": groups}
    else:
        top = max(inserted.values())
        targets = [x for x, k in inserted.items() if k == top] + references[:p.extraction_references]
        record["extraction"] = {x: extract(model, fmt, budget=p.extraction_budget, target=x)
                                for x in targets}
        for x in targets:  # the secrets found are kept only as a count: a report shows no other secret
            record["extraction"][x]["found"] = len(record["extraction"][x]["found"])
    if audited:  # from the same scores; beside the accountant's epsilon for the windows an audit canary is in
        record["audit"] = {**auditing.audit(scores[[int(x) for x in audited]], coins),
                           "insertions": p.audit_insertions}
        if dp:
            record["audit"]["accountant_epsilon"] = [group_privacy(eps, res["delta"], n)["epsilon"]
                                                     for n in (p.audit_insertions, 2 * p.audit_insertions)]
    return {**record, "model": model}


def statistics(plain: dict, dp: dict | None) -> dict:
    """Every claim's test and premise statistic for one seed, by the names the claims give them."""
    ins, final = plain["inserted"], plain["final"]
    refs = plain["references"]
    exposure = {x: final[x]["exposure"] for x in final}
    high = [x for x, k in ins.items() if k >= HIGH_K]
    top = [x for x, k in ins.items() if k == max(ins.values())]
    hist = plain["history"]
    course = [np.mean([h["exposure"][x] for x in high]) for h in hist]
    peak = max(course)
    epoch_90 = next(h["epoch"] for h, c in zip(hist, course) if c >= 0.9 * peak)
    valid = [h["valid_loss"] for h in hist]
    best = int(np.argmin(valid))
    unsaturated = [x for x in ins if final[x]["rank"] >= 4]
    out = {
        "mean exposure of never-inserted canaries": float(np.mean([exposure[x] for x in refs])),
        "Spearman correlation of exposure with insertions": float(spearmanr([ins[x] for x in ins],
                                                                             [exposure[x] for x in ins])[0]),
        f"mean exposure of the {HIGH_K}+ canaries minus the null": float(np.mean([exposure[x] for x in high])) - NULL,
        "epoch of 90 % exposure minus epoch of lowest validation loss": float(epoch_90 - hist[best]["epoch"]),
        "epochs the validation loss rose after its lowest": float(len(hist) - 1 - best),
        "mean |extrapolated - exact| exposure, bits": (float(np.mean([abs(plain["extrapolated"][x] - exposure[x])
                                                                      for x in unsaturated]))
                                                       if unsaturated else None),
        "Kolmogorov-Smirnov p-value of the skew-normal fit": plain["fit"]["ks_pvalue"],
        "mean exposure of the most-inserted canaries minus the null": float(np.mean([exposure[x] for x in top]))
        - NULL,
    }
    ext = plain.get("extraction", {})
    out["share of the most-inserted canaries extracted"] = (float(np.mean([ext[x]["extracted"] for x in top]))
                                                            if top and ext else None)
    tried = [x for x in refs if x in ext]
    out["share of never-inserted canaries extracted"] = (float(np.mean([ext[x]["extracted"] for x in tried]))
                                                        if tried else None)
    out[f"non-DP mean exposure of the {HIGH_K}+ canaries minus the null"] = out[
        f"mean exposure of the {HIGH_K}+ canaries minus the null"]
    if dp is not None:
        dfinal = dp["final"]
        out[f"DP-SGD mean exposure of the {HIGH_K}+ canaries minus the null"] = float(
            np.mean([dfinal[x]["exposure"] for x in high])) - NULL
        out["DP-SGD minus non-DP validation loss, nats per token"] = (dp["history"][-1]["valid_loss"]
                                                                     - hist[-1]["valid_loss"])
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}
