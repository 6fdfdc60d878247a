"""Locust workers started apart from their master: the environment that sets them up, and what a
worker on another machine must share with its master: loadlab's version and the
load code (the locustfiles and loadlab.load, which every worker imports from its own checkout; only
the locustfile's text travels from the master). Imports no Locust: `loadlab worker` names it too."""

import hashlib
import socket

from loadlab import REPO, __version__

LOAD_CODE = ("locustfiles", "loadlab/load")
FORWARD_ENV = "LOADLAB_FORWARD_METRICS"  # a worker apart sends its counts to its master (loadlab.load.distributed)
# loadlab.load.handshake's files: the master's list of who joined, a refused worker's reason
WORKERS_FILE_ENV = "LOADLAB_WORKERS_FILE"
REFUSAL_FILE_ENV = "LOADLAB_REFUSAL_FILE"


def load_code_digest() -> str:
    """The first 12 hex digits of the SHA-256 over the load code's Python files, by path."""
    digest = hashlib.sha256()
    for folder in LOAD_CODE:
        for path in sorted((REPO / folder).glob("*.py")):
            digest.update(f"{path.relative_to(REPO)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def fingerprint() -> str:
    """`loadlab 0.1.0, load code 3fa2c1d0e4b5`: two sides that print the same can work together."""
    return f"loadlab {__version__}, load code {load_code_digest()}"


def source_address(host: str, port: int) -> str:
    """This machine's address on the way to `host` (a UDP socket's connect sends nothing); "" if none."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, port))
            return s.getsockname()[0]
    except OSError:
        return ""
