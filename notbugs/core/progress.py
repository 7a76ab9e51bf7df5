"""Progress of a long loop: a tqdm bar on a terminal, plain lines elsewhere (a log file, a cluster job).

tqdm's carriage returns make a log unreadable (a tiny run wrote 555 lines of bars); off a terminal a loop says
one line when it ends, and one every ``EVERY`` seconds while it runs.
"""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

EVERY = 60.0


class Lines:
    """The part of tqdm's interface the loops here use, printing plain lines to stderr."""

    def __init__(self, iterable=None, *, total=None, desc="", unit="it", disable=False, **_):
        self.iterable, self.desc, self.unit, self.disable = iterable, desc, unit, disable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.n, self.postfix, self.start = 0, "", time.perf_counter()
        self.last = self.start

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def update(self, k: int = 1) -> None:
        self.n += k
        now = time.perf_counter()
        if not self.disable and now - self.last >= EVERY:
            self.last = now
            self._say(f"{self.n}/{self.total or '?'} {self._units()}, {now - self.start:.0f} s")

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if not self.disable and self.n:
            self._say(f"{self.n} {self._units()} in {time.perf_counter() - self.start:.1f} s")
            self.disable = True

    def _units(self) -> str:
        return self.unit + ("es" if self.unit.endswith(("s", "sh", "ch")) else "s")

    def _say(self, text: str) -> None:
        print(f"{self.desc}: {text}" + (f" ({self.postfix})" if self.postfix else ""), file=sys.stderr, flush=True)


def bar(iterable=None, **kwargs):
    """tqdm on a terminal, ``Lines`` elsewhere; the same keywords (total, desc, unit, disable, leave)."""
    return tqdm(iterable, **kwargs) if sys.stderr.isatty() else Lines(iterable, **kwargs)
