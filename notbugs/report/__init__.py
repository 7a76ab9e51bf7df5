"""One self-contained HTML page for a run of one or several experiments.

It opens with the argument map (every claim of the discussion, whose it is,
the published number, ours, the verdict), then one section per experiment,
drawn by that experiment's own ``section`` from its results. It runs nothing
and reads nothing but the results and the pictures inside the run folder:
every value it did not write itself is escaped, and a results file of the
wrong shape is one error naming the field. Results of earlier versions
(paper-only, or accuracies with ``<key>_ci`` beside them) are read through
``upgrade``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from markupsafe import Markup, escape

from verdicts import Bound, Estimate, Proportion, bound_outcome

from ..core.errors import NotbugsError
from ..core.storage import atomic_write_bytes, json_text
from ..core.values import ByNumber, from_json, to_json
from ..experiments.registry import by_name
from ..frame.base import HOLDS
from ..present.htmlparts import claims_table, join, pictures_from, table, verdict_span

CSS = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.holds{color:#17803d;font-weight:bold}
.fails{color:#b3261e;font-weight:bold}.unsure{color:#9a6700;font-weight:bold}.notrun{color:#777}
.grid{display:flex;flex-wrap:wrap;gap:1em}.grid figure{margin:0}figcaption{font-size:.85em;color:#555}
img{max-width:100%;height:auto}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}
.warn{background:#fff4e5;border-left:4px solid #e08a00;padding:.5em 1em}
table.map td{text-align:left;vertical-align:top}.question{font-style:italic}
"""


def upgrade(results: dict) -> dict:
    """Results of earlier versions in today's shape: a paper-only file as a run of the paper experiment, and
    accuracies with ``<key>_ci`` beside them as proportions carrying that interval."""
    results = _with_proportions(from_json(to_json(results)))  # typed values, whether read typed or plain
    if "experiments" in results:
        return results
    claims = [{**c, "who": c.get("who", "Ilyas et al. 2019"), "published": c.get("published", "–"),
               "ours": c.get("ours", "–"), "verdict": c.get("verdict", "holds" if c.get("holds") else "does not hold")}
              for c in results.get("claims", [])]
    entry = {"title": "Ilyas et al. 2019, §3.1-3.2", "question": "", "method": "", "status": "done", "reason": "",
             "results": results, "claims": claims, "timings": {}, "error": None}
    return {**results, "experiments": {"paper": entry}}


def _with_proportions(tree):
    if isinstance(tree, list):
        return [_with_proportions(v) for v in tree]
    if not isinstance(tree, dict):
        return tree
    out = type(tree)() if isinstance(tree, ByNumber) else {}
    for key, value in tree.items():
        if isinstance(key, str) and key.endswith("_ci") and key[:-3] in tree:
            continue
        ci = tree.get(f"{key}_ci") if isinstance(key, str) else None
        out[key] = _with_ci(value, ci) if ci is not None else _with_proportions(value)
    return out


