"""Typed numbers of results: proportions that carry their sample size, number-keyed maps, and their JSON form."""

import json

import pytest

from notbugs.core.values import ByNumber, Status, from_json, to_json
from verdicts import Outcome, Proportion, wilson


def test_a_proportion_is_a_float_that_knows_its_n():
    p = Proportion.of(712, 1000)
    assert p == 0.712 and p.n == 1000 and p.ci == tuple(wilson(0.712, 1000))
    assert f"{p:.1%}" == "71.2%" and isinstance(p - 0.5, float) and not isinstance(p - 0.5, Proportion)
    with pytest.raises(ValueError):
        Proportion(1.2, 10)
    with pytest.raises(ValueError):
        Proportion(0.5, 0)


def test_number_keys_are_one_key_whatever_their_spelling():
    d = ByNumber({"1": "a", 0.5: "b"})
    assert d[1] == d[1.0] == d["1"] == "a" and d["0.5"] == "b" and "1.0" in d and 2 not in d
    assert list(d) == [1.0, 0.5]


def test_json_round_trip_keeps_the_types():
    tree = {"acc": Proportion(0.25, 8), "robust": ByNumber({0.5: Proportion(0.1, 10), 1: Proportion(0.0, 10)}),
            "verdict": Outcome.INCONCLUSIVE, "status": Status.DONE, "nan": float("nan"), "names": {"a->b": 1}}
    text = json.dumps(to_json(tree), allow_nan=False)
    plain = json.loads(text)
    assert plain["robust"] == {"0.5": {"p": 0.1, "n": 10, "ci": list(wilson(0.1, 10))},
                               "1": {"p": 0.0, "n": 10, "ci": list(wilson(0.0, 10))}}
    assert plain["verdict"] == "inconclusive" and plain["nan"] is None
    back = from_json(plain)
    assert back["acc"].n == 8 and isinstance(back["robust"], ByNumber) and back["robust"][1].n == 10
    assert back["verdict"] == Outcome.INCONCLUSIVE and back["names"] == {"a->b": 1}


def test_enums_equal_and_hash_like_their_text():
    assert Outcome.HOLDS == "holds" and {"holds": 1}[Outcome.HOLDS] == 1 and Status.DONE in {"done"}
