"""Command line: parse arguments, call the API, print. No experiment logic lives here.

One module per group of commands (``models``: train, eval, construct; ``reproduce``; ``tools``: data, bench,
report, store), their grammar in ``parser``, argument types in ``args``. Every error a user can cause is one
line and exit 2; an interruption (Ctrl-C, SIGTERM) is one line and 130/143, with finished steps kept.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
import warnings

from verdicts import UsageError

from .. import __version__
from ..core.errors import NotbugsWarning
from . import ablate, models, reproduce, tools
from .parser import build

COMMANDS = {"data": tools.data, "bench": tools.bench, "train": models.train, "eval": models.evaluate,
            "reproduce": reproduce.reproduce, "construct": models.construct, "report": tools.report,
            "store": tools.store, "ablate": ablate.ablate}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that every step cleans up as it does on Ctrl-C."""


def _terminate(signum, frame):
    if _importing(frame):  # an exception cut into a C extension's import (torch) aborts the process: wait it out
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    raise Terminated()


def _importing(frame) -> bool:
    """Whether the interrupted code is inside an ``import`` (the import machinery is on the stack)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """The package's own warnings as one line each; others as Python shows them."""
    if issubclass(category, NotbugsWarning):
        print(f"notbugs: warning: {message}", file=sys.stderr)
    else:
        _python_warning(message, category, filename, lineno, file, line)


_python_warning = warnings.showwarning
_PACKAGE = __package__.rpartition(".")[0]


def main(argv: list[str] | None = None) -> int:
    """The command line ``argv`` (None: the process's own, as the ``notbugs`` script and ``python -m notbugs`` call
    it). SIGTERM is handled from the first statement; run as the process's own command, a SIGTERM after the command
    has finished is ignored: Python's exit puts back the default action before it unloads the modules (torch's
    teardown, tens of ms), and a SIGTERM then killed the process (-15) although its work was done and kept."""
    own = threading.current_thread() is threading.main_thread()
    if own:
        signal.signal(signal.SIGTERM, _terminate)
    args = build(__version__).parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        code = COMMANDS[args.command](args) or 0
        sys.stdout.flush()
    except BrokenPipeError:  # `notbugs data list | grep -q ...` or `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush does not fail too
        return 0
    except UsageError as exc:  # NotbugsError, or the kernel's (the seeds grammar)
        if args.debug:
            raise
        print(f"notbugs: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        pipeline = sys.modules.get(f"{_PACKAGE}.store.pipeline")  # not imported: nothing built
        kept = pipeline.BUILT[0] if pipeline is not None else 0
        print(f"notbugs: interrupted; {kept} steps finished in this run are kept, rerun to resume", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except OSError as exc:  # a full disk, a folder we may not write: what and where, not a traceback
        if args.debug:
            raise
        what = "no space left on the device" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"notbugs: error: {what}{where}; nothing half-written is kept, finished steps are", file=sys.stderr)
        return 2
    except MemoryError:
        print("notbugs: error: out of memory; use fewer images (--limit), a smaller batch or a smaller model",
              file=sys.stderr)
        return 2
    finally:
        # only if it was imported: after an interruption inside `import torch` a second import would crash
        sharding = sys.modules.get(f"{_PACKAGE}.store.sharding")
        if sharding is not None:
            sharding.shutdown()
        if own and argv is None:  # the process ends with this command: nothing is left for a SIGTERM to stop
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return code


__all__ = ["main"]
