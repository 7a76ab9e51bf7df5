"""``felab serve`` and ``felab db``: the web platform's commands. Importing this module costs nothing (no web
library is loaded until a command runs), so the lab's command line works without the ``[web]`` extra.

    felab serve [--db PATH|URL] [--host 127.0.0.1] [--port 8000]   migrate the database, then serve
    felab db upgrade|current [--db PATH|URL]                        apply the shipped migrations / show the revision

The database is SQLite ``felab.db`` in the working directory unless ``--db`` names another file or a URL
(``postgresql+psycopg://user@host/dbname``). The session-signing key comes from ``FELAB_SECRET_KEY`` or, when it
is unset, from ``.felab-secret`` beside the database in the working directory (made once, readable by its owner
only), so sessions survive a restart.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from ..domain import BadInput

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(sub) -> None:
    """Add ``serve`` and ``db`` to the lab's sub-command parsers."""
    s = sub.add_parser("serve", help="the web platform for people as judges and experts (needs felab[web])")
    s.add_argument("--db", help="SQLite file or database URL (default: felab.db in the working directory)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (only this machine by default)")
    s.add_argument("--port", type=int, default=8000)
    d = sub.add_parser("db", help="the web platform's database: apply migrations, show the revision")
    d.add_argument("action", choices=("upgrade", "current"))
    d.add_argument("--db", help="SQLite file or database URL (default: felab.db in the working directory)")


def _store():
    try:
        from ..store import db
    except ImportError as e:
        raise BadInput(f"this needs the web extra ({e.name} is missing): pip install 'felab[web]'") from None
    return db


def secret_key() -> str:
    key = os.environ.get("FELAB_SECRET_KEY")
    if key:
        return key
    path = Path(".felab-secret")
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def db(args: argparse.Namespace) -> int:
    store = _store()
    url = store.database_url(args.db)
    if args.action == "upgrade":
        store.upgrade(url)
    engine = store.make_engine(url)
    print(f"{_shown(url)}: revision {store.current_revision(engine) or 'none (empty)'}, "
          f"newest {store.head_revision()}")
    engine.dispose()
    return 0


def serve(args: argparse.Namespace) -> int:
    store = _store()
    try:
        import uvicorn

        from .app import create_app
    except ImportError as e:
        raise BadInput(f"felab serve needs the web extra ({e.name} is missing): pip install 'felab[web]'") from None
    if not 0 < args.port < 65536:
        raise BadInput(f"--port {args.port}: give a port from 1 to 65535")
    url = store.database_url(args.db)
    store.upgrade(url)
    if args.host not in LOOPBACK:
        print(f"felab: listening on {args.host}, reachable from other machines; there is no TLS here",
              file=sys.stderr)
    app = create_app(url, secret_key(), migrate=False)
    print(f"felab: serving {_shown(url)} at http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _shown(url: str) -> str:
    """A URL with any password hidden, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
