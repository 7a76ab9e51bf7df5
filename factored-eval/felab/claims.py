"""The claims felab tests, declared before any run, with their margins and premises (the kernel's ``Claim``).

Simulation claims (``SIMULATION``): scripted agents on synthetic worlds (``felab.reproduce``). They test
mechanisms, not people or models: whether a protocol *can* make untrusted experts useful to a judge who weighs
verified quotes. Every statistic is measured once per seed (a seed is a fresh set of worlds and agent draws) and
judged on the mean over seeds with its Student-t interval (``verdicts.over_seeds``); with one seed the value
alone decides.

The agents of the simulation (fixed here, before any run): an honest expert who omits each supporting sentence
with probability 0.1 and refutes an opponent's decoy with probability 0.9; a malicious expert who cites the
decoy and the distractor's true backing ('decoy'), or who also invents quotes ('fabricator'); a weighing judge
with temperature 0.5 that reads each quote with probability 0.9; the credulous judge is the same judge believing
unverified quotes too.

``NYU`` and ``LOCAL_MODEL`` are declared beside them by the NYU re-analysis (``felab.data.nyu``) and the local
model agents; their values come from their own code paths.
"""

from __future__ import annotations

from verdicts import Bound, Claim, decide, over_seeds

# statistic names: the reproduction measures each per seed under exactly these names
ORACLE = "oracle judge accuracy"
TRUSTED = "trusted expert accuracy"
DEBATE_MINUS_CONSULTANCY = "debate minus consultancy accuracy (weighing judge)"
INCENTIVE_GAP = "incentive gap: trusted expert minus factored evaluation accuracy"
CHALLENGE = "malicious expert's challenge rate at the root"
VERIFICATION_GAP = "malicious win rate, credulous minus weighing judge (debate, fabricator)"
FABRICATION = "share of the fabricator's speeches with an unverified quote"

SIMULATION = (
    Claim("sim_debate_beats_consultancy", "Kenton et al. 2024; Michael et al. 2023 (simulated)",
          "With a judge who weighs verified quotes, sequential debate is "
          "at least 10 points more accurate than consultancy with a consultant honest half the time.",
          "Kenton et al. 2024: debate beats consultancy on every task when the consultant is randomly assigned; "
          "NYU (Michael et al. 2023): human debate 84 % vs consultancy 74 % (p = 0.04)",
          tests=(Bound(DEBATE_MINUS_CONSULTANCY, ">=", 0.10),),
          premises=(Bound(ORACLE, ">=", 0.90), Bound(TRUSTED, ">=", 0.80))),
    Claim("sim_fe_closes_incentive_gap", "Ought, Stuhlmüller 2019 (simulated)",
          "With a malicious expert who challenges, factored evaluation (650-character "
          "reading budget, up to 6 sub-questions, 2 levels) is within 5 points of the accuracy a trusted, "
          "always-honest expert gives the same judge.",
          "Ought (Stuhlmüller 2019): the aim is incentives under which experts who only want the judge's "
          "approval are as helpful as intrinsically motivated ones; no number published",
          tests=(Bound(INCENTIVE_GAP, "<=", 0.05),),
          premises=(Bound(ORACLE, ">=", 0.90), Bound(TRUSTED, ">=", 0.80), Bound(CHALLENGE, ">=", 0.50))),
    Claim("sim_verification_matters", "Khan et al. 2024; Ought 2019 (simulated)",
          "Without quote verification (a judge who believes "
          "unverified quotes) a fabricating debater wins at least 10 points more often than against a judge who "
          "weighs only verified quotes.",
          "Khan et al. 2024 mark quotes verified/unverified for the judge; Ought 2019: 'no one can lie about "
          "quotes'; no number published for their removal",
          tests=(Bound(VERIFICATION_GAP, ">=", 0.10),),
          premises=(Bound(ORACLE, ">=", 0.90), Bound(FABRICATION, ">=", 0.50))),
)

NYU: tuple[Claim, ...] = ()  # the NYU re-analysis claims (felab.data.nyu's author adds them here)
LOCAL_MODEL: tuple[Claim, ...] = ()  # the local-model claims (the local agents' author adds them here)
CLAIMS = SIMULATION + NYU + LOCAL_MODEL


def judge(claims, per_seed: dict[int, dict[str, float | None]]) -> list[dict]:
    """Each claim's verdict on the mean over seeds of every statistic it names: rows for the claim table, with
    how many seeds held on their own."""
    seeds = sorted(per_seed)
    rows = []
    for c in claims:
        names = [b.name for b in (*c.tests, *c.premises)]
        values = {n: over_seeds([per_seed[s].get(n) for s in seeds]) for n in names}
        word, tests, premises = decide(c, values)
        held = sum(1 for s in seeds if decide(c, {n: per_seed[s].get(n) for n in names})[0].value == "holds")
        rows.append({"id": c.id, "who": c.who, "statement": c.statement, "published": c.published, "verdict": word,
                     "tests": tests, "premises": premises, "seeds": seeds,
                     "seeds_held": f"{held}/{len(seeds)} seeds hold" if len(seeds) > 1 else "",
                     "per_seed": {n: [per_seed[s].get(n) for s in seeds] for n in names}})
    return rows
