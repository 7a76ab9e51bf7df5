"""The command-line convention of every package: bad input is one line on stderr and exit status 2.

A package raises ``UsageError`` (or its own subclass) with a message that says what to do instead; its ``main``
turns it into that line with ``fail``. Tracebacks are for bugs, not for a mistyped option.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn


class UsageError(Exception):
    """Bad input or an unusable file: the message says what to do. The CLI prints it as one line, exit 2."""


def fail(message: str | BaseException, prog: str | None = None) -> NoReturn:
    """Print ``prog: error: message`` as one line on stderr and exit with status 2."""
    prog = prog or Path(sys.argv[0]).name or "error"
    text = " ".join(str(message).split())  # one line, whatever the message held
    print(f"{prog}: error: {text}", file=sys.stderr)
    raise SystemExit(2)
