"""The one exception the CLI turns into a single line on stderr and an exit status, and the helpers
that keep such lines short and free of secrets."""

from urllib.parse import urlsplit, urlunsplit

USAGE = 2  # bad arguments or an environment the command cannot work in
FAILED = 1  # the command ran and something it watched failed


class LoadlabError(Exception):
    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.status = status


def redact(url: str) -> str:
    """A URL fit for a log line or an error body: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
