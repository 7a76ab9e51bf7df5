"""The one exception the package raises for bad input: the CLI prints its message on one line and exits 2."""

from verdicts import UsageError


class ExposureError(UsageError):
    """Something the user gave cannot be used; the message says what to do instead."""
