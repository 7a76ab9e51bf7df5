"""Statistics of played games, each with its interval and its convention stated.

Conventions (the same in every report):
- A game is *correct* when the judge's final credence in the correct option is above 1/2; a tie (exactly 1/2)
  counts 1/2 and is counted separately (``ties``). A factored-evaluation node the malicious expert declined has
  no judgment: the honest answer stands with credence 1. Games without gold are left out.
- Accuracy: Wilson 95 % interval (``verdicts.Proportion``) and a percentile bootstrap clustered by document
  (2,000 resamples of whole documents: questions about one story are not independent, NYU footnote 7).
- Calibration: ECE over **10 equal-width bins of the confidence in the chosen answer** (the larger final
  credence; a tie has confidence 1/2 and correctness 1/2), weighted by bin size; Brier score of the correct
  option's credence, mean (1 - p*)^2; log score, mean log2 p* with p* floored at 2^-20 so one certain mistake
  does not make it -inf. NYU's reported ECE used other binning (the review re-computed 0.117 vs their 0.11).
- Judge's score (NYU): log2 p*_final - penalty x (number of judgments that continued the game).
- Persuasiveness: Bradley-Terry strengths s by maximum likelihood, P(i beats j) = 1/(1 + exp(s_j - s_i)), mean
  strength 0; Elo = 1200 + 400 s / ln 10, so 400 Elo points are odds of 10:1 (NYU's ``mkElo`` is 1200 + 400 x on
  its own scale); 95 % intervals by bootstrapping matches.
- Incentive gap: accuracy with a trusted expert minus accuracy under the protocol with untrusted experts, on the
  same questions; interval by the document-clustered bootstrap of the difference.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import optimize, stats

from verdicts import Estimate, Proportion

from .domain import Game

BINS = 10
LOG_FLOOR = 2.0 ** -20
REPS = 2000


def p_correct(game: Game) -> float | None:
    """The judge's final credence in the correct option (1 or 0 for a declined node); None without gold or end."""
    c = game.question.correct_index
    if c is None:
        return None
    if game.outcome is not None:
        return float(game.outcome.probs[c])
    if game.accepted is not None:
        return 1.0 if game.accepted == c else 0.0
    return None


def score(p: float) -> float:
    """1 above 1/2, 1/2 at 1/2, 0 below: one game's contribution to accuracy."""
    return 1.0 if p > 0.5 else 0.5 if p == 0.5 else 0.0


def _graded(games: Iterable[Game]) -> list[tuple[Game, float]]:
    return [(g, p) for g in games if (p := p_correct(g)) is not None]


def accuracy(games: Iterable[Game]) -> Proportion | None:
    """Share of games judged correctly (ties 1/2) with its Wilson interval; None when no game has gold."""
    graded = _graded(games)
    if not graded:
        return None
    return Proportion(sum(score(p) for _, p in graded) / len(graded), len(graded))


def ties(games: Iterable[Game]) -> int:
    return sum(1 for _, p in _graded(games) if p == 0.5)


