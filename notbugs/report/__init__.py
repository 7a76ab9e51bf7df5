"""One self-contained HTML page for a run of one or several experiments.

It opens with the argument map (every claim of the discussion, whose it is,
the published number, ours, the verdict), then one section per experiment,
rendered by that experiment's own ``section``. It runs nothing: every number
comes from the results dict. A results.json of a paper-only run of earlier
versions (no ``experiments`` key) renders as a run of the paper alone.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..experiments.base import HOLDS
from ..experiments.registry import by_name
from ..htmlparts import claims_table, table, verdict_span
from ..storage import atomic_write_bytes

CSS = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.holds{color:#17803d;font-weight:bold}
.fails{color:#b3261e;font-weight:bold}.notrun{color:#777}.grid{display:flex;flex-wrap:wrap;gap:1em}
.grid figure{margin:0}figcaption{font-size:.85em;color:#555}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}
.warn{background:#fff4e5;border-left:4px solid #e08a00;padding:.5em 1em}
table.map td{text-align:left;vertical-align:top}.question{font-style:italic}
"""


def _as_multi(results: dict) -> dict:
    """An older paper-only results.json, seen as a run of the paper experiment."""
    if "experiments" in results:
        return results
    claims = [{**c, "who": c.get("who", "Ilyas et al. 2019"), "published": c.get("published", "–"),
               "ours": c.get("ours", "–"), "verdict": c.get("verdict", "holds" if c["holds"] else "does not hold")}
              for c in results["claims"]]
    entry = {"title": "Ilyas et al. 2019, §3.1-3.2", "question": "", "method": "", "status": "done", "reason": "",
             "results": results, "claims": claims, "timings": {}, "error": None}
    return {**results, "experiments": {"paper": entry}}


def _argument_map(experiments: dict) -> str:
    rows = []
    for name, entry in experiments.items():
        for c in entry["claims"]:
            why = entry.get("reason") or entry.get("error") or ""
            verdict = verdict_span(c["verdict"]) + (f"<br><small>{html.escape(why)}</small>"
                                                    if why and c["verdict"] in ("not run", "error") else "")
            if "seeds_held" in c and c["verdict"] in ("holds", "does not hold"):  # over seeds: holds only on all
                verdict += f"<br><small>held on {html.escape(c['seeds_held'])}</small>"
            rows.append([f'<a href="#{name}">{html.escape(c["who"])}</a>', html.escape(c["statement"]),
                         html.escape(c["published"]), html.escape(c["ours"]), verdict])
    return table(["whose claim", "claim (with our margin)", "published", "ours", "verdict"], rows,
                 escape=False).replace("<table>", '<table class="map">', 1)


def _section(name: str, entry: dict) -> str:
    head = (f'<h2 id="{name}">{html.escape(name)}: {html.escape(entry["title"])}</h2>'
            + (f'<p class="question">{html.escape(entry["question"])}</p>' if entry.get("question") else "")
            + (f"<p>{html.escape(entry['method'])}</p>" if entry.get("method") else ""))
    status = entry["status"]
    if status == "error":
        return head + f'<p class="warn">This experiment stopped with an error: {html.escape(entry["error"])}</p>'
    if status != "done":
        text = {"running": "running now; this page is rewritten when it finishes",
                "pending": "not yet run; this page is rewritten as each experiment finishes"}.get(
            status, f"not run: {entry.get('reason') or 'not requested'}")
        return head + f'<p class="notrun">{html.escape(text)}</p>'
    experiment = by_name().get(name)
    if "summary" in entry:  # a run over seeds: numbers as mean ± sd, each seed's own section in its report
        body = _over_seeds(entry)
    elif entry.get("section") and Path(entry["section"]).is_file():  # drawn once when the experiment finished
        body = Path(entry["section"]).read_text()
    else:
        body = experiment.section(entry) if experiment else "<p>(no section for this experiment in this version)</p>"
    timings = entry.get("timings") or {}
    cost = (f"<p><small>{timings['wall']:.0f} s this run, {timings['uncached']:.0f} s to build its steps from "
            f"scratch.</small></p>" if "wall" in timings else "")
    return head + f"<h3>Claims</h3>{claims_table(entry['claims'])}{body}{cost}"


