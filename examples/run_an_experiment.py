# %% [markdown]
# # Run an experiment and open its report
#
# The lab's experiments from Python: the same as `notbugs reproduce`, with a preset you can change field by
# field. The defaults run the paper's main experiment at the tiny preset (digits, seconds: a smoke test, not
# evidence); `--preset quick --dataset fashion-mnist` is the real thing (about 8 minutes on two cores).
# Opens as a notebook with jupytext.

# %%
import argparse
import sys
import webbrowser
from dataclasses import replace
from pathlib import Path

import notbugs

parser = argparse.ArgumentParser(description="run an experiment and open its report")
parser.add_argument("names", nargs="*", default=["paper"])
parser.add_argument("--preset", default="tiny")
parser.add_argument("--dataset", default=None)
parser.add_argument("--out", type=Path, default=Path("runs/example"))
parser.add_argument("--no-open", action="store_true", help="do not open the report in a browser")
args = parser.parse_args([] if "ipykernel" in sys.modules else None)

# %% A preset, and one change to it (any field; `notbugs reproduce --set` does the same)
preset = notbugs.make_preset(args.preset, seed=0, dataset=args.dataset)
preset = replace(preset, eval_steps=preset.eval_steps + 2)
results = notbugs.run_experiments(args.names, preset, out=args.out, progress=False)

# %% The verdicts, then the report
for entry in results["experiments"].values():
    for claim in entry["claims"]:
        if str(claim["verdict"]) != "not run":
            print(f"[{claim['verdict']}] {claim['id']}: {claim['evidence']}")
page = notbugs.write_report(results, args.out / "report.html")
print(f"report: {page}")
if not args.no_open and "ipykernel" not in sys.modules:
    webbrowser.open(page.resolve().as_uri())
