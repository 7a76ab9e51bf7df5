"""How a route answers: a page or a fragment rendered from the templates with the session's CSRF token, a
redirect, and the CSRF check every POST makes first. The routes import these from here and ``app`` imports the
routes, so imports point one way."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import security
from .errors import Forbidden

HERE = Path(__file__).parent


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    return env


def page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    """A page rendered with the signed-in participant and the session's CSRF token at hand."""
    env: Environment = request.app.state.templates
    ctx = {"request": request, "me": getattr(request.state, "me", None),
           "csrf": security.csrf_token(request.session), **context}
    return HTMLResponse(env.get_template(name).render(ctx), status_code=status)


def fragment(request: Request, name: str, context: dict, status: int = 200, headers: dict | None = None):
    env: Environment = request.app.state.templates
    ctx = {"request": request, "csrf": security.csrf_token(request.session), **context}
    return HTMLResponse(env.get_template(name).render(ctx), status_code=status, headers=headers)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def check_csrf(request: Request, sent: str | None) -> None:
    if not security.csrf_ok(request.session, sent):
        raise Forbidden("this form has expired or did not come from this site (CSRF check failed); reload the page "
                        "and try again")
