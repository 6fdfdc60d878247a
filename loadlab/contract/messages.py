"""Error text fit to show anyone: an exception's first line, URLs with their passwords redacted.

Shared by the targets (error bodies) and the lab (one-line errors).
"""

from urllib.parse import urlsplit, urlunsplit


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
