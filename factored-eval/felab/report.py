"""One self-contained HTML page from a run's results: the claims table, accuracy by protocol with intervals, the
calibration of each condition (inline SVG), factored evaluation's own numbers, persuasiveness, and a transcript
viewer with verified quotes highlighted and unverified ones marked.

No script, no external file: styles and figures are inline. Everything not written here (texts, quotes, agent
names, protocol names) goes through markupsafe's escaping exactly once.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from verdicts import claim_table_html

from .domain import Game

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:68em;color:#1f2328;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d0d7de}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f6f8fa}
.sim{background:#fff8c5;border:1px solid #d4a72c;padding:.6em 1em;border-radius:6px}
.num{text-align:right;font-variant-numeric:tabular-nums}
mark.v{background:#dafbe1;border-bottom:2px solid #1a7f37;padding:0 .1em}
span.u{background:#ffebe9;text-decoration:line-through wavy #cf222e;padding:0 .1em}
span.u::after{content:" [unverified]";font-size:.8em;color:#cf222e;text-decoration:none}
.turn{margin:.3em 0 .3em 1em}.role{font-weight:600}.grid{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0}figcaption{font-size:.85em;text-align:center}details{margin:.4em 0}
.muted{color:#57606a;font-size:.9em}
"""


def _pct(x) -> str:
    return "–" if x is None else f"{100 * float(x):.1f} %"


def _num(x, digits: int = 3) -> str:
    return "–" if x is None else f"{float(x):.{digits}g}"


def _ci(ci) -> str:
    return "" if not ci else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def accuracy_svg(rows: list[tuple[str, float | None, list | None]]) -> Markup:
    """Horizontal bars of accuracy with their interval as whiskers; the dashed line is chance."""
    h, left, width = 22 * len(rows) + 30, 210, 360
    parts = [Markup('<svg width="{}" height="{}" role="img" '
                    'aria-label="accuracy by condition">').format(left + width + 60, h)]
    for i, (name, acc, ci) in enumerate(rows):
        y = 10 + 22 * i
        parts.append(Markup('<text x="{}" y="{}" font-size="12" text-anchor="end">{}</text>').format(
            left - 6, y + 12, name))
        if acc is None:
            continue
        parts.append(Markup('<rect x="{}" y="{}" width="{:.1f}" height="14" fill="#54aeff"/>').format(
            left, y + 2, width * acc))
        if ci:
            parts.append(Markup('<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" stroke="#0a3069" stroke-width="2"/>'
                                ).format(left + width * ci[0], left + width * ci[1], y + 9, y + 9))
        parts.append(Markup('<text x="{:.1f}" y="{}" font-size="11">{:.0f} %</text>').format(
            left + width * acc + 4 if not ci else left + width * ci[1] + 4, y + 12, 100 * acc))
    parts.append(Markup('<line x1="{0}" x2="{0}" y1="5" y2="{1}" stroke="#57606a" stroke-dasharray="4 3"/>'
                        '<text x="{0}" y="{2}" font-size="11" text-anchor="middle">50 %</text>').format(
        left + width / 2, h - 18, h - 4))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def reliability_svg(name: str, rows: list[dict]) -> Markup:
    """A reliability diagram: one dot per confidence bin (area by count), accuracy against mean confidence."""
    size, pad = 170, 24
    total = sum(r["n"] for r in rows) or 1

    def xy(conf, acc):
        return pad + (size - 2 * pad) * conf, size - pad - (size - 2 * pad) * acc

    x1, y1 = xy(1, 1)
    parts = [Markup('<figure><svg width="{0}" height="{0}" role="img" '
                    'aria-label="calibration of {1}">').format(size, name),
             Markup('<rect x="{0}" y="{0}" width="{1}" height="{1}" fill="none" stroke="#d0d7de"/>').format(
                 pad, size - 2 * pad),
             Markup('<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#57606a" '
                    'stroke-dasharray="3 3"/>').format(*xy(0, 0), x1, y1),
             Markup('<text x="{}" y="{}" font-size="9" text-anchor="middle">confidence in the chosen answer</text>'
                    ).format(size / 2, size - 6),
             Markup('<text x="9" y="{}" font-size="9" transform="rotate(-90 9 {})" text-anchor="middle">'
                    'accuracy</text>').format(size / 2, size / 2)]
    for r in rows:
        if r["n"]:
            x, y = xy(r["conf"], r["acc"])
            parts.append(Markup('<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="#0969da" fill-opacity=".7">'
                                '<title>{} games, confidence {:.2f}, accuracy {:.2f}</title></circle>').format(
                x, y, 2 + 8 * (r["n"] / total) ** 0.5, r["n"], r["conf"], r["acc"]))
    parts.append(Markup("</svg><figcaption>{}</figcaption></figure>").format(name))
    return Markup("").join(parts)


