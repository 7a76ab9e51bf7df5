"""felab: a lab for Ought's Factored Evaluation and its relatives (blind, consultancy, debate, claim trees):
untrusted experts who read a hidden text answer for a judge who cannot.

    import felab
    from felab.agents.scripted import HonestExpert, MaliciousExpert, WeighingJudge

    (doc, questions), = felab.synthetic_worlds(3, seed=0)
    honest_or_not = felab.ByHonesty(HonestExpert(), MaliciousExpert())
    game = felab.play(felab.load_protocol("ought_fe"), doc, questions[0], WeighingJudge,
                      {"expert0": honest_or_not, "expert1": honest_or_not}, seed=0)
    game.correct, game.to_json()

Protocols are JSON files (``felab.protocols``); a judge sees only ``felab.views.judge_view``; the statistics are
in ``felab.metrics`` and the simulation behind the claims in ``felab.reproduce``.
"""

__version__ = "0.1.0"

from .agents.base import Agent, ByHonesty, play  # noqa: E402
from .data.synthetic import generate as synthetic_worlds  # noqa: E402
from .domain import Document, Game, Judgment, Question, Segment, Speech  # noqa: E402
from .protocols import load as load_protocol  # noqa: E402
from .views import judge_view  # noqa: E402

__all__ = ["Agent", "ByHonesty", "Document", "Game", "Judgment", "Question", "Segment", "Speech", "judge_view",
           "load_protocol", "play", "synthetic_worlds", "__version__"]
