"""Pieces of HTML for the report's sections: tables, inlined images, percentages.

Everything a section shows comes from a results dict, which may come from
anywhere (a colleague's run, a hand-edited file), so every value is escaped
unless it is ``Markup`` built from escaped parts. ``Markup`` is markupsafe's
(the one Jinja2 uses): ``Markup + str`` and ``Markup("<p>{}</p>").format(x)``
escape the text and stay Markup, so composed markup is never escaped a second
time (a home-made ``str`` subclass lost its type on ``+``, and reports showed
their own tags as text). Images are inlined as base64 PNG so the page is one
self-contained file; a picture is read only from the run folder it belongs to
(``pictures_from``), never from a path a results file names elsewhere.
"""

from __future__ import annotations

import base64
import contextvars
from contextlib import contextmanager
from pathlib import Path

from markupsafe import Markup

from verdicts import Proportion
from verdicts.table import verdict_cell

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_ROOT: contextvars.ContextVar[Path | None] = contextvars.ContextVar("pictures_root", default=None)


def join(parts) -> Markup:
    """Parts one after another, each escaped unless it is Markup."""
    return Markup("").join(parts)


@contextmanager
def pictures_from(folder: Path | None):
    """Pictures named in results resolve inside ``folder`` (the run folder) while rendering."""
    token = _ROOT.set(Path(folder).resolve() if folder is not None else None)
    try:
        yield
    finally:
        _ROOT.reset(token)


def picture_bytes(ref) -> bytes | None:
    """A picture reference's PNG, if it names a PNG file inside the run folder; None otherwise."""
    root = _ROOT.get()
    if not isinstance(ref, str) or root is None or not ref or "\x00" in ref:
        return None
    path = (root / ref).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    data = path.read_bytes()
    return data if data.startswith(PNG_MAGIC) else None


def pct(v, interval: bool = True) -> str:
    """A fraction as a percentage with one decimal, with its 95 % interval when it is a Proportion that has one;
    '–' for a missing number."""
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return "–" if v is None else str(v)
    text = f"{100 * v:.1f}"
    ci = v.ci if interval and isinstance(v, Proportion) else None
    return text + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")


def num(v, spec: str = ".3f") -> str:
    """A number formatted by ``spec``; 'undefined' where results hold none (a NaN is written as null)."""
    return "undefined" if v is None else format(v, spec)


def img(png, alt: str) -> Markup:
    """An inlined PNG: bytes drawn now, or a picture reference of the results (a missing one gives a note)."""
    data = png if isinstance(png, bytes) else picture_bytes(png)
    if data is None:
        return Markup("<p><i>{}: picture not found in this run folder ({})</i></p>").format(alt, png)
    return Markup('<img alt="{}" src="data:image/png;base64,{}">').format(alt, base64.b64encode(data).decode())


def table(header: list, rows: list[list], cls: str | None = None) -> Markup:
    head = join(Markup("<th>{}</th>").format(h) for h in header)
    body = join(Markup("<tr>{}</tr>").format(join(Markup("<td>{}</td>").format(v) for v in row)) for row in rows)
    attr = Markup(' class="{}"').format(cls) if cls else ""
    return Markup("<table{}><tr>{}</tr>{}</table>").format(attr, head, body)


def grids(items: list[tuple[str, object]]) -> Markup:
    """Sample-image grids side by side, each with its caption (those not in the run folder are left out)."""
    figures = join(Markup("<figure>{}<figcaption>{}</figcaption></figure>").format(img(ref, title), title)
                   for title, ref in items if isinstance(ref, bytes) or picture_bytes(ref) is not None)
    return Markup('<div class="grid">{}</div>').format(figures)


def span(cls: str, text, title: str | None = None) -> Markup:
    attr = Markup(' title="{}"').format(title) if title is not None else ""
    return Markup('<span class="{}"{}>{}</span>').format(cls, attr, text)


def verdict_span(word) -> Markup:
    """A verdict as the kernel draws it in every package (its own colour and symbol, the word written); a word
    that is no verdict (results from elsewhere) as escaped text."""
    try:
        return verdict_cell(word)
    except ValueError:
        return span("notrun", word)


def claims_table(claims: list[dict]) -> Markup:
    rows = [[c.get("statement", ""), verdict_span(c.get("verdict", "")), c.get("evidence", "")] for c in claims]
    return table(["claim", "verdict", "evidence"], rows)


def sanity_table(models: dict) -> Markup:
    """Each model's attack checks per eps: which passed, which flag the number as suspect."""
    rows = []
    for name, res in models.items():
        for eps, rep in (res.get("sanity") or {}).items():
            checks = join(span("holds" if c["passed"] else "fails", c["check"], c["detail"]) + " "
                          for c in rep["checks"])
            verdict = "all pass" if not rep["flags"] else "suspect: " + ", ".join(map(str, rep["flags"]))
            rows.append([name, f"{eps:g}" if isinstance(eps, float) else eps, rep["n"], checks, verdict])
    if not rows:
        return Markup("<p>No sanity checks in these results.</p>")
    return Markup("<p>Each robust-accuracy number is checked for a weak attack or gradient masking: FGSM, more PGD "
                  "steps, random restarts, an unbounded eps (must reach ~0), zero/NaN input gradients, and a transfer "
                  "attack from the standard model (random noise for the standard model itself). Hover a check for "
                  "its numbers.</p>") + table(["model", "eps", "images", "checks", "verdict"], rows)


def para(*parts) -> Markup:
    """A paragraph of text and markup (text parts escaped)."""
    return Markup("<p>{}</p>").format(join(parts))


def h3(text) -> Markup:
    return Markup("<h3>{}</h3>").format(text)
