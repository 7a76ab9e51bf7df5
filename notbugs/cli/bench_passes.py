"""``notbugs bench --passes``: the feature-gradient passes each inversion optimiser needs to meet its premise.

The inversion that builds D_R and D_NR is the paper experiment's largest cost (one forward and backward pass per
image and step), and a claim on D_R or D_NR needs it converged: mean relative feature distance <= 10 %
(``frame.base.MAX_FEATURE_DISTANCE``). This inverts the same training images from the same starts with each
optimiser at each budget of passes, through ``feature_dataset`` (the code a reproduction runs), with a preset's
trained standard and robust models read from a store (trained there first if it lacks them), and reports the
distance reached, how far the images moved from their starts, the seconds, and the fewest passes that met the
premise. The distance moved is there because the premise alone cannot tell constructions apart: Adam meets it in
fewer passes by carrying D_NR's images about 1.7x as far as the paper's steps do (docs/measurements.md).
"""

from __future__ import annotations

import time
from dataclasses import replace

from ..core.errors import NotbugsError
from ..core.precision import computing
from ..data import subset_index
from ..frame.base import MAX_FEATURE_DISTANCE
from ..frame.lab import Lab
from ..methods.construct import feature_dataset

OPTIMISERS = {  # InversionConfig fields of each; the preset's other fields (fake ReLU, batch) are kept
    "paper": dict(optimizer="normalized", step_size=0.1, schedule="constant", momentum=0.0),  # its 1000 x 0.1
    "cosine": dict(optimizer="normalized", step_size=1.0, schedule="cosine", momentum=0.0),  # 0.3.0's presets
    "momentum": dict(optimizer="normalized", step_size=0.1, schedule="cosine", momentum=0.9),  # 0.4.0's presets
    "adam": dict(optimizer="adam", step_size=0.3, schedule="cosine", momentum=0.0),
}
SETTINGS = ("d_nr:image", "d_r:image", "d_nr:noise", "d_r:noise")  # the dataset, and where each inversion starts


def passes_to_converge(lab: Lab, *, images: int = 200, budgets=(25, 50, 100, 250), optimisers=tuple(OPTIMISERS),
                       settings=SETTINGS, progress: bool = True) -> dict:
    """Each optimiser at each budget on the first ``images`` images the preset inverts: one row per run, and per
    setting and optimiser the fewest passes of ``budgets`` whose mean feature distance met the premise (None:
    none did)."""
    unknown = [o for o in optimisers if o not in OPTIMISERS]
    if unknown:
        raise NotbugsError(f"unknown inversion optimiser {', '.join(unknown)}; use {', '.join(OPTIMISERS)}")
    parsed = [_setting(s) for s in settings]
    budgets = sorted(set(budgets))
    if images < 1 or not budgets or budgets[0] < 1:
        raise NotbugsError("--passes needs images >= 1 and budgets >= 1 (e.g. --budgets 25,50,100,250)")
    data = lab.data
    idx = subset_index(len(data.train_x), lab.preset.construct_limit, lab.seed)[:images]
    x, y = data.train_x[idx], data.train_y[idx]
    rows = []
    for setting, (name, start) in zip(settings, parsed):
        model = lab.model(lab.robust() if name == "d_r" else lab.std())
        for optimiser in optimisers:
            for passes in budgets:
                cfg = replace(lab.preset.inversion, **OPTIMISERS[optimiser], steps=passes, start=start)
                began = time.perf_counter()
                with computing(lab.precision, lab.device):  # as the reproduction computes
                    stats = feature_dataset(model, x, y, cfg, progress=False)["stats"]
                rows.append({"setting": setting, "optimiser": optimiser, "passes": passes,
                             "feature_distance": stats["relative_feature_distance_mean"],
                             "moved_l2": stats["perturbation_l2_mean"], "seconds": time.perf_counter() - began})
                if progress:
                    r = rows[-1]
                    print(f"  {setting:<10} {optimiser:<8} {passes:>5} passes: {100 * r['feature_distance']:5.1f} % "
                          f"(moved {r['moved_l2']:.2f}) in {r['seconds']:.1f} s", flush=True)
    fewest = {}
    for setting in settings:
        for optimiser in optimisers:
            met = [r["passes"] for r in rows if r["setting"] == setting and r["optimiser"] == optimiser
                   and r["feature_distance"] <= MAX_FEATURE_DISTANCE]
            fewest.setdefault(setting, {})[optimiser] = min(met) if met else None
    return {"preset": lab.preset.name, "seed": lab.seed, "images": len(idx), "premise": MAX_FEATURE_DISTANCE,
            "precision": lab.precision,
            "optimisers": {o: OPTIMISERS[o] for o in optimisers}, "rows": rows, "fewest_passes": fewest}


def _setting(text: str) -> tuple[str, str]:
    name, _, start = text.partition(":")
    if name not in ("d_r", "d_nr") or start not in ("image", "noise"):
        raise NotbugsError(f"unknown inversion setting '{text}'; use d_r or d_nr, a colon, then image or noise "
                           f"(e.g. {','.join(SETTINGS)})")
    return name, start


def format_passes(result: dict) -> str:
    """The fewest passes of the budgets tried to the premise, per setting and optimiser (every run's distance,
    distance moved and seconds are in ``rows``, printed as they finish)."""
    optimisers = list(result["optimisers"])
    widest = max(r["passes"] for r in result["rows"])
    lines = [f"fewest passes to a mean feature distance <= {100 * result['premise']:.0f} % ({result['images']} "
             f"images of the {result['preset']} preset, seed {result['seed']}, {result['precision']})",
             "  " + f"{'':<10}" + "".join(f"{o:>10}" for o in optimisers)]
    for setting, per in result["fewest_passes"].items():
        cells = [f"{per[o]:>10}" if per[o] is not None else f"{'> ' + str(widest):>10}" for o in optimisers]
        lines.append("  " + f"{setting:<10}" + "".join(cells))
    return "\n".join(lines)
