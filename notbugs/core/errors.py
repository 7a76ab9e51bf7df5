"""The one exception type a user should see: a message that says what to do."""

from verdicts import UsageError


class NotbugsError(UsageError):
    """Bad input or an unusable file. The CLI prints the message and exits with 2 (the kernel's convention: any
    ``verdicts.UsageError``, the seeds grammar's included)."""


class NotbugsWarning(UserWarning):
    """A number that will be computed but may not mean what the user expects. The CLI prints it as one line."""


class DiskFull(NotbugsError):
    """No space left while writing a step: the whole run stops (every later step would fail the same way)."""
