"""Each statistic against known values: closed forms, scipy, and data with a known answer."""

import math

import numpy as np
import pytest
from scipy import stats

from felab import metrics as m
from felab.domain import Game, Judgment, Question, Seat, Segment, Speech, Turn


def game(p_first, correct=0, doc="d", order=(0, 1), turns=(), qid=None, seats=None, accepted=None, depth=0,
         children=()):
    q = Question(qid or f"q{id(object())}", doc, "?", ("a", "b"), correct)
    out = Judgment((p_first, 1 - p_first)) if p_first is not None else None
    acc = accepted if accepted is not None else (None if out is None or p_first == 0.5 else int(p_first < 0.5))
    return Game(q.id, "x", q, seats or (Seat("judge", "j"),), order, tuple(turns), tuple(children), depth, out, acc)


def test_accuracy_counts_ties_as_half_and_uses_wilson():
    gs = [game(0.9), game(0.2), game(0.5), game(0.7, correct=1)]
    acc = m.accuracy(gs)
    assert float(acc) == pytest.approx(1.5 / 4) and acc.n == 4 and m.ties(gs) == 1
    p, n, z = 1.5 / 4, 4, stats.norm.ppf(0.975)  # Wilson's closed form
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert acc.ci == pytest.approx((centre - half, centre + half))
    assert m.accuracy([game(0.9, correct=None)]) is None


def test_declined_node_counts_by_its_accepted_answer():
    assert m.p_correct(game(None, accepted=0)) == 1.0 and m.p_correct(game(None, accepted=1)) == 0.0


