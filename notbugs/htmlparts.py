"""Pieces of HTML for the report's sections: tables, inlined images, percentages.

The report is one self-contained file, so images are inlined as base64 PNG.
Text is escaped unless a caller passes markup on purpose (``escape=False``).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path


def pct(v, ci: list[float] | None = None) -> str:
    """A fraction as a percentage with one decimal, and its interval when given; '–' for a missing number."""
    if v is None:
        return "–"
    return f"{100 * v:.1f}" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")


def pct_of(d: dict, key: str, sub: str | None = None) -> str:
    """``pct`` of ``d[key]`` (or ``d[key][sub]``) with the interval ``stats.with_intervals`` put beside it, if any."""
    value, ci = d.get(key), d.get(key + "_ci")
    if sub is not None:
        value, ci = (value or {}).get(sub), (ci or {}).get(sub)
    return pct(value, ci)


def img(png: bytes | str | Path, alt: str) -> str:
    """An inlined PNG (bytes, or the path of a PNG file; a missing file gives a note instead)."""
    if not isinstance(png, bytes):
        path = Path(png)
        if not path.is_file():
            return f"<p><i>{html.escape(alt)}: image not found ({html.escape(str(path))})</i></p>"
        png = path.read_bytes()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def table(header: list[str], rows: list[list], *, escape: bool = True) -> str:
    def cell(v) -> str:
        return html.escape(str(v)) if escape else str(v)

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def grids(items: list[tuple[str, str | Path]]) -> str:
    """Sample-image grids side by side, each with its caption."""
    return '<div class="grid">' + "".join(
        f"<figure>{img(path, title)}<figcaption>{html.escape(title)}</figcaption></figure>"
        for title, path in items if Path(path).is_file()) + "</div>"


def verdict_span(word: str) -> str:
    cls = {"holds": "holds", "does not hold": "fails", "error": "fails"}.get(word, "notrun")
    return f'<span class="{cls}">{html.escape(word)}</span>'


def claims_table(claims: list[dict]) -> str:
    rows = [[html.escape(c["statement"]), verdict_span(c["verdict"]), html.escape(c["evidence"])] for c in claims]
    return table(["claim", "verdict", "evidence"], rows, escape=False)


def sanity_table(models: dict) -> str:
    """Each model's attack checks per eps: which passed, which flag the number as suspect."""
    rows = []
    for name, res in models.items():
        for eps, rep in res.get("sanity", {}).items():
            checks = " ".join(
                f'<span class="{"holds" if c["passed"] else "fails"}" title="{html.escape(c["detail"])}">'
                f'{c["check"]}</span>' for c in rep["checks"])
            verdict = "all pass" if not rep["flags"] else "suspect: " + ", ".join(rep["flags"])
            rows.append([name, eps, rep["n"], checks, verdict])
    if not rows:
        return "<p>No sanity checks in these results.</p>"
    return ("<p>Each robust-accuracy number is checked for a weak attack or gradient masking: FGSM, more PGD steps, "
            "random restarts, an unbounded eps (must reach ~0), zero/NaN input gradients, and a transfer attack from "
            "the standard model (random noise for the standard model itself). Hover a check for its numbers.</p>"
            + table(["model", "eps", "images", "checks", "verdict"], rows, escape=False))
