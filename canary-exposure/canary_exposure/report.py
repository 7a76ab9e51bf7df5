"""A self-contained HTML report of a reproduction: the claims with their intervals over seeds and the published
findings beside them, exposure against insertions and against epochs, extraction's queries. Every value that
comes from the results is escaped; figures are inline PNGs."""

from __future__ import annotations

import base64
import io
from html import escape

from verdicts import claim_table_html

from .claims import HIGH_K, NULL


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _figures(res: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for seed, runs in res["runs"].items():
        for name, marker in (("plain", "o"), ("dp", "x")):
            if name not in runs:
                continue
            r = runs[name]
            ks = [r["inserted"][x] for x in r["inserted"]]
            ex = [r["final"][x]["exposure"] for x in r["inserted"]]
            ax.scatter(ks, ex, marker=marker, alpha=0.6, label=f"seed {seed}, {'DP-SGD' if name == 'dp' else 'plain'}")
    ax.axhline(NULL, color="grey", ls="--", lw=1, label="null (1/ln 2)")
    ax.set(xscale="log", xlabel="insertions k", ylabel="exposure (bits)", title="Exposure against insertions")
    ax.legend(fontsize=6)
    first = _png(fig)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    twin = ax.twinx()
    for seed, runs in res["runs"].items():
        r = runs["plain"]
        high = [x for x, k in r["inserted"].items() if k >= HIGH_K]
        epochs = [h["epoch"] for h in r["history"]]
        ax.plot(epochs, [sum(h["exposure"][x] for x in high) / len(high) for h in r["history"]], "-o",
                label=f"seed {seed}: exposure, {HIGH_K}+ canaries")
        twin.plot(epochs, [h["valid_loss"] for h in r["history"]], ":", label=f"seed {seed}: validation loss")
    ax.set(xlabel="epoch", ylabel="exposure (bits)", title="Memorisation against epochs")
    twin.set_ylabel("validation loss (nats/token)")
    ax.legend(fontsize=6, loc="lower right")
    twin.legend(fontsize=6, loc="upper right")
    return first + _png(fig)


def _extraction_rows(res: dict) -> str:
    rows = []
    for seed, runs in res["runs"].items():
        r = runs["plain"]
        for secret, e in r.get("extraction", {}).items():
            kind = f"inserted {r['inserted'][secret]} times" if secret in r["inserted"] else "never inserted"
            rows.append(f"<tr><td>{escape(seed)}</td><td>{escape(kind)}</td>"
                        f"<td>{r['final'][secret]['exposure']:.2f}</td>"
                        f"<td>{'yes' if e['extracted'] else 'no'}</td>"
                        f"<td>{e['queries_to_target'] if e['queries_to_target'] is not None else '–'}</td>"
                        f"<td>{e['queries']} of {e['budget']}</td></tr>")
    return "".join(rows)


def _options(options: dict) -> str:
    """An architecture's options as prose ('embed 16, hidden 32'), not a Python dict."""
    return ", ".join(f"{k} {v}" for k, v in options.items()) or "default sizes"


def _dp_text(res: dict) -> str:
    """Which seeds trained with DP-SGD, and the epsilon that holds per window and for a canary inserted k times."""
    p, train = res["preset"], res["preset"]["train"]
    with_dp = [s for s, runs in res["runs"].items() if "dp" in runs]
    if not with_dp:
        return "No seed trains with DP-SGD in this preset."
    privacy = [res["runs"][s]["dp"]["privacy"] for s in with_dp if "privacy" in res["runs"][s]["dp"]]
    bound = ""
    if privacy:
        eps = [q["epsilon_per_window"] for q in privacy]
        groups = ", ".join(f"{g['epsilon']:.1f} at k = {g['k']}" for g in privacy[0]["per_canary"])
        bound = (f" The accountant's epsilon is {min(eps):.2f}-{max(eps):.2f} per record, a training window, at delta "
                 f"1/windows; a canary inserted k times is k records, so what holds for it is the group bound, k "
                 f"epsilon: {escape(groups)} (seed "
                 f"{escape(with_dp[0])}).")
    return (f"Seeds {escape(', '.join(with_dp))} also train with DP-SGD (Opacus, noise multiplier "
            f"{train['noise_multiplier']:g}, clipping {train['max_grad_norm']:g}, {p['dp_epochs']} epochs).{bound}")


def _audit_text(res: dict) -> str:
    """The audit's lower bound on epsilon for each model that had audit canaries, beside the accountant's."""
    rows = []
    for seed, runs in res["runs"].items():
        for name in ("plain", "dp"):
            a = runs.get(name, {}).get("audit")
            if not a:
                continue
            upper = a.get("accountant_epsilon")
            promised = (f"{upper[0]:.1f} for {a['insertions']} windows, {upper[1]:.1f} for {2 * a['insertions']}"
                        if upper else "none (no DP-SGD)")
            rows.append(f"<tr><td>{escape(seed)}</td><td>{'DP-SGD' if name == 'dp' else 'plain'}</td>"
                        f"<td>{a['included']} of {a['canaries']}</td><td>{a['correct']} of {a['guesses']}</td>"
                        f"<td>{a['epsilon_lower_bound']:.2f}</td><td>{escape(promised)}</td></tr>")
    if not rows:
        return ""
    return ("<h2>Audit: epsilon's empirical lower bound</h2><p>Steinke, Nasr &amp; Jagielski 2023: audit canaries "
            "each inserted on a fair coin; the auditor guesses in for the fifth the model finds most likely and out "
            "for the fifth it finds least likely; the bound holds with 95 % confidence for the group of an audit "
            "canary's insertions (each in one or two training windows), beside the accountant's epsilon for that "
            "group.</p><table><tr><th>seed</th><th>model</th><th>inserted</th><th>right guesses</th>"
            "<th>epsilon at least</th><th>accountant's epsilon (group)</th></tr>" + "".join(rows) + "</table>")


def render(res: dict) -> str:
    p = res["preset"]
    smoke = ("<p class=\"warn\"><b>A smoke test, not evidence:</b> the tiny preset runs the code paths at toy "
             "sizes; its verdicts say nothing about the claims.</p>") if p.get("smoke") else ""
    train = p["train"]
    secrets = f"{p['per_k']} secret" + ("" if p["per_k"] == 1 else "s")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>The Secret Sharer: exposure of canaries</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}td,th{{border:1px solid #ccc;padding:4px;
vertical-align:top}}table{{border-collapse:collapse}}.warn{{background:#fee;padding:6px}}</style>
</head><body><h1>The Secret Sharer: unintended memorisation of canaries</h1>{smoke}
<p>Carlini, Liu, Erlingsson, Kos &amp; Song, USENIX Security 2019 (arXiv 1802.08232). Model: {escape(train['arch'])}
({escape(_options(train['arch_options']))}), trained on {res['documents']} documents of {escape(res['corpus'])} with
canaries "{escape(p['template'])}" ({p['digits']} digits, |R| = 10^{p['digits']}) inserted
{escape(', '.join(map(str, p['insertions'])))} times ({secrets} each) and {p['references']} never inserted;
seeds {escape(', '.join(map(str, res['seeds'])))}, {train['epochs']} epochs. {_dp_text(res)}
{res['seconds']:.0f} s.</p>
<h2>Claims (mean over seeds [95 % Student-t interval])</h2>
{claim_table_html(res['claims'])}
<h2>Figures</h2>{_figures(res)}{_audit_text(res)}
<h2>Extraction</h2><table><tr><th>seed</th><th>canary</th><th>exposure (bits)</th><th>extracted</th>
<th>queries to find it</th><th>queries used</th></tr>{_extraction_rows(res)}</table>
</body></html>"""