def test_cluster_bootstrap_matches_normal_theory_for_singletons_and_widens_for_clusters():
    rng = np.random.default_rng(1)
    x = (rng.random(400) < 0.7).astype(float)
    lo, hi = m.cluster_bootstrap(x, [str(i) for i in range(400)], reps=4000)
    se = x.std() / math.sqrt(400)
    assert lo == pytest.approx(x.mean() - 1.96 * se, abs=0.01) and hi == pytest.approx(x.mean() + 1.96 * se, abs=0.01)
    # the same 100 values repeated 4 times within their cluster: clustering must see only 100 independent units
    y = np.repeat(x[:100], 4)
    naive = m.cluster_bootstrap(y, [str(i) for i in range(400)], reps=4000)
    clustered = m.cluster_bootstrap(y, [str(i // 4) for i in range(400)], reps=4000)
    assert (clustered[1] - clustered[0]) / (naive[1] - naive[0]) == pytest.approx(2.0, rel=0.15)


def test_difference_interval_covers_a_known_gap():
    a = [game(0.9, doc=f"d{i % 20}") for i in range(100)]
    b = [game(0.9 if i % 2 else 0.1, doc=f"d{i % 20}") for i in range(100)]
    d = m.difference(a, b, reps=1000)
    assert float(d) == pytest.approx(0.5) and d.ci[0] < 0.5 < d.ci[1]


def test_ece_brier_log_score_by_hand():
    gs = [game(0.9), game(0.9, correct=1), game(0.6), game(0.4, correct=1)]
    # bin [0.9, 1.0): conf 0.9, accuracy 1/2; bin [0.6, 0.7): conf 0.6, accuracy 1 -> ECE = .5*.4 + .5*.4
    assert m.ece(gs) == pytest.approx(0.4)
    ps = [0.9, 0.1, 0.6, 0.6]
    assert m.brier(gs) == pytest.approx(np.mean([(1 - p) ** 2 for p in ps]))
    assert m.log_score(gs) == pytest.approx(np.mean(np.log2(ps)))
    rows = m.reliability(gs)
    assert [r["n"] for r in rows] == [0, 0, 0, 0, 0, 0, 2, 0, 0, 2]
    assert m.log_score([game(0.0)]) == -20.0  # floored, not -inf


def test_judge_score_is_nyus_log_score_with_a_turn_penalty():
    turns = [Turn(0, "judge", "judgment", judgment=Judgment((0.5, 0.5), end=False)),
             Turn(2, "judge", "judgment", judgment=Judgment((0.6, 0.4), end=False)),
             Turn(4, "judge", "judgment", judgment=Judgment((0.5, 0.5), end=True))]
    assert m.judge_score(game(0.5, turns=turns)) == pytest.approx(-1 - 2 * 0.05)


def test_two_proportion_z_reproduces_nyus_test_and_scipys_chi_square():
    z, p = m.two_proportion_z(130, 154, 71, 96)
    assert z == pytest.approx(2.03, abs=0.01) and p == pytest.approx(0.043, abs=0.001)
    chi2, p2, _, _ = stats.chi2_contingency([[130, 24], [71, 25]], correction=False)
    assert z * z == pytest.approx(chi2) and p == pytest.approx(p2)


def test_bradley_terry_two_players_closed_form():
    s = m.bradley_terry([("A", "B")] * 30 + [("B", "A")] * 10)
    assert s["A"] - s["B"] == pytest.approx(math.log(3), abs=1e-3) and s["A"] + s["B"] == pytest.approx(0)
    assert m.elo(s["A"]) - m.elo(s["B"]) == pytest.approx(400 * math.log10(3), abs=0.5)


def test_bradley_terry_recovers_strengths():
    rng = np.random.default_rng(0)
    true = {"a": -1.0, "b": 0.0, "c": 1.0}
    names = list(true)
    out = []
    for _ in range(6000):
        i, j = rng.choice(3, 2, replace=False)
        pi = 1 / (1 + math.exp(true[names[j]] - true[names[i]]))
        out.append((names[i], names[j]) if rng.random() < pi else (names[j], names[i]))
    s = m.bradley_terry(out)
    for k in true:
        assert s[k] == pytest.approx(true[k], abs=0.1)
    # the bootstrap interval's width against the asymptotic standard error from the Fisher information
    info = np.zeros((3, 3))
    for a, b in out:
        i, j = names.index(a), names.index(b)
        p = 1 / (1 + math.exp(s[names[j]] - s[names[i]]))
        e = np.zeros(3)
        e[i], e[j] = 1, -1
        info += p * (1 - p) * np.outer(e, e)
    se = np.sqrt(np.diag(np.linalg.pinv(info, rtol=1e-8))) * 400 / math.log(10)
    r = m.ratings(out, reps=200)
    for k, err in zip(names, se):
        assert (r[k].ci[1] - r[k].ci[0]) / (2 * 1.96 * err) == pytest.approx(1, rel=0.25)
        assert abs(float(r[k]) - m.elo(true[k])) < 3 * err


def test_revealed_is_the_union_of_verified_spans():
    sp = Speech((Segment("x" * 10, True, (0, 10), True), Segment("y" * 10, True, (5, 15), True),
                 Segment("made up", True)))
    g = game(0.9, turns=[Turn(1, "expert0", "speech", speech=sp)])
    assert m.revealed(g, 100) == (15, 0.15)
    assert m.rounds(g) == 1


def test_accuracy_by_position():
    gs = [game(0.9, order=(0, 1)), game(0.9, order=(0, 1)), game(0.9, order=(1, 0)), game(0.1, order=(1, 0))]
    pos = m.by_position(gs)
    assert float(pos["first"]) == 1.0 and float(pos["second"]) == 0.5


def test_factored_evaluation_statistics():
    seats = (Seat("judge", "j"), Seat("expert0", "h", 0, True), Seat("expert1", "m", 1, False))
    declined = game(None, seats=seats, accepted=0, depth=1,
                    turns=[Turn(1, "expert1", "decline")])
    lost = game(0.2, seats=seats, depth=1, turns=[Turn(1, "expert1", "speech", speech=Speech())])
    root = game(0.8, seats=seats, children=(declined, lost),
                turns=[Turn(1, "expert1", "speech", speech=Speech())])
    assert float(m.challenge_rate([root])) == pytest.approx(2 / 3)
    depth = m.per_depth([root])
    assert float(depth[0]) == 1.0 and float(depth[1]) == 0.5 and depth[1].n == 2
    assert float(m.honest_wins([root])) == pytest.approx(2 / 3)
    assert float(m.malicious_wins([root])) == 0.0
    assert m.matches([root]) == [("h (correct side)", "m (incorrect side)")]
