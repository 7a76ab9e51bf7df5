"""Screenshots of each package's tiny report, as a reader first sees it: the top screen, 1300 px wide.

    python docs/screenshots.py          # writes docs/screenshots/{notbugs,empathic,canary-exposure}-tiny.png
    python docs/screenshots.py empathic # only the packages named

Each package's tiny reproduction runs in a temporary folder (about a minute in all on two cores), its report is
opened in Debian's Chromium through ``verdicts.browser`` (never ``playwright install``), and the top screen is
saved. The script stops with the reason if Chromium or Playwright is missing, or if a page shows a tag as text or
links to nowhere.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from verdicts import browser

HERE = Path(__file__).parent / "screenshots"
BIN = Path(sys.executable).parent  # the venv's console scripts
RUNS = {  # package: the tiny reproduction whose report is shown
    "notbugs": ["notbugs", "reproduce", "paper", "--preset", "tiny", "--quiet", "--out"],
    "empathic": ["empathic", "reproduce", "--preset", "tiny", "--out"],
    "canary-exposure": ["canary-exposure", "reproduce", "--preset", "tiny", "--out"],
}


def main(names: list[str]) -> int:
    unknown = set(names) - set(RUNS)
    if unknown:
        print(f"screenshots: unknown package {sorted(unknown)}; use {', '.join(RUNS)}", file=sys.stderr)
        return 2
    why = browser.missing()
    if why:
        print(f"screenshots: {why}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in RUNS.items():
            if names and name not in names:
                continue
            out = Path(tmp) / name
            done = subprocess.run([str(BIN / argv[0]), *argv[1:], str(out)], capture_output=True, text=True)
            if done.returncode not in (0, 1):  # notbugs exits 1 when an experiment stopped with an error
                print(f"screenshots: {' '.join(argv)} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                return 1
            shot = HERE / f"{name}-tiny.png"
            seen = browser.seen(out / "report.html", screenshot=shot)
            if re.search(r"<[a-z/!]", seen.text) or "&lt;" in seen.text or seen.broken_links:
                print(f"screenshots: {name}'s report shows markup as text or links to nowhere "
                      f"({seen.broken_links})", file=sys.stderr)
                return 1
            print(f"{shot} ({len(seen.links)} in-page links, all landing)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