def segments_html(segments) -> Markup:
    """A speech: plain text escaped, verified quotes highlighted, unverified quotes marked and struck."""
    out = []
    for s in segments:
        if s.quote and s.verified:
            out.append(Markup('<mark class="v" title="verified quote, characters {}–{}">{}</mark>').format(
                s.span[0], s.span[1], s.text))
        elif s.quote:
            out.append(Markup('<span class="u" title="unverified quote">{}</span>').format(s.text))
        else:
            out.append(escape(s.text))
    return Markup("").join(out)


def transcript_html(g: Game) -> Markup:
    """A game as the researcher sees it: seats with their honesty, turns, judgments and sub-games."""
    q = g.question
    opts = Markup(" / ").join(
        Markup("<b>{}</b>{}").format(o, " (correct)" if i == q.correct_index else "") for i, o in enumerate(q.options))
    seats = Markup(", ").join(Markup("{}: {}{}").format(s.role, s.agent, "" if s.honest is None else
                                                        (" (honest)" if s.honest else " (dishonest)"))
                              for s in g.seats)
    verdict = ("correct" if g.correct else "wrong" if g.correct is False else "undecided")
    lines = [Markup('<p>{} <span class="muted">options {}; shown order {}; {}</span></p>').format(
        q.text, opts, "/".join(str(i) for i in g.order), seats)]
    for t in g.turns:
        if t.kind == "judgment":
            body = Markup("credence {} / {}{}{}").format(
                f"{t.judgment.probs[0]:.2f}", f"{t.judgment.probs[1]:.2f}", " (ends)" if t.judgment.end else "",
                Markup(" — {}").format(t.judgment.explanation) if t.judgment.explanation else "")
            if t.text:
                body = Markup("{}: {}").format(t.text, body)
        elif t.speech is not None:
            body = segments_html(t.speech.segments)
        else:
            body = escape(t.text or t.kind)
        lines.append(Markup('<div class="turn"><span class="role">{} · {}</span> {}</div>').format(
            t.role, t.kind, body))
    for c in g.children:
        lines.append(Markup("<details><summary>sub-game {} (depth {}): {}</summary>{}</details>").format(
            c.id, c.depth, c.question.text, transcript_html(c)))
    return Markup('<div class="game"><p class="muted">game {} · {}</p>{}</div>').format(
        g.id, verdict, Markup("").join(lines))


def _samples(games: list[Game], k: int = 2) -> list[Game]:
    """A correctly and a wrongly judged game where there are both (the first of each), else the first ones."""
    right = [g for g in games if g.correct]
    wrong = [g for g in games if g.correct is False]
    picked = right[:1] + wrong[:1]
    return picked or games[:k]


