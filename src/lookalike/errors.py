"""One exception type for problems the user can fix; the CLI prints it without a traceback."""


class LookalikeError(Exception):
    """Bad input or usage. The message names the file, column or value at fault."""
