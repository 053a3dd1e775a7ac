"""The one exception type the CLI turns into a one-line message instead of a traceback."""


class ArtclfError(Exception):
    """A problem with the user's input, files or environment.

    The message names the file (and line or key) and says what to do; the CLI prints it as
    ``error: <message>`` and exits with status 1.
    """
