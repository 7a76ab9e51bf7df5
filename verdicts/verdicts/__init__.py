"""verdicts: the kernel every paper package of this repository judges its claims with (torch-free).

Claims are declared before any run (``Claim``, ``Bound``); a package measures and hands ``decide`` the values;
``decide`` is the one verdict rule. Over seeds, ``over_seeds`` gives the mean with its Student-t interval,
``seeds_to_decide`` how many seeds the observed spread would need, and ``decide_over_seeds`` the rule on per-seed
values with both in its rows. ``parse_seeds`` is the shared seeds grammar,
``claim_table_text`` / ``claim_table_html`` the one rendering of a claim table, ``atomic_folder`` a run folder
that appears whole or not at all, and ``UsageError`` / ``fail`` the command-line convention (one line, exit 2).
"""

from __future__ import annotations

from .errors import UsageError, fail
from .folders import atomic_folder
from .rule import Bound, Claim, bound_outcome, decide, decide_over_seeds, decide_rows, defined, judged_test, premise_row
from .seeds import parse_seeds
from .stats import mean_sd, seeds_to_decide, t_interval, wilson
from .table import claim_table_html, claim_table_text
from .values import Estimate, Outcome, Proportion, over_seeds

__version__ = "0.1.0"

__all__ = ["Outcome", "Bound", "Claim", "Estimate", "Proportion", "decide", "decide_over_seeds", "decide_rows",
           "judged_test", "premise_row", "bound_outcome", "defined", "over_seeds", "seeds_to_decide", "t_interval",
           "mean_sd", "wilson", "parse_seeds", "claim_table_text", "claim_table_html", "atomic_folder", "UsageError",
           "fail", "__version__"]
