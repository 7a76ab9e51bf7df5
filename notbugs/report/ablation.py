"""What ``notbugs ablate`` shows: for each part of the paper's recipe, what it changes, and a table of its effect
on every claim's statistics with each side's verdict, as text and as a page (every value from the results escaped,
by markupsafe)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from markupsafe import Markup, escape

from verdicts.table import legend_html, verdict_cell

from ..core.storage import atomic_write_bytes
from . import CSS


def _number(value, percent: bool, sign: bool = False) -> str:
    if value is None:
        return "–"
    v = 100 * value if percent else value
    return f"{v:+.1f}" if sign and percent else f"{v:+.3g}" if sign else f"{v:.1f}" if percent else f"{v:.3g}"


def effect_text(row: dict) -> str:
    """The effect with its interval, in the statistic's unit (points for a proportion)."""
    text = _number(row["effect"], row["percent"], sign=True)
    if row["ci"]:
        text += f" [{_number(row['ci'][0], row['percent'], True)}, {_number(row['ci'][1], row['percent'], True)}]"
    return text


def side_text(row: dict, side: str) -> str:
    """A side's mean with the statistic's own outcome over the seeds."""
    return f"{_number(row[side], row['percent'])} ({row[side + '_outcome']})"


def table_text(rows: list[dict], say: Callable[[str], None] = print) -> None:
    """The ablation as aligned text: a row per part, claim and statistic."""
    head = ("part", "claim (verdict: departure -> paper)", "statistic", "departure", "paper",
            "effect (paper - departure) [95 %]")
    lines = [head] + [(r["part"], f"{r['experiment']}.{r['claim']} ({r['departure_verdict']} -> {r['paper_verdict']})",
                       f"{r['kind']}: {r['statistic']}",
                       side_text(r, "departure"), side_text(r, "paper"), effect_text(r)) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head) - 1)]
    for line in lines:
        say("  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[-1])


def _side(row: dict, side: str) -> Markup:
    return Markup("{} {}").format(_number(row[side], row["percent"]), verdict_cell(row[f"{side}_outcome"]))


def _part(name: str, how: dict, rows: list[dict]) -> Markup:
    head = Markup("<tr><th>claim (its verdict: departure &rarr; paper)</th><th>statistic</th><th>departure</th>"
                  "<th>paper</th><th>effect (paper &minus; departure) [95 %]</th></tr>")
    body = Markup("").join(
        Markup("<tr><td>{}.{}<br>{} &rarr; {}</td><td>{}: {}</td><td>{}</td><td>{}</td><td>{}</td></tr>").format(
            r["experiment"], r["claim"], verdict_cell(r["departure_verdict"]), verdict_cell(r["paper_verdict"]),
            r["kind"], r["statistic"], _side(r, "departure"), _side(r, "paper"), effect_text(r)) for r in rows)
    fields = Markup("").join(Markup("<li><code>{}</code></li>").format(f) for f in how["fields"])
    return Markup('<h2>{}</h2><p>{}</p><p>Departure &rarr; paper:</p><ul>{}</ul><table class="map">{}{}</table>'
                  ).format(name, how["what"], fields, head, body)


def render(results: dict) -> str:
    parts = Markup("").join(_part(name, how, [r for r in results["rows"] if r["part"] == name])
                            for name, how in results["parts"].items())
    skipped = Markup("").join(Markup("<li>{}: {}</li>").format(k, v) for k, v in results.get("skipped", {}).items())
    skipped = Markup("<p>Not ablated:</p><ul>{}</ul>").format(skipped) if skipped else ""
    seeds = ", ".join(map(str, results["seeds"]))
    smoke = Markup('<p class="warn"><b>A smoke test, not evidence:</b> preset {} runs every code path at toy sizes '
                   'in seconds; its effects say nothing about the claims.</p>').format(results["preset"]) \
        if results.get("smoke") else ""
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>notbugs ablate: {escape(results['preset'])}, seeds {escape(seeds)}</title><style>{CSS}</style></head><body>
{smoke}<h1>The paper's recipe, part by part ({escape(results['dataset'])}, preset {escape(results['preset'])})</h1>
<p>Seeds {escape(seeds)}, each on both sides of every part, on one store. An effect is the paper's value minus the
departure's, paired by seed, with its Student-t interval over the seeds (points for accuracies); each side shows the
statistic's mean over the seeds and its own outcome (a premise: holds = met); the claim's verdict on each side is
under its name. Verdicts: {legend_html()}</p>
{skipped}{parts}</body></html>"""


def write_ablation_report(results: dict, path: Path) -> Path:
    atomic_write_bytes(Path(path), render(results).encode())
    return Path(path)
