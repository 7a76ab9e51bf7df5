"""NYU's published numbers (Michael et al. 2023) re-computed from their rooms as ``felab.data.nyu`` imports
them, with the lab's own metrics (``felab.metrics``), and judged against the claims ``felab.claims.NYU``.

Which rooms: those NYU marked ``includedInPaper`` (413), by setting (people or GPT-4 as debaters; two debaters
or one consultant). A room's result is its judge's final distribution. Conventions, stated where they differ:
- The paper's counts call a judgment correct when its credence in the correct answer is above 1/2, so the one
  50/50 final judgment (a human consultancy) is wrong there; the lab's accuracy counts a tie 1/2. Both are shown.
- Judge score: NYU's log2 p* - 0.05 per continue (``metrics.judge_score``).
- ECE: the lab's one convention (``metrics``: 10 equal-width bins of the confidence in the chosen answer, a tie
  has confidence 1/2 and correctness 1/2). The paper's Table 1 gives 0.11 / 0.17 / 0.16 / 0.17 without stating
  its binning, and the review re-computed 0.117 / 0.154 / 0.161 / 0.136 with equal-width bins; ECE is therefore
  shown beside the paper's but is not a claim. Brier and log scores, which need no binning, are shown with it.
"""

from __future__ import annotations

from verdicts import Proportion, claim_table_text, decide

from . import claims, metrics
from .data import nyu
from .domain import Game

PAPER_ECE = {"human debate": 0.11, "human consultancy": 0.17, "AI debate": 0.16, "AI consultancy": 0.17}
REVIEW_ECE = {"human debate": 0.117, "human consultancy": 0.154, "AI debate": 0.161, "AI consultancy": 0.136}


def paper_rooms(data: nyu.NyuData) -> dict[str, list[Game]]:
    """The rooms in the paper by setting (finished rooms with a judge's final judgment)."""
    out: dict[str, list[Game]] = {s: [] for s in nyu.SETTINGS}
    for g in data.games:
        if nyu.in_paper(g) and nyu.setting(g) in out and g.outcome is not None:
            out[nyu.setting(g)].append(g)
    return out


def correct(games: list[Game]) -> int:
    """Judgments with credence above 1/2 in the correct answer (the paper's count; a tie is not correct)."""
    return sum(1 for g in games if metrics.score(metrics.p_correct(g)) == 1.0)


def statistics(data: nyu.NyuData) -> dict[str, float]:
    """The claims' statistics, by the names ``felab.claims`` declares: distances from the published numbers."""
    rooms = paper_rooms(data)
    titles = {data.story(g.document_id).document.title for g in data.games}
    stats = {claims.NYU_DATA: abs(len(data.games) - 631) + abs(sum(nyu.in_paper(g) for g in data.games) - 413)
             + abs(len(titles) - 95)}
    for s, (k, n, score) in claims.NYU_SETTINGS.items():
        games = rooms[s]
        stats[claims.nyu_count(s)] = abs(correct(games) - k) + abs(len(games) - n)
        scores = [metrics.judge_score(g) for g in games]
        stats[claims.nyu_score(s)] = abs(sum(scores) / len(scores) - score) if scores else None
    for (who, honest), (k, n) in claims.NYU_HONESTY.items():
        games = [g for g in rooms[f"{who} consultancy"] if nyu.consultant_honest(g) is honest]
        stats[claims.nyu_honesty(who, honest)] = abs(correct(games) - k) + abs(len(games) - n)
    hd, hc = rooms["human debate"], rooms["human consultancy"]
    if hd and hc:
        z, p = metrics.two_proportion_z(correct(hd), len(hd), correct(hc), len(hc))
        stats[claims.NYU_Z], stats[claims.NYU_P] = abs(z - 2.03), abs(p - 0.043)
    return stats


def values(data: nyu.NyuData) -> dict:
    """The re-computed numbers themselves, by setting, for the report (beside the published ones)."""
    rooms = paper_rooms(data)
    out: dict = {"settings": {}}
    for s, games in rooms.items():
        if not games:
            continue
        k, n = correct(games), len(games)
        acc = Proportion(k / n, n)
        lab = metrics.accuracy(games)
        clustered = metrics.clustered_accuracy(games)
        scores = [metrics.judge_score(g) for g in games]
        out["settings"][s] = {
            "rooms": n, "correct": k, "accuracy": float(acc), "wilson": list(acc.ci),
            "accuracy_ties_half": float(lab), "ties": metrics.ties(games), "clustered": list(clustered.ci),
            "published": {"correct": claims.NYU_SETTINGS[s][0], "rooms": claims.NYU_SETTINGS[s][1],
                          "judge_score": claims.NYU_SETTINGS[s][2], "ece": PAPER_ECE[s], "review_ece": REVIEW_ECE[s]},
            "judge_score": sum(scores) / n, "ece": metrics.ece(games), "brier": metrics.brier(games),
            "log_score": metrics.log_score(games)}
    hd, hc = rooms["human debate"], rooms["human consultancy"]
    if hd and hc:
        z, p = metrics.two_proportion_z(correct(hd), len(hd), correct(hc), len(hc))
        out["human_debate_vs_consultancy"] = {"z": z, "p": p}
    out["honesty"] = {f"{w} {'honest' if h else 'dishonest'}": [
        correct(gs := [g for g in rooms[f"{w} consultancy"] if nyu.consultant_honest(g) is h]), len(gs)]
        for w, h in claims.NYU_HONESTY}
    out["rooms"] = len(data.games)
    out["paper_rooms"] = sum(nyu.in_paper(g) for g in data.games)
    out["stories"] = len({data.story(g.document_id).document.title for g in data.games})
    return out


def judge(data: nyu.NyuData) -> list[dict]:
    """The NYU claims judged on ``data``: rows for the claim table."""
    stats = statistics(data)
    rows = []
    for c in claims.NYU:
        word, tests, premises = decide(c, stats)
        rows.append({"id": c.id, "who": c.who, "statement": c.statement, "published": c.published,
                     "verdict": word, "tests": tests, "premises": premises, "data": "NYU's published rooms"})
    return rows


def text(data: nyu.NyuData) -> str:
    """The re-analysis as plain text: the claim table, then the numbers beside the paper's."""
    v = values(data)
    lines = [claim_table_text(judge(data)), "",
             f"{v['rooms']} rooms, {v['paper_rooms']} in the paper, {v['stories']} stories",
             f"{'setting':18s} {'correct':>9s} {'acc':>6s} {'Wilson 95 %':>13s} {'S_j':>6s} {'paper':>6s} "
             f"{'ECE':>6s} {'paper':>6s} {'Brier':>6s} {'log2':>6s}"]
    for s, r in v["settings"].items():
        lines.append(f"{s:18s} {r['correct']:>4d}/{r['rooms']:<4d} {r['accuracy']:6.3f} "
                     f"[{r['wilson'][0]:.3f}, {r['wilson'][1]:.3f}] {r['judge_score']:6.3f} "
                     f"{r['published']['judge_score']:6.2f} {r['ece']:6.3f} {r['published']['ece']:6.2f} "
                     f"{r['brier']:6.3f} {r['log_score']:6.3f}")
    if "human_debate_vs_consultancy" in v:
        t = v["human_debate_vs_consultancy"]
        lines.append(f"human debate vs consultancy: z = {t['z']:.3f}, p = {t['p']:.4f} (paper: p = 0.04)")
    lines.append("consultancy by honesty: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in v["honesty"].items()))
    lines.append("ECE: 10 equal-width bins of the chosen answer's confidence (ties 1/2); the paper's binning is "
                 "not stated")
    return "\n".join(lines)