def render(results: dict, games: dict[str, list[Game]] | None = None, reanalysis: list[dict] | None = None) -> str:
    """The report page for a run's ``results`` (as written to results.json), for transcripts its games, and the
    claim rows of a re-analysis of published data (NYU's), which are shown apart from the simulated ones."""
    games = games or {}
    conds = results.get("conditions", {})
    simulated = results.get("simulated", False)
    head = Markup("<!doctype html><html lang=en><head><meta charset=utf-8><title>felab report</title>"
                  "<style>{}</style></head><body>").format(Markup(CSS))
    body = [Markup("<h1>felab report{}</h1>").format(" — simulated" if simulated else "")]
    if simulated:
        body.append(Markup('<p class="sim"><b>Simulated.</b> Every number on this page comes from scripted agents '
                           'on synthetic fictional worlds ({}). It tests whether a protocol <i>can</i> make '
                           'untrusted experts useful to a judge who weighs verified quotes; it says nothing about '
                           'people or language models.</p>').format(
            ", ".join(f"{k}: {v}" for k, v in results.get("agents", {}).items())))
    preset = results.get("preset")
    if preset:
        body.append(Markup('<p class="muted">preset {} · {} questions per seed · seeds {} · {:.0f} s</p>').format(
            preset.get("name"), preset.get("questions"), ", ".join(str(s) for s in preset.get("seeds", [])),
            results.get("seconds", 0)))
    if results.get("claims"):
        body.append(Markup("<h2>Claims{}</h2>").format(" (simulated)" if simulated else ""))
        body.append(claim_table_html(results["claims"]))
    if reanalysis:
        body.append(Markup("<h2>Claims on published data</h2><p class=muted>Re-analysis of the published human and "
                           "GPT-4 debates (not simulated).</p>"))
        body.append(claim_table_html(reanalysis))
    body.append(Markup("<h2>Accuracy by condition</h2><p class=muted>Correct: the final credence in the correct "
                       "option is above 1/2 (a tie counts 1/2). Intervals: Wilson 95 %; clustered: a bootstrap "
                       "resampling documents. ECE: 10 equal-width bins of the confidence in the chosen answer. "
                       "Judge score: log2 p(correct) − 0.05 per extra turn (NYU).</p>"))
    body.append(accuracy_svg([(k, v.get("accuracy"), v.get("accuracy_ci")) for k, v in conds.items()]))
    head_row = ("condition", "protocol", "judge", "experts", "n", "accuracy", "Wilson 95 %", "clustered 95 %",
                "ties", "ECE", "Brier", "log2 score", "judge score", "rounds", "revealed", "acc. correct shown first",
                "acc. correct shown second")
    rows = [Markup("<tr>{}</tr>").format(Markup("").join(Markup("<th>{}</th>").format(h) for h in head_row))]
    for k, v in conds.items():
        pos = v.get("by_position") or {}
        cells = [k, v.get("protocol"), v.get("judge"), ", ".join(v.get("experts") or []) or "–", v.get("n"),
                 _pct(v.get("accuracy")), _ci(v.get("accuracy_ci")), _ci(v.get("clustered_ci")), v.get("ties"),
                 _num(v.get("ece")), _num(v.get("brier")), _num(v.get("log_score")), _num(v.get("judge_score")),
                 _num(v.get("rounds")), _pct(v.get("revealed")),
                 _pct(pos["first"][0]) if pos.get("first") else "–", _pct(pos["second"][0]) if pos.get("second")
                 else "–"]
        rows.append(Markup("<tr>{}</tr>").format(Markup("").join(Markup("<td>{}</td>").format(c) for c in cells)))
    body.append(Markup('<div style="overflow-x:auto"><table>{}</table></div>').format(Markup("").join(rows)))
    body.append(Markup("<h2>Calibration</h2><div class=grid>{}</div>").format(Markup("").join(
        reliability_svg(k, v["reliability"]) for k, v in conds.items() if v.get("reliability"))))
    fe = {k: v for k, v in conds.items() if v.get("per_depth") is not None}
    if fe:
        body.append(Markup("<h2>Factored evaluation</h2><table><tr><th>condition</th><th>accuracy by depth "
                           "(n)</th><th>challenge rate</th><th>nodes won by the honest expert</th></tr>{}</table>"
                           ).format(Markup("").join(Markup("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>")
                                                    .format(k, "; ".join(f"depth {d}: {_pct(a[0])} ({a[1]})"
                                                                         for d, a in v["per_depth"].items() if a),
                                                            _pct(v.get("challenge_rate")),
                                                            _pct(v.get("honest_node_wins"))) for k, v in fe.items())))
    if results.get("ratings"):
        body.append(Markup("<h2>Persuasiveness</h2><p class=muted>Bradley–Terry strengths by maximum likelihood "
                           "from every two-expert game (the expert whose option the judge accepted wins), as Elo = "
                           "1200 + 400·s/ln 10, with 95 % bootstrap intervals.</p><table><tr><th>expert (side)</th>"
                           "<th>Elo</th><th>95 %</th></tr>{}</table>").format(Markup("").join(
            Markup("<tr><td>{}</td><td class=num>{:.0f}</td><td>[{:.0f}, {:.0f}]</td></tr>").format(
                k, v[0], v[1][0], v[1][1]) for k, v in sorted(results["ratings"].items(), key=lambda kv: -kv[1][0]))))
    if games:
        body.append(Markup("<h2>Transcripts</h2><p class=muted>Verified quotes are <mark class=v>highlighted</mark>;"
                           " unverified quotes are <span class=u>struck through</span>. The judge saw the options in "
                           "the shown order, never the seats' honesty.</p>"))
        for k, gs in games.items():
            body.append(Markup("<details><summary>{} ({} games)</summary>{}</details>").format(
                k, len(gs), Markup("").join(transcript_html(g) for g in _samples(gs))))
    return str(head + Markup("").join(body) + Markup("</body></html>"))
