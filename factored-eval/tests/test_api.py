"""The package's Python API as its docstring shows it."""

import felab
from felab.agents.scripted import HonestExpert, MaliciousExpert, WeighingJudge


def test_docstring_example_plays_a_factored_evaluation_game():
    (doc, questions), = felab.synthetic_worlds(3, seed=0)
    honest_or_not = felab.ByHonesty(HonestExpert(), MaliciousExpert())
    game = felab.play(felab.load_protocol("ought_fe"), doc, questions[0], WeighingJudge,
                      {"expert0": honest_or_not, "expert1": honest_or_not}, seed=0)
    assert game.correct is not None and felab.Game.from_json(game.to_json()) == game
    assert "game.correct, game.to_json()" in felab.__doc__