def cluster_bootstrap(values: Sequence[float], clusters: Sequence[str], reps: int = REPS, seed: int = 0,
                      confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean over resamples of whole clusters (with replacement)."""
    if not len(values):
        raise ValueError("no values to bootstrap")
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for v, c in zip(values, clusters):
        sums[c] += float(v)
        counts[c] += 1
    keys = list(sums)
    s, n = np.array([sums[k] for k in keys]), np.array([counts[k] for k in keys], float)
    picks = np.random.default_rng(seed).integers(0, len(keys), size=(reps, len(keys)))
    out = s[picks].sum(axis=1) / n[picks].sum(axis=1)
    a = (1 - confidence) / 2
    return float(np.quantile(out, a)), float(np.quantile(out, 1 - a))


def clustered_accuracy(games: Iterable[Game], reps: int = REPS, seed: int = 0) -> Estimate | None:
    """Accuracy with a percentile bootstrap interval clustered by document."""
    graded = _graded(games)
    if not graded:
        return None
    vals = [score(p) for _, p in graded]
    return Estimate(float(np.mean(vals)), cluster_bootstrap(vals, [g.document_id for g, _ in graded], reps=reps,
                                                            seed=seed))


def difference(a: Iterable[Game], b: Iterable[Game], reps: int = REPS, seed: int = 0) -> Estimate | None:
    """Accuracy of ``a`` minus accuracy of ``b`` with a bootstrap interval that resamples documents (the same
    documents for both sides)."""
    ga, gb = _graded(a), _graded(b)
    if not ga or not gb:
        return None
    docs = sorted({g.document_id for g, _ in ga} | {g.document_id for g, _ in gb})
    va: dict[str, list[float]] = defaultdict(list)
    vb: dict[str, list[float]] = defaultdict(list)
    for g, p in ga:
        va[g.document_id].append(score(p))
    for g, p in gb:
        vb[g.document_id].append(score(p))
    value = float(np.mean([x for v in va.values() for x in v]) - np.mean([x for v in vb.values() for x in v]))
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(reps):
        pick = [docs[i] for i in rng.integers(0, len(docs), len(docs))]
        xa = [x for d in pick for x in va.get(d, ())]
        xb = [x for d in pick for x in vb.get(d, ())]
        if xa and xb:
            diffs.append(np.mean(xa) - np.mean(xb))
    return Estimate(value, (float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))))


def reliability(games: Iterable[Game], bins: int = BINS) -> list[dict]:
    """Per equal-width bin of the confidence in the chosen answer: count, mean confidence, accuracy."""
    rows = [{"lo": k / bins, "hi": (k + 1) / bins, "n": 0, "conf": 0.0, "acc": 0.0} for k in range(bins)]
    for _, p in _graded(games):
        conf = max(p, 1 - p)
        k = min(int(conf * bins), bins - 1)
        rows[k]["n"] += 1
        rows[k]["conf"] += conf
        rows[k]["acc"] += score(p)
    for r in rows:
        if r["n"]:
            r["conf"] /= r["n"]
            r["acc"] /= r["n"]
    return rows


def ece(games: Iterable[Game], bins: int = BINS) -> float | None:
    """Expected calibration error, 10 equal-width bins of the confidence in the chosen answer."""
    rows = reliability(games, bins)
    n = sum(r["n"] for r in rows)
    if not n:
        return None
    return sum(r["n"] / n * abs(r["acc"] - r["conf"]) for r in rows)


def brier(games: Iterable[Game]) -> float | None:
    ps = [p for _, p in _graded(games)]
    return float(np.mean([(1 - p) ** 2 for p in ps])) if ps else None


def log_score(games: Iterable[Game]) -> float | None:
    ps = [p for _, p in _graded(games)]
    return float(np.mean([math.log2(max(p, LOG_FLOOR)) for p in ps])) if ps else None


def judge_score(game: Game, penalty: float = 0.05) -> float | None:
    """NYU's judge reward: log2 p*_final - penalty x continues (judgments that did not end the game)."""
    p = p_correct(game)
    if p is None or game.outcome is None:
        return None
    continues = sum(1 for t in game.turns if t.kind == "judgment" and t.judgment and not t.judgment.end
                    and not t.text.startswith("step "))
    return math.log2(max(p, LOG_FLOOR)) - penalty * continues


def rounds(game: Game) -> int:
    """Speaking rounds the judge heard before deciding."""
    return len({t.round for t in game.turns if t.kind in ("speech", "decline", "claim", "rebuttal")})


def revealed(game: Game, document_length: int) -> tuple[int, float]:
    """Characters of the document shown as verified quotes in the game and its sub-games (their union), and
    that as a share of the document."""
    spans = sorted(s.span for g in game.walk() for t in g.turns if t.speech for s in t.speech.segments
                   if s.quote and s.verified and s.span)
    total, end = 0, -1
    for a, b in spans:
        if b > end:
            total += b - max(a, end)
            end = b
    return total, total / document_length if document_length else 0.0


def by_position(games: Iterable[Game]) -> dict[str, Proportion | None]:
    """Accuracy by where the correct option was shown (first or second)."""
    groups: dict[str, list[Game]] = {"first": [], "second": []}
    for g, _ in _graded(games):
        groups["first" if g.order[0] == g.question.correct_index else "second"].append(g)
    return {k: accuracy(v) for k, v in groups.items()}


def two_proportion_z(k1: float, n1: int, k2: float, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test, two-sided: (z, p)."""
    p1, p2, pooled = k1 / n1, k2 / n2, (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (p1 - p2) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def bradley_terry(matches: Sequence[tuple[str, str]], prior: float = 1e-6) -> dict[str, float]:
    """Maximum-likelihood Bradley-Terry strengths (natural-log odds scale, mean 0) from (winner, loser) pairs.
    ``prior`` is a tiny ridge that keeps strengths finite when a player never loses."""
    players = sorted({p for m in matches for p in m})
    if len(players) < 2:
        return {p: 0.0 for p in players}
    idx = {p: i for i, p in enumerate(players)}
    w = np.array([idx[a] for a, _ in matches])
    lo = np.array([idx[b] for _, b in matches])

    def nll(s):
        d = s[w] - s[lo]
        return float(np.sum(np.logaddexp(0, -d)) + prior * np.sum(s ** 2))

    def grad(s):
        d = s[w] - s[lo]
        g = -1 / (1 + np.exp(d))
        out = np.zeros_like(s)
        np.add.at(out, w, g)
        np.add.at(out, lo, -g)
        return out + 2 * prior * s

    res = optimize.minimize(nll, np.zeros(len(players)), jac=grad, method="L-BFGS-B")
    s = res.x - res.x.mean()
    return {p: float(s[idx[p]]) for p in players}


def elo(strength: float) -> float:
    return 1200 + 400 * strength / math.log(10)


def ratings(matches: Sequence[tuple[str, str]], reps: int = 500, seed: int = 0) -> dict[str, Estimate]:
    """Elo ratings with 95 % percentile intervals from resampled matches."""
    if not matches:
        return {}
    base = bradley_terry(matches, prior=1e-3)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(reps):
        pick = [matches[i] for i in rng.integers(0, len(matches), len(matches))]
        for p, s in bradley_terry(pick, prior=1e-3).items():
            draws[p].append(elo(s))
    return {p: Estimate(elo(s), (float(np.quantile(draws[p], 0.025)), float(np.quantile(draws[p], 0.975))))
            for p, s in base.items()}


def seat_label(game: Game, role: str) -> str:
    s = game.seat(role)
    side = "correct" if s.honest else "incorrect" if s.honest is False else "unknown"
    return f"{s.agent.split('|')[0] if s.honest else s.agent.split('|')[-1]} ({side} side)"


def matches(games: Iterable[Game]) -> list[tuple[str, str]]:
    """(winner, loser) for every two-expert game the judge decided: the expert whose option was accepted wins."""
    out = []
    for g in games:
        if g.accepted is None or not (g.seat("expert0") and g.seat("expert1")):
            continue
        win = "expert0" if g.seat("expert0").side == g.accepted else "expert1"
        lose = "expert1" if win == "expert0" else "expert0"
        out.append((seat_label(g, win), seat_label(g, lose)))
    return out


def nodes(games: Iterable[Game]) -> list[Game]:
    """Every game and sub-game."""
    return [n for g in games for n in g.walk()]


def per_depth(games: Iterable[Game]) -> dict[int, Proportion | None]:
    by: dict[int, list[Game]] = defaultdict(list)
    for n in nodes(games):
        by[n.depth].append(n)
    return {d: accuracy(v) for d, v in sorted(by.items())}


def challenge_rate(games: Iterable[Game], depth: int | None = None) -> Proportion | None:
    """Share of factored-evaluation nodes (at ``depth``, or all) where the malicious expert challenged rather
    than declined."""
    ch = dec = 0
    for n in nodes(games):
        if depth is not None and n.depth != depth:
            continue
        kinds = [t.kind for t in n.turns if t.role == "expert1"]
        if "decline" in kinds:
            dec += 1
        elif "speech" in kinds:
            ch += 1
    return Proportion(ch / (ch + dec), ch + dec) if ch + dec else None


def honest_wins(games: Iterable[Game]) -> Proportion | None:
    """Share of decided nodes whose accepted answer is the honest expert's (Mosaic #511)."""
    won = [n.accepted == n.seat("expert0").side for n in nodes(games)
           if n.accepted is not None and n.seat("expert0") and n.seat("expert0").honest is not None]
    return Proportion(sum(won) / len(won), len(won)) if won else None


def malicious_wins(games: Iterable[Game]) -> Proportion | None:
    """Share of two-expert games the expert arguing the incorrect option won (a tie counts 1/2)."""
    vals = [1 - score(p) for g, p in _graded(games) if g.seat("expert1") is not None]
    return Proportion(sum(vals) / len(vals), len(vals)) if vals else None


def summary(games: list[Game], documents: dict[str, int] | None = None, penalty: float = 0.05,
            factored: bool = False) -> dict:
    """The report's numbers for one protocol's games."""
    acc = accuracy(games)
    out = {"n": len(games), "accuracy": acc, "accuracy_ci": acc.ci if acc is not None else None,
           "clustered_ci": None, "ties": ties(games), "ece": ece(games), "brier": brier(games),
           "log_score": log_score(games), "reliability": reliability(games),
           "by_position": {k: (float(v), v.n) if v is not None else None for k, v in by_position(games).items()}}
    c = clustered_accuracy(games)
    out["clustered_ci"] = c.ci if c is not None else None
    js = [s for g in games if (s := judge_score(g, penalty)) is not None]
    out["judge_score"] = float(np.mean(js)) if js else None
    out["rounds"] = float(np.mean([rounds(g) for g in games])) if games else None
    if documents:
        rev = [revealed(g, documents[g.document_id])[1] for g in games if g.document_id in documents]
        out["revealed"] = float(np.mean(rev)) if rev else None
    if factored:
        out["per_depth"] = {d: (float(v), v.n) if v is not None else None for d, v in per_depth(games).items()}
        ch, hw = challenge_rate(games), honest_wins(games)
        out["challenge_rate"] = float(ch) if ch is not None else None
        out["honest_node_wins"] = float(hw) if hw is not None else None
    return out
