"""The one exception the package raises for bad input: the CLI prints its message on one line and exits 2."""


class ExposureError(Exception):
    """Something the user gave cannot be used; the message says what to do instead."""
