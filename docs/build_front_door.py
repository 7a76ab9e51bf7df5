"""Write the README's table of what each package found, from committed results (never typed by hand).

    python docs/build_front_door.py          # rewrites the block between <!-- claims:begin --> and <!-- claims:end -->
    python docs/build_front_door.py --check  # exit 1 if README.md is not what the results give (a test runs this)

Each source below is a results.json a package's `reproduce` wrote, committed under benchmarks/results/ with the
command that made it. The claims are read from it as the package judged them (the kernel's rows: statement,
published number, tests with value, interval and margin, verdict); nothing is re-judged here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from verdicts import seeds_to_decide

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- claims:begin -->", "<!-- claims:end -->"
PER_SEED = {"per_seed", "seed_reports"}  # each seed's own verdicts: the table shows the verdict over the seeds

# (package, results.json, the command that wrote it, where more is; optionally the claims shown, else all): the
# order of the README
SOURCES = [
    ("notbugs: the paper's own experiment, quick preset, seeds 30-32 (no setting was tuned on them)",
     "benchmarks/results/cpu-2026-12-07/ablate-sgd-fresh-quick-seeds30-32/preset/results.json",
     "notbugs reproduce paper --preset quick --seeds 30-32", "docs/notbugs.md"),
    ("felab: Factored Evaluation in simulation (scripted agents on synthetic worlds), quick preset",
     "factored-eval/results/quick-seeds5-9/results.json",
     "felab reproduce --preset quick --seeds 5-9", "factored-eval/README.md"),
    ("canary-exposure: the Secret Sharer's claims on a byte LSTM trained on 2,000 fortunes, decide preset (DP-SGD on "
     "seeds 3-7)", "canary-exposure/results/decide/results.json",
     "canary-exposure reproduce --preset decide", "canary-exposure/README.md"),
    ("empathic-dqn: Empathic DQN's claims, quick preset, seeds 0-9 (1/600 of the reference's Coexistence training)",
     "empathic-dqn/results/quick-claims/results.json",
     "empathic reproduce --preset quick --claims-only", "empathic-dqn/README.md"),
]


def claim_rows(tree) -> list[dict]:
    """Every judged claim in a results tree: a dict with an id, a verdict and its tests, wherever it sits."""
    if isinstance(tree, dict):
        if {"id", "verdict", "tests"} <= tree.keys():
            return [tree]
        return [row for key, value in tree.items() if key not in PER_SEED for row in claim_rows(value)]
    if isinstance(tree, list):
        return [row for value in tree for row in claim_rows(value)]
    return []


def _number(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}" if percent else f"{value:.3g}"


def statistic(row: dict) -> str:
    """The first test's value with its interval and margin, as the claim states it (points for percentages)."""
    tests = [t for t in row.get("tests") or [] if t.get("value") is not None]
    if not tests:
        return "–"
    t = tests[0]
    value, ci = t["value"], t.get("ci")
    if isinstance(value, dict):  # an estimate stored with its own interval
        value, ci = value.get("estimate", value.get("value")), value.get("ci", ci)
    pct = t.get("percent", False)
    unit = " %" if pct else ""
    interval = f" [{_number(ci[0], pct)}, {_number(ci[1], pct)}]" if ci else ""
    return (f"{_number(value, pct)}{interval}{unit} (margin {t['sense']} {_number(t['margin'], pct)}{unit})"
            f"{seeds_needed(t)}")


def seeds_needed(test: dict) -> str:
    """For a test undecided over seeds: how many seeds its observed spread would need (as the package stored it,
    else the kernel's count from the seeds' values)."""
    if str(test.get("outcome")) != "inconclusive":
        return ""
    need = test.get("seeds_to_decide")
    values = [v.get("estimate", v.get("value")) if isinstance(v, dict) else v for v in test.get("values") or []]
    if need is None and len(values) > 1 and all(isinstance(v, (int, float)) for v in values):
        need = seeds_to_decide(values, test["margin"], test["sense"])
    return f"; about {need} seeds would decide it" if need else ""


def premises_in_doubt(row: dict) -> str:
    """The premises that kept the verdict from the tests: undecided (interval across) or not met."""
    words = {"inconclusive": "undecided", "does not hold": "not met", "not testable": "not met"}
    doubt = [f"premise '{p['name']}' {words[p['outcome']]}" for p in row.get("premises") or []
             if p.get("outcome") in words]
    return "; " + "; ".join(doubt) if doubt else ""


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(title: str, path: str, command: str, more: str, only: tuple[str, ...] = ()) -> str:
    data = json.loads((ROOT / path).read_text())
    seeds = data.get("seeds")
    over = f", seeds {', '.join(map(str, seeds))}" if isinstance(seeds, list) else ""
    lines = [f"**{title}** (`{command}`{over}; [{more}]({more}))", "",
             "| claim | published | ours [95 % interval] | verdict |", "|---|---|---|---|"]
    for row in claim_rows(data):
        if row["verdict"] == "not run" or (only and row["id"] not in only):  # a claim this run was not for
            continue
        lines.append(f"| {_cell(row.get('statement', row['id']))} | {_cell(row.get('published', ''))} | "
                     f"{_cell(statistic(row) + premises_in_doubt(row))} | **{_cell(row['verdict'])}** |")
    return "\n".join(lines)


def block() -> str:
    return "\n\n".join(table(*source) for source in SOURCES)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md differs from the results")
    args = parser.parse_args(argv)
    text = README.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{block()}\n{END}{tail}"
    if args.check:
        if new != text:
            print("README.md's claim tables are stale: run 'python docs/build_front_door.py'", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