def _with_ci(value, ci):
    if isinstance(value, dict) and isinstance(ci, dict):
        return ByNumber({k: _with_ci(v, ci.get(k)) for k, v in value.items()}) if isinstance(value, ByNumber) \
            else {k: _with_ci(v, ci.get(k)) for k, v in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(ci, list) and len(ci) == 2 \
            and 0 <= value <= 1:
        return Proportion(value, None, ci)
    return _with_proportions(value)


def check_shape(results) -> dict:
    """The fields the page is drawn from, each of the type it must have; the first that is not is named."""
    if not isinstance(results, dict):
        raise NotbugsError(f"results must be a JSON object, got {type(results).__name__}")
    if "experiments" not in results and "models" not in results:  # neither today's shape nor a paper-only file
        raise NotbugsError("results field 'experiments' is missing; is this a notbugs results.json?")
    results = upgrade(results)
    for field, kind in (("experiments", dict), ("dataset", str), ("preset", str)):
        if not isinstance(results.get(field), kind):
            raise NotbugsError(f"results field '{field}' must be a {kind.__name__}, got "
                               f"{type(results.get(field)).__name__}; is this a notbugs results.json?")
    for name, entry in results["experiments"].items():
        if not isinstance(entry, dict):
            raise NotbugsError(f"results field 'experiments.{name}' must be an object")
        if not isinstance(entry.get("claims", []), list) or not all(isinstance(c, dict) for c in entry.get("claims",
                                                                                                           [])):
            raise NotbugsError(f"results field 'experiments.{name}.claims' must be a list of objects")
        if not isinstance(entry.get("status", ""), str):
            raise NotbugsError(f"results field 'experiments.{name}.status' must be a string")
    return results


def _number(value, percent: bool) -> str:
    """A number as the map shows it; anything else (results from elsewhere) as its text, escaped where it is
    placed."""
    if value is None:
        return "undefined"
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    return f"{100 * value:.1f}" if percent else f"{value:.3g}"


def statistic(test: dict) -> str:
    """A test's statistic with its interval, its margin, and how far from the margin it lies (in points for
    percentages)."""
    pc = test.get("percent", True)
    ci = test.get("ci")
    interval = f" [{_number(ci[0], pc)}, {_number(ci[1], pc)}]" if isinstance(ci, list) and len(ci) == 2 else ""
    if test.get("sd") is not None:  # over seeds: the mean, its Student-t interval and the seeds' spread
        interval = (f"{interval or ' [interval undefined]'} over {len(test.get('values') or [])} seeds "
                    f"(sd {_number(test['sd'], pc)})")
    distance = test.get("distance")
    away = (f", {'+' if distance >= 0 else '−'}{_number(abs(distance), pc)} from it"
            if isinstance(distance, (int, float)) else "")
    return (f"{test['name']}: {_number(test.get('value'), pc)}{interval} (margin {test['sense']} "
            f"{_number(test['margin'], pc)}{away}){_seeds_needed(test)}")


def _seeds_needed(row: dict) -> str:
    """For a test or premise undecided over seeds: how many seeds its observed spread would need."""
    return f"; about {row['seeds_to_decide']} seeds would decide it" if row.get("seeds_to_decide") else ""


PREMISE_WORDS = {"holds": "met", "inconclusive": "UNDECIDED"}  # anything else: not met


def premise_text(p: dict) -> str:
    """A premise in words: met, UNDECIDED (its interval straddles the threshold) or NOT MET. A premise of results
    written before premises had outcomes (only ``passed``) is judged again by its interval, as the rule judges it:
    "not passed" there also meant undecided."""
    pc = p.get("percent", True)
    ci = p.get("ci")
    outcome = p.get("outcome")
    if outcome is None and p.get("value") is not None:
        value = Estimate(p["value"], ci if isinstance(ci, (list, tuple)) and len(ci) == 2 else None)
        outcome = bound_outcome(Bound(p["name"], p["sense"], p["threshold"], pc), value)
    word = PREMISE_WORDS.get(str(outcome), "NOT MET")
    interval = f" [{_number(ci[0], pc)}, {_number(ci[1], pc)}]" if isinstance(ci, (list, tuple)) and len(ci) == 2 \
        else ""
    return (f"{word}: {p['name']} {_number(p.get('value'), pc)}{interval} ({p['sense']} "
            f"{_number(p['threshold'], pc)}){_seeds_needed(p)}")


def _claim_row(name: str, entry: dict, c: dict) -> list:
    why = entry.get("reason") or entry.get("error") or ""
    verdict = verdict_span(c.get("verdict", ""))
    if why and str(c.get("verdict")) in ("not run", "error"):
        verdict = join([verdict, Markup("<br><small>"), why, Markup("</small>")])
    if "seeds_held" in c:  # over seeds: judged on the interval over seeds; each seed's own verdict beside it
        verdict = join([verdict, Markup("<br><small>"), f"held on {c['seeds_held']}", Markup("</small>")])
    ours = join([c.get("ours", "")] + [part for t in c.get("tests") or []
                                        for part in (Markup("<br><small>"), statistic(t), Markup("</small>"))])
    premises = list(c.get("premises") or [])
    if premises:
        verdict = join([verdict] + [part for p in premises
                                    for part in (Markup('<br><small class="premise">'), premise_text(p),
                                                 Markup("</small>"))])
    return [Markup('<a href="#{}">{}</a>').format(name, c.get("who", "")), c.get("statement", ""),
            c.get("published", ""), ours, verdict]


def _tally(experiments: dict) -> Markup:
    """Per paper or response: how many of its claims hold, fail, cannot be decided or tested, or did not run."""
    counts: dict[str, dict[str, int]] = {}
    for entry in experiments.values():
        for c in entry.get("claims", []):
            who = str(c.get("who", "")).split(",")[0]
            row = counts.setdefault(who, {})
            row[str(c.get("verdict"))] = row.get(str(c.get("verdict")), 0) + 1
    words = ["holds", "does not hold", "inconclusive", "not testable", "not run", "error"]
    return table(["whose claims"] + words, [[who] + [row.get(w, 0) or "" for w in words]
                                            for who, row in counts.items()])


def _counts(claims: list[dict]) -> str:
    words = [str(c.get("verdict")) for c in claims]
    plural = {"does not hold": "do not hold", "error": "errors"}  # "7 do not hold", "2 errors"
    return ", ".join(f"{n} {plural.get(w, w) if n > 1 else w}" for w in ("does not hold", "inconclusive",
                                                                        "not testable", "not run", "error")
                     if (n := words.count(w)))


def _argument_map(experiments: dict) -> Markup:
    rows, idle = [], []
    for name, entry in experiments.items():
        if str(entry.get("status")) == "not run" and entry.get("reason") == "not requested":
            idle.append(f"{name} ({len(entry.get('claims', []))})")
            continue
        rows += [_claim_row(name, entry, c) for c in entry.get("claims", [])]
    page = table(["whose claim", "claim (with our margin)", "published", "ours (statistic [95 % interval])",
                  "verdict (and premises)"], rows, cls="map")
    if idle:
        page += Markup("<p><small>Not requested in this run (their claims are listed in a run of <code>all</code>): "
                       "{}.</small></p>").format(", ".join(idle))
    return page


def _section_body(name: str, entry: dict, cache: dict | None) -> Markup:
    experiment = by_name().get(name)
    if "summary" in entry:  # a run over seeds: numbers as mean ± sd, each seed's own section in its report
        return _over_seeds(entry)
    if experiment is None:
        return Markup("<p>(no section for this experiment in this version)</p>")
    stamp = hashlib.sha256(json_text(entry.get("results")).encode()).hexdigest()
    if cache is not None and cache.get(name, (None,))[0] == stamp:
        return cache[name][1]
    try:
        body = escape(experiment.section(entry))
    except Exception as exc:  # noqa: BLE001 - results from elsewhere may not fit this version's section
        body = Markup('<p class="warn">This section could not be drawn from these results ({}: {}).</p>').format(
            type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    if cache is not None:
        cache[name] = (stamp, body)
    return body


def _section(name: str, entry: dict, cache: dict | None) -> Markup:
    """An experiment's section: the same heading (the argument map links to its id) whatever its status, then
    its claims and results if it ran, why not if it did not, or the error that stopped it."""
    head = join([Markup('<h2 id="{}">').format(name), f"{name}: {entry.get('title', '')}", Markup("</h2>"),
                 Markup('<p class="question">{}</p>').format(entry["question"]) if entry.get("question") else "",
                 Markup("<p>{}</p>").format(entry["method"]) if entry.get("method") else ""])
    status = str(entry.get("status", ""))
    if status == "done":
        timings = entry.get("timings") or {}
        cost = ""
        if isinstance(timings.get("wall"), (int, float)) and isinstance(timings.get("uncached"), (int, float)):
            cost = Markup("<p><small>{:.0f} s this run, {:.0f} s to build its steps from scratch.</small></p>"
                          ).format(timings["wall"], timings["uncached"])
        body = join([Markup("<h3>Claims</h3>"), claims_table(entry.get("claims", [])),
                     _section_body(name, entry, cache), cost])
    elif status == "error":
        where = (Markup(" (its traceback: results.json, <code>experiments.{}.traceback</code>)").format(name)
                 if entry.get("traceback") else "")
        body = Markup('<p class="warn">This experiment stopped with an error: {}{}</p>').format(entry.get("error"),
                                                                                              where)
    else:
        text = {"running": "running now; this page is rewritten when it finishes",
                "pending": "not yet run; this page is rewritten as each experiment finishes"}.get(
            status, f"not run: {entry.get('reason') or 'not requested'}")
        body = Markup('<p class="notrun">{}</p>').format(text)
    return head + body


SHOWN = 80


def _leaves(tree, path: str = ""):
    """(path, leaf) for every summarised measurement below ``tree`` (not inside lists of lists, e.g. grids)."""
    if isinstance(tree, dict) and "values" in tree and "kind" in tree:
        yield path, tree
    elif isinstance(tree, dict):
        for key, sub in tree.items():
            key = f"{key:g}" if isinstance(key, float) else str(key)
            yield from _leaves(sub, f"{path}.{key}" if path else key)
    elif isinstance(tree, list) and not any(isinstance(v, list) for v in tree):
        for i, sub in enumerate(tree):
            yield from _leaves(sub, f"{path}[{i}]")


def _over_seeds(entry: dict) -> Markup:
    rows = []
    for path, leaf in _leaves(entry.get("summary")):
        if ".sanity." in f".{path}." or leaf["kind"] == "count":
            continue
        scale = 100 if leaf["kind"] == "proportion" else 1
        rows.append([path, f"{scale * leaf['mean']:.1f} ± {scale * leaf['sd']:.1f}" if scale == 100
                     else f"{leaf['mean']:.3g} ± {leaf['sd']:.2g}",
                     ", ".join(f"{scale * v:.3g}" for v in leaf["values"])])
    more = (Markup("<p><small>{} more numbers in results.json (summary).</small></p>").format(len(rows) - SHOWN)
            if len(rows) > SHOWN else "")
    seeds = [f"{s:g}" if isinstance(s, float) else str(s) for s in (entry.get("seed_reports") or {})]
    links = join(Markup('<a href="seed-{0}/report.html">seed {0}</a> ').format(seed)
                 for seed in seeds if seed.lstrip("-").isdigit())  # a seed is an integer: nothing else is linked
    return join([Markup("<h3>Numbers over seeds (mean ± sd; proportions in %)</h3>"),
                 table(["number", "mean ± sd", "each seed"], rows[:SHOWN]), more,
                 Markup("<p>Each seed's figures and tables: "), links, Markup("</p>")])


def render(results: dict, base: Path | None = None, cache: dict | None = None) -> str:
    """The page for ``results``; pictures are read from the run folder ``base`` (none without it); ``cache``
    (a dict kept by the caller) keeps sections drawn from unchanged results between rewrites."""
    results = check_shape(results)
    order = [name for name in by_name() if name in results["experiments"]]  # the discussion's order, whatever
    order += [name for name in results["experiments"] if name not in order]  # order the file keeps its keys in
    exps = {name: results["experiments"][name] for name in order}
    ran = [n for n, e in exps.items() if str(e.get("status")) == "done"]
    tried = [n if str(e.get("status")) == "done" else f"{n} (stopped with an error)" for n, e in exps.items()
             if str(e.get("status")) in ("done", "error")]
    rows = [c for e in exps.values() if not (str(e.get("status")) == "not run" and e.get("reason") == "not requested")
            for c in e.get("claims", [])]
    holds = sum(str(c.get("verdict")) == HOLDS for c in rows)
    timings = table(["step", "s"], [[k, f"{v:.1f}"] for k, v in (results.get("timings") or {}).items()
                                    if isinstance(v, (int, float))])
    warnings = join(Markup('<p class="warn">{}</p>').format(w) for w in results.get("warnings", []))
    with pictures_from(base):
        sections = join(_section(name, entry, cache) for name, entry in exps.items())
    seeds = "seeds" if "seeds" in results else "seed"
    smoke = Markup('<p class="warn"><b>A smoke test, not evidence:</b> preset {} runs every code path at toy sizes '
                   'in seconds; its verdicts say nothing about the claims.</p>').format(results["preset"]) \
        if (results.get("settings") or {}).get("smoke") else ""
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>notbugs: {escape(results['dataset'])}, {escape(', '.join(ran) or 'nothing yet')}</title>
<style>{CSS}</style></head><body>
{smoke}<h1>Adversarial examples: bugs or features? ({escape(results['dataset'])})</h1>
<p>Preset <b>{escape(results['preset'])}</b>, {seeds} {escape(results.get('seed', ''))}. Experiments run:
{escape(', '.join(tried) or 'none yet')}. The published numbers are the papers' own (mostly CIFAR-10 and ImageNet): they
show the shape of each result, not targets at this scale.</p>{warnings}
<h2>The argument map: {holds} of {len(rows)} claims hold ({_counts(rows)})</h2>
{_tally(exps)}
{_argument_map(exps)}
{sections}
<h2>Timings (seconds to build each step)</h2>{timings}
<h2>Settings of the shared steps</h2><pre>{escape(json.dumps(results.get('settings', {}), indent=1, default=str))}</pre>
</body></html>"""


def write_report(results: dict, path: Path, base: Path | None = None, cache: dict | None = None) -> Path:
    """Write the page; pictures come from ``base`` (default: the folder the page is written to)."""
    path = Path(path)
    atomic_write_bytes(path, render(results, base if base is not None else path.parent, cache).encode())
    return path


__all__ = ["check_shape", "render", "upgrade", "write_report"]
