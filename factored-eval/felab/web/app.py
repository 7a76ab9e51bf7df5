"""The web application: ``create_app(db_url)`` builds it; ``felab serve`` runs it with uvicorn on 127.0.0.1.

FastAPI with server-rendered Jinja2 pages (autoescaped: nothing a user wrote is ever markup), htmx vendored in
``static/`` (nothing loads from the internet), live updates by server-sent events (``live``). Pages and forms:
``auth`` (log in, first facilitator), ``room_routes`` (lobby, rooms, speeches, judgments, quote checks),
``admin_routes`` (participants, imports, experiments, rooms, exposures, export).

Security, all in one place: the session cookie is signed (Starlette's ``SessionMiddleware``, itsdangerous) and
HTTP-only with SameSite=Lax; every POST checks the session's CSRF token before reading anything else; a refusal
(``errors.WebError``) rolls the request's transaction back and is shown as one message.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from ..store import db
from . import admin_routes, auth, live, room_routes, security
from .errors import SignIn, WebError
from .pages import page, redirect, templates

HERE = Path(__file__).parent
# scripts and styles from this site only (no inline script: felab.js is a file), no framing
CSP = "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"


@dataclass
class Settings:
    """``quote_check_rate``: oracle quote checks a judge may make per minute, over all rooms (on top of each
    experiment's per-room allowance); ``sse_seconds``: how long one event stream stays open before the browser
    reconnects; ``poll_seconds``: how often a stream looks for changes."""

    quote_check_rate: int = 6
    sse_seconds: float = 300.0
    poll_seconds: float = 0.25


def create_app(db_url: str, secret_key: str | None = None, settings: Settings | None = None,
               migrate: bool = True) -> FastAPI:
    """The application on the database at ``db_url`` (migrated to the newest schema first unless
    ``migrate=False``). Without ``secret_key`` a random one is made: sessions then end when the process does."""
    if migrate:
        db.upgrade(db_url)
    app = FastAPI(title="felab", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = db.make_engine(db_url)
    app.state.db = db.sessions(app.state.engine)
    app.state.settings = settings or Settings()
    app.state.templates = templates()
    app.state.quote_limiter = security.RateLimiter(app.state.settings.quote_check_rate, 60.0)
    app.add_middleware(SessionMiddleware, secret_key=secret_key or secrets.token_urlsafe(32),
                       session_cookie="felab_session", same_site="lax", https_only=False, max_age=12 * 3600)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(WebError)
    async def _refusal(request: Request, exc: WebError):
        return page(request, "error.html", {"message": str(exc)}, status=exc.status)

    @app.exception_handler(SignIn)
    async def _sign_in(request: Request, exc: SignIn):
        return redirect("/login")

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    app.include_router(auth.router)
    app.include_router(room_routes.router)
    app.include_router(live.router)
    app.include_router(admin_routes.router)
    return app
