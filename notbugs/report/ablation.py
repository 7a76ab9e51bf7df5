"""The page of ``notbugs ablate``: for each part of the paper's recipe, what it changes, and a table of its effect
on every claim's statistics with each side's verdict. Every value from the results is escaped (markupsafe)."""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup, escape

from verdicts.table import legend_html, verdict_cell

from ..core.storage import atomic_write_bytes
from ..running.ablation import effect_text
from . import CSS


def _side(row: dict, side: str) -> Markup:
    value = row[side]
    text = "–" if value is None else f"{100 * value:.1f}" if row["percent"] else f"{value:.3g}"
    return Markup("{} {}").format(text, verdict_cell(row[f"{side}_verdict"]))


def _part(name: str, how: dict, rows: list[dict]) -> Markup:
    head = Markup("<tr><th>claim</th><th>statistic</th><th>departure</th><th>paper</th>"
                  "<th>effect (paper &minus; departure) [95 %]</th></tr>")
    body = Markup("").join(
        Markup("<tr><td>{}.{}</td><td>{}: {}</td><td>{}</td><td>{}</td><td>{}</td></tr>").format(
            r["experiment"], r["claim"], r["kind"], r["statistic"], _side(r, "departure"), _side(r, "paper"),
            effect_text(r)) for r in rows)
    fields = Markup("").join(Markup("<li><code>{}</code></li>").format(f) for f in how["fields"])
    return Markup('<h2>{}</h2><p>{}</p><p>Departure &rarr; paper:</p><ul>{}</ul><table class="map">{}{}</table>'
                  ).format(name, how["what"], fields, head, body)


def render(results: dict) -> str:
    parts = Markup("").join(_part(name, how, [r for r in results["rows"] if r["part"] == name])
                            for name, how in results["parts"].items())
    skipped = Markup("").join(Markup("<li>{}: {}</li>").format(k, v) for k, v in results.get("skipped", {}).items())
    skipped = Markup("<p>Not ablated:</p><ul>{}</ul>").format(skipped) if skipped else ""
    seeds = ", ".join(map(str, results["seeds"]))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>notbugs ablate: {escape(results['preset'])}, seeds {escape(seeds)}</title><style>{CSS}</style></head><body>
<h1>The paper's recipe, part by part ({escape(results['dataset'])}, preset {escape(results['preset'])})</h1>
<p>Seeds {escape(seeds)}, each on both sides of every part, on one store. An effect is the paper's value minus the
departure's, paired by seed, with its Student-t interval over the seeds (points for accuracies); each side shows its
mean over the seeds and its verdict over them. Verdicts: {legend_html()}</p>
{skipped}{parts}</body></html>"""


def write_ablation_report(results: dict, path: Path) -> Path:
    atomic_write_bytes(Path(path), render(results).encode())
    return Path(path)
