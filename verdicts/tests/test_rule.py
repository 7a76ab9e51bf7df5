"""The verdict rule, case by case: premises first, then the tests, by interval where a value has one."""

import math

import pytest

from verdicts import Bound, Claim, Estimate, Outcome, Proportion, decide

AT_LEAST = Bound("effect", ">=", 0.10)
AT_MOST = Bound("effect", "<=", 0.10)
PREMISE = Bound("contrast", ">=", 0.50)
CLAIM = Claim("c", "someone", "the effect is at least 10 points", "published: 30 points", (AT_LEAST,), (PREMISE,))
MET = Estimate(0.8, (0.7, 0.9))


@pytest.mark.parametrize("values, word", [
    ({"effect": Estimate(0.3, (0.2, 0.4)), "contrast": MET}, Outcome.HOLDS),
    ({"effect": Estimate(0.05, (0.0, 0.08)), "contrast": MET}, Outcome.FAILS),  # wholly on the wrong side
    ({"effect": Estimate(0.12, (0.05, 0.2)), "contrast": MET}, Outcome.INCONCLUSIVE),  # the test straddles
    ({"effect": Estimate(0.3, (0.2, 0.4)), "contrast": Estimate(0.2, (0.1, 0.3))}, Outcome.NOT_TESTABLE),
    ({"effect": Estimate(0.05, (0.0, 0.08)), "contrast": Estimate(0.5, (0.3, 0.7))}, Outcome.INCONCLUSIVE),
    ({"effect": None, "contrast": MET}, Outcome.NOT_TESTABLE),  # an undefined value
    ({"effect": float("nan"), "contrast": MET}, Outcome.NOT_TESTABLE),
    ({"effect": 0.3, "contrast": None}, Outcome.NOT_TESTABLE),  # an undefined premise is not met
    ({"effect": 0.3}, Outcome.NOT_TESTABLE),  # a missing name is undefined
    ({"effect": 0.10, "contrast": 0.5}, Outcome.HOLDS),  # no interval: the value decides; the margin is inclusive
    ({"effect": 0.09, "contrast": 0.5}, Outcome.FAILS),
])
def test_the_rule(values, word):
    assert decide(CLAIM, values)[0] == word


def test_an_upper_bound_is_mirrored():
    claim = Claim("u", "", "", "", (AT_MOST,))
    assert decide(claim, {"effect": Estimate(0.05, (0.0, 0.08))})[0] == Outcome.HOLDS
    assert decide(claim, {"effect": Estimate(0.3, (0.2, 0.4))})[0] == Outcome.FAILS
    assert decide(claim, {"effect": Estimate(0.1, (0.05, 0.2))})[0] == Outcome.INCONCLUSIVE


def test_every_test_must_hold_and_a_failed_one_wins_over_a_straddling_one():
    claim = Claim("two", "", "", "", (AT_LEAST, Bound("other", "<=", 1.0, percent=False)))
    assert decide(claim, {"effect": 0.2, "other": 0.5})[0] == Outcome.HOLDS
    assert decide(claim, {"effect": Estimate(0.2, (0.05, 0.3)), "other": 2.0})[0] == Outcome.FAILS


def test_a_proportion_is_decided_by_its_wilson_interval():
    claim = Claim("p", "", "", "", (Bound("accuracy", ">=", 0.5),))
    assert decide(claim, {"accuracy": Proportion(0.55, 20)})[0] == Outcome.INCONCLUSIVE  # [0.34, 0.74]
    assert decide(claim, {"accuracy": Proportion(0.55, 4000)})[0] == Outcome.HOLDS


def test_rows_carry_what_the_report_shows():
    word, tests, premises = decide(CLAIM, {"effect": Estimate(0.3, (0.2, 0.4)), "contrast": MET})
    assert tests[0]["ci"] == (0.2, 0.4) and math.isclose(tests[0]["distance"], 0.2)
    assert tests[0]["outcome"] == Outcome.HOLDS and premises[0]["threshold"] == 0.5 and premises[0]["passed"]


def test_a_bound_refuses_an_unknown_sense():
    with pytest.raises(ValueError, match="sense"):
        Bound("x", ">", 0.1)


def test_outcomes_are_their_words():
    assert [o.value for o in Outcome] == ["holds", "does not hold", "inconclusive", "not testable", "not run",
                                          "error"]
    assert Outcome("does not hold") is Outcome.FAILS and f"{Outcome.FAILS}" == "does not hold"
    assert {Outcome.HOLDS: 1}["holds"] == 1  # hashes like its text


def test_over_seeds_rows_keep_the_seeds_and_say_how_many_would_decide():
    from verdicts import decide_over_seeds, seeds_to_decide

    word, tests, premises = decide_over_seeds(CLAIM, {"effect": [0.0, 0.3, 0.2], "contrast": [0.9, 0.88, 0.92]})
    assert word == Outcome.INCONCLUSIVE and tests[0]["values"] == [0.0, 0.3, 0.2]
    assert tests[0]["seeds_to_decide"] == seeds_to_decide([0.0, 0.3, 0.2], 0.10) > 3  # straddling: more seeds
    assert premises[0]["outcome"] == Outcome.HOLDS and premises[0]["seeds_to_decide"] is None  # decided already
    assert decide_over_seeds(CLAIM, {"effect": [0.3, 0.32], "contrast": [0.9, 0.9]})[0] == Outcome.HOLDS