PERCENT = ("accuracy", "gap", "success", "transfer", "share")  # fractions, shown in %
KEEP = PERCENT + ("spearman", "recovered")  # the numbers worth a row
SHOWN = 80


def _leaves(tree, path: str = ""):
    """(path, {"mean", "sd", "values"}) for every summarised number below ``tree``."""
    if isinstance(tree, dict) and {"mean", "sd", "values"} <= set(tree):
        yield path, tree
    elif isinstance(tree, dict):
        for key, sub in tree.items():
            yield from _leaves(sub, f"{path}.{key}" if path else str(key))
    elif isinstance(tree, list):
        for i, sub in enumerate(tree):
            yield from _leaves(sub, f"{path}[{i}]")


def _over_seeds(entry: dict) -> str:
    rows = [[path, f"{100 * leaf['mean']:.1f} ± {100 * leaf['sd']:.1f}" if any(k in path for k in PERCENT)
             else f"{leaf['mean']:.3g} ± {leaf['sd']:.2g}",
             ", ".join(f"{v:.3g}" for v in leaf["values"])]
            for path, leaf in _leaves(entry.get("summary"))
            if any(k in path.lower() for k in KEEP) and "sanity" not in path and "_ci" not in path]
    more = f"<p><small>{len(rows) - SHOWN} more numbers in results.json (summary).</small></p>" if len(rows) > SHOWN else ""
    links = " ".join(f'<a href="{html.escape(link)}">seed {html.escape(seed)}</a>'
                     for seed, link in entry.get("seed_reports", {}).items())
    return (f"<h3>Numbers over seeds (mean ± sd; accuracies in %)</h3>"
            + table(["number", "mean ± sd", "each seed"], rows[:SHOWN]) + more
            + f"<p>Each seed's figures and tables: {links}.</p>")


def render(results: dict) -> str:
    results = _as_multi(results)
    order = [name for name in by_name() if name in results["experiments"]]  # the discussion's order, whatever
    order += [name for name in results["experiments"] if name not in order]  # order the file keeps its keys in
    exps = {name: results["experiments"][name] for name in order}
    ran = [n for n, e in exps.items() if e["status"] == "done"]
    rows = [c for e in exps.values() for c in e["claims"]]
    judged = [c for c in rows if c["verdict"] in ("holds", "does not hold")]
    holds = sum(c["verdict"] == HOLDS for c in rows)
    timings = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.1f}</td></tr>" for k, v in results.get("timings", {}).items())
    warnings = "".join(f'<p class="warn">{html.escape(w)}</p>' for w in results.get("warnings", []))
    sections = "".join(_section(name, entry) for name, entry in exps.items())
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>notbugs: {html.escape(results['dataset'])}, {html.escape(', '.join(ran) or 'nothing yet')}</title>
<style>{CSS}</style></head><body>
<h1>Adversarial examples: bugs or features? ({html.escape(results['dataset'])})</h1>
<p>Preset <b>{html.escape(results['preset'])}</b>, {'seeds' if 'seeds' in results else 'seed'} {results['seed']}.
Experiments run: {html.escape(', '.join(ran)
    or 'none yet')}. The published numbers are the papers' own (mostly CIFAR-10 and ImageNet): they show the shape of each
result, not targets at this scale.</p>{warnings}
<h2>The argument map: {holds} of {len(judged)} judged claims hold ({len(rows) - len(judged)} not run)</h2>
{_argument_map(exps)}
{sections}
<h2>Timings (seconds to build each step)</h2><table><tr><th>step</th><th>s</th></tr>{timings}</table>
<h2>Settings of the shared steps</h2><pre>{html.escape(json.dumps(results.get('settings', {}), indent=1))}</pre>
</body></html>"""


def write_report(results: dict, path: Path) -> Path:
    atomic_write_bytes(Path(path), render(results).encode())
    return Path(path)
