"""A single self-contained HTML page from a reproduction's results (figures inlined as PNG)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ..storage import atomic_write_bytes
from . import figures

NAMES = {"std": "standard training on D", "adv": "adversarial training on D", "d_r": "standard training on D_R",
         "d_nr": "standard training on D_NR", "d_rand": "standard training on D_rand", "d_det": "standard training on D_det"}

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.holds{color:#17803d;font-weight:bold}
.fails{color:#b3261e;font-weight:bold}.grid{display:flex;flex-wrap:wrap;gap:1em}.grid figure{margin:0}
figcaption{font-size:.85em;color:#555}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}
.warn{background:#fff4e5;border-left:4px solid #e08a00;padding:.5em 1em}
"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _claims(results: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(c['statement'])}</td><td class=\"{'holds' if c['holds'] else 'fails'}\">"
        f"{'holds' if c['holds'] else 'does not hold'}</td><td>{html.escape(c['evidence'])}</td></tr>"
        for c in results["claims"])
    return f"<table><tr><th>claim</th><th>verdict</th><th>evidence</th></tr>{rows}</table>"


def _models_table(results: dict) -> str:
    eps_list = [f"{e:g}" for e in results["threat"]["eval_eps"]]
    ref = results["reference"]["figure2_cifar10"]["models"]
    head = "".join(f"<th>robust eps {e}</th>" for e in eps_list)
    rows = ""
    for name, res in results["models"].items():
        cells = "".join(f"<td>{_pct(res['robust_accuracy'].get(e))}</td>" for e in eps_list)
        paper = ref.get(name)
        paper_cells = (f"<td>{_pct(paper['clean_accuracy'])}</td><td>{_pct(paper['robust_accuracy']['0.25'])}</td>"
                       if paper else "<td>–</td><td>–</td>")
        rows += f"<tr><td>{NAMES[name]}</td><td>{_pct(res['clean_accuracy'])}</td>{cells}{paper_cells}</tr>"
    return (f"<table><tr><th>model</th><th>clean</th>{head}<th>paper CIFAR-10 clean</th>"
            f"<th>paper CIFAR-10 robust eps 0.25</th></tr>{rows}</table>")


def _sanity_table(results: dict) -> str:
    """Each model's attack checks per eps: which passed, which flag the number as suspect."""
    rows = ""
    for name, res in results["models"].items():
        for eps, rep in res.get("sanity", {}).items():
            cells = " ".join(
                f'<span class="{"holds" if c["passed"] else "fails"}" title="{html.escape(c["detail"])}">'
                f'{c["check"]}</span>' for c in rep["checks"])
            verdict = "all pass" if not rep["flags"] else "suspect: " + ", ".join(rep["flags"])
            rows += (f"<tr><td>{name}</td><td>{eps}</td><td>{rep['n']}</td><td style=\"text-align:left\">{cells}</td>"
                     f"<td>{verdict}</td></tr>")
    if not rows:
        return "<p>No sanity checks in these results.</p>"
    return ("<p>Each robust-accuracy number is checked for a weak attack or gradient masking: FGSM, more PGD steps, "
            "random restarts, an unbounded eps (must reach ~0), zero/NaN input gradients, and a transfer attack from "
            "the standard model (random noise for the standard model itself). Hover a check for its numbers.</p>"
            f"<table><tr><th>model</th><th>eps</th><th>images</th><th>checks</th><th>verdict</th></tr>{rows}</table>")


def _datasets_table(results: dict) -> str:
    rows = ""
    for name, d in results["datasets"].items():
        success = _pct(d.get("attack_success")) if "attack_success" in d else "–"
        leak = (f"{_pct(d['robust_agreement_perturbed'])} vs {_pct(d['robust_agreement_clean'])} "
                f"(gap {100 * d['leakage_gap']:.1f})" if "leakage_gap" in d else "–")
        dist = f"{d['relative_feature_distance_median']:.3f}" if "relative_feature_distance_median" in d else "–"
        flag = ' <span class="fails">leakage</span>' if d.get("leakage_gap", 0) > 0.10 else ""
        rows += f"<tr><td>{name}</td><td>{d['size']}</td><td>{success}</td><td>{leak}{flag}</td><td>{dist}</td></tr>"
    return ("<table><tr><th>dataset</th><th>images</th><th>attack success (%)</th>"
            "<th>robust model agrees with original label: perturbed vs clean (%)</th>"
            f"<th>median relative feature distance</th></tr>{rows}</table>")


def _grids(results: dict) -> str:
    items = []
    sample_d = results.get("artifacts", {}).get("samples_d")
    if sample_d and Path(sample_d).is_file():
        items.append(("D (the source images)", Path(sample_d)))
    for name, d in results["datasets"].items():
        path = Path(d["artifact"]) / "samples.png"
        if path.is_file():
            items.append((name, path))
    return '<div class="grid">' + "".join(
        f"<figure>{_img(p.read_bytes(), title)}<figcaption>{html.escape(title)}</figcaption></figure>" for title, p in items
    ) + "</div>"


def render(results: dict) -> str:
    t = results["threat"]
    holds = sum(c["holds"] for c in results["claims"])
    timings = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.1f}</td></tr>" for k, v in results["timings"].items())
    warnings = "".join(f'<p class="warn">{html.escape(w)}</p>' for w in results.get("warnings", []))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>notbugs: {results['dataset']} reproduction</title>
<style>{CSS}</style></head><body>
<h1>Adversarial examples are not bugs, they are features: {html.escape(results['dataset'])}</h1>
<p>Preset <b>{html.escape(results['preset'])}</b>, seed {results['seed']}, architecture {html.escape(results['arch'])};
L2 threat, adversarial training at eps {t['train_eps']:g}, robust accuracy by {t['eval_steps']}-step PGD on
{t['eval_images']} test images, main eval eps {t['main_eval_eps']:g}. Every accuracy is on the <i>original</i> test set.
The paper's numbers are CIFAR-10's (Ilyas et al. 2019), shown for the shape of the result, not as targets at this scale.</p>
{warnings}
<h2>Claims: {holds} of {len(results['claims'])} hold</h2>{_claims(results)}
<h2>Figure 2: robust and non-robust features</h2>{_img(figures.figure2(results), 'Figure 2')}
{_models_table(results)}
<h2>Table 1: learning from mislabelled-looking images</h2>{_img(figures.table1(results), 'Table 1')}
<h2>Robust accuracy against eps</h2>{_img(figures.robustness_curves(results), 'robustness curves')}
<h2>Can these robust-accuracy numbers be trusted?</h2>{_sanity_table(results)}
<h2>The constructed datasets</h2>{_datasets_table(results)}{_grids(results)}
<h2>Timings (seconds to build each step)</h2><table><tr><th>step</th><th>s</th></tr>{timings}</table>
<h2>Settings</h2><pre>{html.escape(json.dumps(results['settings'], indent=1))}</pre>
</body></html>"""


def write_report(results: dict, path: Path) -> Path:
    atomic_write_bytes(Path(path), render(results).encode())
    return Path(path)
