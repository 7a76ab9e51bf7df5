"""The web platform's refusals: each is one clear message for the user and a status code; raised before
anything of the request is committed (the transaction rolls back)."""


class WebError(Exception):
    status = 400


class Invalid(WebError):
    """Bad input: an oversized speech, a quote outside the text, probabilities that do not sum to one."""

    status = 422


class Stale(WebError):
    """A form made for a move that is no longer due."""

    status = 409


class Forbidden(WebError):
    """Not yours to see or do (another room, a facilitator's page)."""

    status = 403


class NotFound(WebError):
    status = 404


class TooMany(WebError):
    """A rate limit or a budget is spent (quote checks)."""

    status = 429


class SignIn(Exception):
    """The page needs a signed-in participant; answered with a redirect to the sign-in page."""
