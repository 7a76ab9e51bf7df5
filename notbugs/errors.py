"""The one exception type a user should see: a message that says what to do."""


class NotbugsError(Exception):
    """Bad input or an unusable file. The CLI prints the message and exits with 2."""
