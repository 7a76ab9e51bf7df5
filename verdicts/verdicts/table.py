"""One rendering of judged claims, as text and as HTML, for every package's report.

A row is a judged claim as results keep it: ``id``, ``verdict`` (an ``Outcome`` or its word) and, where known,
``statement``, ``who``, ``published``, ``ours``, ``seeds_held`` and the ``tests`` and ``premises`` rows of the
rule (``judged_test``, ``premise_row``: name, value, ci, sense, margin or threshold, percent, outcome).

Each of the six outcomes has its own colour and its own symbol, and the word is always written: the table reads
the same in grey print and to a screen reader. The HTML is built with markupsafe: every value we did not write is
escaped exactly once, and the result is ``Markup`` so a page that embeds it does not escape it again.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

from markupsafe import Markup

from .values import Outcome

# outcome -> (symbol, text colour, background): a shape each, so colour is never the only cue
STYLE = {
    Outcome.HOLDS: ("\u2714", "#116329", "#dafbe1"),  # heavy check mark
    Outcome.FAILS: ("\u2718", "#a40e26", "#ffebe9"),  # heavy ballot x
    Outcome.INCONCLUSIVE: ("\u25d0", "#7d4e00", "#fff8c5"),  # circle, left half black: the interval straddles
    Outcome.NOT_TESTABLE: ("\u2298", "#424a53", "#eaeef2"),  # circled slash: a premise not met
    Outcome.ERROR: ("\u26a0", "#6639ba", "#fbefff"),  # warning sign
    Outcome.NOT_RUN: ("\u25cb", "#57606a", "#ffffff"),  # white circle: nothing measured
}


def outcome(word) -> Outcome:
    """The Outcome of a verdict word or Outcome (ValueError for anything else)."""
    return word if isinstance(word, Outcome) else Outcome(str(word))


def number(value, percent: bool = False) -> str:
    """A statistic as the table shows it: 3 significant digits, or % for proportions; '–' when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):.3g} %" if percent else f"{float(value):.3g}"


def bound_text(row: Mapping) -> str:
    """One test or premise row: 'name value [lo, hi] (sense margin): outcome'."""
    percent = bool(row.get("percent", False))
    ci = row.get("ci")
    interval = f" [{number(ci[0], percent)}, {number(ci[1], percent)}]" if ci else ""
    margin = row.get("margin", row.get("threshold"))
    limit = f" ({row.get('sense', '')} {number(margin, percent)})" if margin is not None else ""
    word = f": {outcome(row['outcome']).value}" if row.get("outcome") is not None else ""
    need = f" (about {row['seeds_to_decide']} seeds would decide it)" if row.get("seeds_to_decide") else ""
    return f"{row.get('name', '')} {number(row.get('value'), percent)}{interval}{limit}{word}{need}"


def verdict_text(row: Mapping) -> str:
    word = outcome(row["verdict"])
    held = f" ({row['seeds_held']})" if row.get("seeds_held") else ""
    return f"{STYLE[word][0]} {word.value}{held}"


def claim_table_text(rows: Iterable[Mapping]) -> str:
    """The judged claims as plain text: a line per claim (symbol, verdict word, id, ours), then its tests and
    premises indented."""
    lines = []
    for row in rows:
        ours = f"  ours: {row['ours']}" if row.get("ours") not in (None, "", "–") else ""
        lines.append(f"{verdict_text(row):<32} {row['id']}{ours}")
        lines += [f"    test: {bound_text(t)}" for t in row.get("tests") or []]
        lines += [f"    premise: {bound_text(p)}" for p in row.get("premises") or []]
    return "\n".join(lines)


def verdict_cell(word) -> Markup:
    """The verdict as an HTML badge: symbol, word, colour (the symbol is aria-hidden; the word is read)."""
    word = outcome(word)
    symbol, colour, background = STYLE[word]
    css = f"v-{word.name.lower().replace('_', '-')}"
    return Markup('<span class="verdict {}" style="color:{};background:{};border:1px solid {};padding:1px 6px;'
                  'border-radius:3px;white-space:nowrap;font-weight:bold"><span aria-hidden="true">{}</span> {}'
                  '</span>').format(css, colour, background, colour, symbol, word.value)


def claim_table_html(rows: Iterable[Mapping]) -> Markup:
    """The judged claims as an HTML table: claim (statement, whose), published, ours, tests and premises,
    verdict. Every value is escaped; the result is Markup."""
    head = Markup("<tr><th>claim</th><th>published</th><th>ours</th><th>tests and premises</th>"
                  "<th>verdict</th></tr>")
    body = []
    for row in rows:
        claim = Markup("<b>{}</b>").format(row["id"])
        if row.get("statement"):
            claim += Markup("<br>{}").format(row["statement"])
        if row.get("who"):
            claim += Markup("<br><small>{}</small>").format(row["who"])
        parts = [Markup("<li>test: {}</li>").format(bound_text(t)) for t in row.get("tests") or []]
        parts += [Markup("<li>premise: {}</li>").format(bound_text(p)) for p in row.get("premises") or []]
        bounds = Markup('<ul style="margin:0;padding-left:1.2em">{}</ul>').format(Markup("").join(parts)) \
            if parts else Markup("")
        held = Markup("<br><small>{}</small>").format(row["seeds_held"]) if row.get("seeds_held") else Markup("")
        body.append(Markup("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>").format(
            claim, row.get("published") or "", row.get("ours") or "", bounds, verdict_cell(row["verdict"]), held))
    return Markup('<table class="claims">{}{}</table>').format(head, Markup("").join(body))


def legend_html() -> Markup:
    """The six verdicts, each as its badge: a key for a report's reader."""
    return Markup(" ").join(verdict_cell(word) for word in Outcome)
