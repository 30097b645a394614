"""The one exception type for errors a user can cause and fix."""


class FerSearchError(Exception):
    """A bad path, format or option. The CLI prints it as one line plus a hint (exit 2).

    Tracebacks are kept for bugs; anything a user can fix raises this instead.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint
