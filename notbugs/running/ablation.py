"""``notbugs ablate``: each departure of a preset from the paper's recipe (``frame.recipes``) and its effect on
every claim's statistics, over seeds.

For each part the same experiments run over the same seeds on one store twice: with the preset's departure and
with the paper's value (one side is the preset itself, shared by every part and built once). A part's effect on a
test's or premise's statistic is the paper's value minus the departure's, paired by seed (a seed draws the same
subsets, starts and initialisations on both sides), with its Student-t interval over the seeds; beside it, each
side's mean with that statistic's own outcome over the seeds, and the claim's verdict on each side, as
``reproduce --seeds`` judges them. empathic-dqn's ablation of its
rules reads the same way.
"""

from __future__ import annotations

from verdicts import over_seeds

from ..core.errors import NotbugsError
from ..frame.config import changed
from ..frame.presets import Preset
from ..frame.recipes import PARTS, contrast

PRESET = "preset"  # the label of the side that is the preset itself


def sides(preset: Preset, parts: tuple[str, ...]) -> tuple[dict[str, Preset], dict[str, dict], dict[str, str]]:
    """The presets to run, by label; for each part that applies, its departure's and its paper side's labels, what
    it is and the fields it changes; for each part that does not, why."""
    runs: dict[str, Preset] = {PRESET: preset}
    plan, skipped = {}, {}
    for name in parts:
        try:
            pair = contrast(preset, name)
        except NotbugsError as exc:
            skipped[name] = str(exc)
            continue
        if pair is None:
            skipped[name] = "the preset has the paper's value and never had another to compare it with"
            continue
        labels = []
        for side, p in zip(("departure", "paper"), pair):
            label = PRESET if p == preset else f"{name}-{side}"
            runs[label] = p
            labels.append(label)
        plan[name] = {"what": PARTS[name].what, "departure": labels[0], "paper": labels[1],
                      "fields": changed(*pair)}
    return runs, plan, skipped


def effects(plan: dict[str, dict], combined: dict[str, dict]) -> list[dict]:
    """One row per part, claim and statistic (each test and premise) the part moved on some seed, from the combined
    results of every side (``seeds.combine``, by label, over the same seeds). A statistic equal on every seed is
    upstream of the part (the standard model's accuracy beside a change of the fresh models) and has no row."""
    rows = []
    for part, how in plan.items():
        dep, pap = combined[how["departure"]], combined[how["paper"]]
        for exp, entry in dep["experiments"].items():
            other = pap["experiments"].get(exp)
            if other is None:
                continue
            for claim, mirror in zip(entry["claims"], other["claims"]):
                for kind in ("tests", "premises"):
                    theirs = {b["name"]: b for b in mirror.get(kind) or []}  # a side may have a premise more
                    for a in claim.get(kind) or []:
                        b = theirs.get(a["name"])
                        if b is not None and a.get("values") != b.get("values"):  # equal on every seed: upstream
                            rows.append(_row(part, exp, claim, mirror, kind, a, b))
    return rows


def _row(part: str, exp: str, claim: dict, mirror: dict, kind: str, a: dict, b: dict) -> dict:
    pairs = [(x, y) for x, y in zip(a.get("values") or [], b.get("values") or []) if x is not None and y is not None]
    effect = over_seeds([float(y) - float(x) for x, y in pairs]) if pairs else None
    return {"part": part, "experiment": exp, "claim": claim["id"], "kind": kind[:-1], "statistic": a["name"],
            "percent": a.get("percent", True), "departure": a.get("value"), "paper": b.get("value"),
            "effect": None if effect is None else float(effect),
            "ci": list(effect.ci) if effect is not None and effect.ci is not None else None, "pairs": len(pairs),
            "departure_outcome": str(a.get("outcome")), "paper_outcome": str(b.get("outcome")),
            "departure_verdict": str(claim["verdict"]), "paper_verdict": str(mirror["verdict"])}
