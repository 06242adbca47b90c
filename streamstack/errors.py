"""The one error type the CLI turns into a clear message and a non-zero exit."""


class StreamstackError(Exception):
    """A failure the user can act on: the message says what happened and what to do."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint
